// Command shareserve serves the share filesystem over SMB2 from a data
// directory of its own, for conformance runs (smbtorture) of the share
// filesystem beside nas/smb2/internal/memserve's in-memory one:
//
//	shareserve -data /tmp/d -listen 127.0.0.1:4451 -share data -user backup -password secret
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/smb2"
)

type users map[string][]byte

func (u users) NTHash(name string) ([]byte, error) {
	h, ok := u[name]
	if !ok {
		return nil, smb2.ErrUnknownUser
	}
	return h, nil
}

func main() {
	data := flag.String("data", "", "data directory (created if missing)")
	listen := flag.String("listen", "127.0.0.1:4451", "address to listen on")
	share := flag.String("share", "data", "share name (created if missing)")
	user := flag.String("user", "backup", "user name")
	pass := flag.String("password", "", "password")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()
	if err := run(*data, *listen, *share, *user, *pass, *debug); err != nil {
		fmt.Fprintln(os.Stderr, "shareserve:", err)
		os.Exit(1)
	}
}

func run(data, listen, share, user, pass string, debug bool) error {
	if data == "" {
		return fmt.Errorf("-data is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	eo := chunkstore.DefaultOptions()
	eo.Create = true
	eng, err := chunkstore.Open(ctx, data, eo)
	if err != nil {
		return err
	}
	defer eng.Close()
	mo := sharefs.DefaultManagerOptions()
	mo.Logger = log
	m, err := sharefs.OpenManager(ctx, eng, data, mo)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.Get(ctx, share); err != nil {
		if _, err := m.Create(ctx, sharefs.Share{Name: share}); err != nil {
			return err
		}
	}
	h := md4.New()
	for _, c := range utf16.Encode([]rune(pass)) {
		h.Write([]byte{byte(c), byte(c >> 8)})
	}
	opts := smb2.DefaultOptions()
	opts.Logger = log
	opts.Addr = listen
	srv := smb2.New(m, users{user: h.Sum(nil)}, opts)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Println("listening on", srv.Addr())
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

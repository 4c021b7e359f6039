// Command memserve serves an in-memory share over SMB2 for conformance
// runs (smbtorture) and benchmarks of the protocol layer alone:
//
//	memserve -listen 127.0.0.1:4450 -share data -user backup -password secret
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

type shares map[string]nas.Share

func (s shares) Share(_ context.Context, name, _ string) (nas.Share, error) {
	sh, ok := s[strings.ToLower(name)]
	if !ok {
		return nas.Share{}, nas.ErrNoShare
	}
	return sh, nil
}

func (s shares) Shares(context.Context, string) ([]nas.Share, error) {
	var out []nas.Share
	for _, sh := range s {
		out = append(out, sh)
	}
	return out, nil
}

type users map[string][]byte

func (u users) NTHash(name string) ([]byte, error) {
	h, ok := u[name]
	if !ok {
		return nil, smb2.ErrUnknownUser
	}
	return h, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:4450", "address to listen on")
	share := flag.String("share", "data", "share name")
	user := flag.String("user", "backup", "user name")
	pass := flag.String("password", "", "password")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()
	h := md4.New()
	for _, c := range utf16.Encode([]rune(*pass)) {
		h.Write([]byte{byte(c), byte(c >> 8)})
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts := smb2.DefaultOptions()
	opts.Logger = log
	opts.Addr = *listen
	srv := smb2.New(shares{strings.ToLower(*share): {Name: *share, FS: vfs.NewMemFS(1 << 40), Access: nas.AccessReadWrite}},
		users{*user: h.Sum(nil)}, opts)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", srv.Addr())
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

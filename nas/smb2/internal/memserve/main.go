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
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	srv := smb2.New(shares{strings.ToLower(*share): {Name: *share, FS: vfs.NewMemFS(1 << 40), Access: nas.AccessReadWrite}},
		users{*user: h.Sum(nil)}, opts)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		<-ch
		srv.Close()
	}()
	fmt.Println("listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil && err != smb2.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

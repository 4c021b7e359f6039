package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveArgs are serve's arguments with every service on a free loopback
// port, and flag set to addr.
func serveArgs(dir, flag, addr string) []string {
	args := []string{"--data", dir}
	for _, f := range []string{"web", "catalyst", "smb", "iscsi", "replication"} {
		a := "127.0.0.1:0"
		if f == flag {
			a = addr
		}
		args = append(args, "--"+f, a)
	}
	return args
}

// TestServeStartError: a listener named on the command line that cannot
// bind stops serve before it creates anything, with the flag that
// changes it; then a serve with free addresses runs and stops on ctx.
func TestServeStartError(t *testing.T) {
	t.Setenv("BACKSTOP_ADMIN_PASSWORD", "correct horse battery staple")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	inUse := "bind " + addr + ": address already in use"
	dir := filepath.Join(t.TempDir(), "data")
	tests := []struct{ flag, want string }{
		{"catalyst", "Catalyst cannot listen: " + inUse + ` (--catalyst ADDR for another address, or --catalyst "off" for none); nothing was created`},
		{"replication", "replication cannot listen: " + inUse},
		{"web", "web UI cannot listen: " + inUse + " (--web ADDR for another address); nothing was created"},
		{"smb", "SMB cannot listen: " + inUse},
		{"iscsi", "iSCSI cannot listen: " + inUse},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			var out, errOut syncBuffer
			e := &env{name: "serve", stdout: &out, stderr: &errOut}
			err := cmdServe(context.Background(), e, serveArgs(dir, tt.flag, addr))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("serve with --%s busy: %v, want %s", tt.flag, err, tt.want)
			}
			if strings.Contains(out.String(), "serving data directory") {
				t.Errorf("serve printed its addresses although it did not start:\n%s", out.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("serve created the data directory although a listener it was given cannot bind: %v", err)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	e := &env{name: "serve", stdout: &out, stderr: &errOut}
	done := make(chan error, 1)
	go func() { done <- cmdServe(ctx, e, serveArgs(dir, "", "")) }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "the data directory is held") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s%s", err, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s%s", out.String(), errOut.String())
		}
	}
	for _, line := range []string{"web UI and REST API: https://127.0.0.1:", "catalyst (client-side dedup, TLS): 127.0.0.1:",
		"SMB shares: 127.0.0.1:", "iSCSI virtual tape libraries: 127.0.0.1:", "replication: 127.0.0.1:"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("serve did not print %q:\n%s", line, out.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
	if !strings.HasSuffix(out.String(), "backstop: stopping\n") {
		t.Errorf("serve's output does not end with its stop line:\n%s", out.String())
	}
}

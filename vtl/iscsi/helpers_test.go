package iscsi_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
)

// source is a mutable list of targets.
type source struct {
	mu      sync.Mutex
	targets []iscsi.Target
}

func (s *source) Targets() []iscsi.Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]iscsi.Target(nil), s.targets...)
}

const (
	tgtName  = "iqn.2026-11.org.backstop:test"
	initName = "iqn.2026-11.org.backstop:initiator"
)

type fixture struct {
	srv   *iscsi.Server
	addr  string
	src   *source
	tape  *memTape
	chg   *memTape
	errCh chan error
}

// start runs a server on 127.0.0.1:0 with one target (LUN 0 a changer,
// LUN 1 a tape) and stops it when the test ends.
func start(t testing.TB, mod func(*iscsi.Options, *source)) *fixture {
	t.Helper()
	f := &fixture{src: &source{}, tape: newMemTape(0x01), chg: newMemTape(0x08), errCh: make(chan error, 1)}
	f.src.targets = []iscsi.Target{{Name: tgtName, Alias: "test library", LUNs: lunSet{0: f.chg, 1: f.tape}}}
	opts := iscsi.DefaultOptions()
	opts.NopInterval = 0
	if mod != nil {
		mod(&opts, f.src)
	}
	f.srv = iscsi.New(f.src, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go func() { f.errCh <- f.srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		f.srv.Close()
		if err := testwait.Recv(t, f.errCh); !errors.Is(err, iscsi.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return f
}

func cfg() initiator.Config {
	return initiator.Config{InitiatorName: initName, TargetName: tgtName, ImmediateData: true}
}

func (f *fixture) dial(t testing.TB, c initiator.Config) *initiator.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := initiator.Dial(ctx, f.addr, c)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond (the test fails on a time-out, it never passes
// because of timing).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

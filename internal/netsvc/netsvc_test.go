package netsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// wait is how long a test waits for something that must happen.
const wait = 10 * time.Second

// recv receives from ch or fails the test after wait.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// notYet fails if ch delivers within a short while: something that must
// not happen yet (a pass never depends on the timing).
func notYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s too early", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// noLeak checks that the goroutines started during the test have ended.
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func start(t *testing.T, h Handler, opts Options) *Server {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := New(h, opts)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("cleanup shutdown: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEcho(t *testing.T) {
	noLeak(t)
	s := start(t, func(_ context.Context, c net.Conn) { io.Copy(c, c) }, Options{})
	for i := range 3 {
		c := dial(t, s)
		msg := fmt.Sprintf("hello %d", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
			t.Fatalf("echo: %q, %v", got, err)
		}
	}
}

// TestShutdown: Shutdown closes the connections, cancels the contexts and
// waits for every handler and tracked goroutine, however it ends.
func TestShutdown(t *testing.T) {
	type work struct {
		started chan struct{}
		release chan struct{}
	}
	block := func(ctx context.Context, w work) {
		w.started <- struct{}{}
		<-ctx.Done()
		<-w.release
	}
	tests := []struct {
		name string
		// handler and then run start the work Shutdown must wait for,
		// which blocks until w.release is closed.
		handler func(s **Server, w work) Handler
		run     func(t *testing.T, s *Server, w work)
	}{
		{"handler that waits for its context",
			func(_ **Server, w work) Handler { return func(ctx context.Context, _ net.Conn) { block(ctx, w) } },
			func(t *testing.T, s *Server, _ work) { dial(t, s) }},
		{"handler that reads its connection",
			func(_ **Server, w work) Handler {
				return func(_ context.Context, c net.Conn) {
					w.started <- struct{}{}
					io.Copy(io.Discard, c) // ends when Shutdown closes c
					<-w.release
				}
			},
			func(t *testing.T, s *Server, _ work) { dial(t, s) }},
		{"tracked goroutine",
			func(_ **Server, _ work) Handler { return func(context.Context, net.Conn) {} },
			func(t *testing.T, s *Server, w work) {
				if !s.Go(func(ctx context.Context) { block(ctx, w) }) {
					t.Fatal("Go refused before Shutdown")
				}
			}},
		{"tracked goroutine started by a handler",
			func(s **Server, w work) Handler {
				return func(context.Context, net.Conn) { (*s).Go(func(ctx context.Context) { block(ctx, w) }) }
			},
			func(t *testing.T, s *Server, _ work) { dial(t, s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			w := work{started: make(chan struct{}, 1), release: make(chan struct{})}
			var s *Server
			s = start(t, tt.handler(&s, w), Options{})
			tt.run(t, s, w)
			recv(t, w.started, "the work to start")
			done := make(chan error, 1)
			go func() { done <- s.Shutdown(context.Background()) }()
			notYet(t, done, "Shutdown returned before the work ended")
			close(w.release)
			if err := recv(t, done, "Shutdown"); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if s.Go(func(context.Context) { t.Error("ran after Shutdown") }) {
				t.Error("Go accepted work after Shutdown")
			}
		})
	}
}

// TestShutdownExpired: with an expired context Shutdown still closes the
// connections, returns ctx.Err() without waiting, and a later Shutdown
// waits for what was left.
func TestShutdownExpired(t *testing.T) {
	noLeak(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := start(t, func(_ context.Context, _ net.Conn) {
		started <- struct{}{}
		<-release // ignores its context and its connection
	}, Options{})
	c := dial(t, s)
	recv(t, started, "the handler")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an expired context: %v, want context.Canceled", err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after a forced shutdown: %d, %v; want EOF (connection closed)", n, err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
	close(release)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	noLeak(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := New(func(context.Context, net.Conn) {}, Options{Addr: busy.Addr().String()})
	err = s.Start(context.Background())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a busy port: %v, want EADDRINUSE", err)
	}
	if want := "listen tcp " + busy.Addr().String() + ": bind: address already in use"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if s.Addr() != "" {
		t.Errorf("Addr after a failed Start: %q", s.Addr())
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	s = start(t, func(context.Context, net.Conn) {}, Options{})
	if err := s.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Shutdown: %v, want ErrClosed", err)
	}
}

// flakyListener fails Accept with err n times, then accepts.
type flakyListener struct {
	net.Listener
	err   error
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, l.err
	}
	return l.Listener.Accept()
}

func TestAcceptErrors(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		serve bool // the loop goes on and serves the next connection
	}{
		{"out of descriptors", &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}, true},
		{"out of buffers", &net.OpError{Op: "accept", Net: "tcp", Err: syscall.ENOBUFS}, true},
		{"timeout", &net.OpError{Op: "accept", Net: "tcp", Err: timeoutErr{}}, true},
		{"other", errors.New("broken"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			var fl *flakyListener
			listen := func(ctx context.Context, network, addr string) (net.Listener, error) {
				var lc net.ListenConfig
				ln, err := lc.Listen(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				fl = &flakyListener{Listener: ln, err: tt.err}
				fl.fails.Store(4)
				return fl, nil
			}
			served := make(chan struct{}, 1)
			s := start(t, func(context.Context, net.Conn) { served <- struct{}{} },
				Options{Listen: listen, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
			c := dial(t, s)
			if tt.serve {
				recv(t, served, "the connection after temporary accept errors")
				if n := fl.fails.Load(); n >= 0 {
					t.Errorf("%d failures left", n+1)
				}
				return
			}
			notYet(t, served, "a connection served after a fatal accept error")
			c.Close()
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestConns(t *testing.T) {
	noLeak(t)
	started := make(chan struct{}, 2)
	s := start(t, func(ctx context.Context, _ net.Conn) {
		started <- struct{}{}
		<-ctx.Done()
	}, Options{})
	dial(t, s)
	dial(t, s)
	recv(t, started, "first handler")
	recv(t, started, "second handler")
	if n := s.Conns(); n != 2 {
		t.Errorf("Conns = %d, want 2", n)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.Conns(); n != 0 {
		t.Errorf("Conns after Shutdown = %d, want 0", n)
	}
}

// closedSoon reports whether the server closes c (a read ends) within
// wait.
func closedSoon(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// dialFrom dials s from the loopback address local (Linux routes all of
// 127.0.0.0/8 to lo).
func dialFrom(t *testing.T, s *Server, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: wait}
	c, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Skipf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnLimits(t *testing.T) {
	noLeak(t)
	served := make(chan net.Conn, 16)
	h := func(ctx context.Context, c net.Conn) {
		served <- c
		_, _ = io.Copy(io.Discard, c) // until the client or Shutdown closes
	}
	logged := &countHandler{}
	s := start(t, h, Options{MaxConns: 4, MaxConnsPerAddr: 2, Logger: slog.New(logged), RefusedLogInterval: time.Hour})

	// Two from 127.0.0.1 are served, the third is closed at once.
	a1, a2 := dialFrom(t, s, "127.0.0.1"), dialFrom(t, s, "127.0.0.1")
	recv(t, served, "first connection")
	recv(t, served, "second connection")
	if a3 := dialFrom(t, s, "127.0.0.1"); !closedSoon(a3) {
		t.Fatal("a third connection from one address was not closed")
	}
	if r := s.Refused(); r.PerAddr != 1 || r.Total != 0 {
		t.Fatalf("refused %+v, want one per address", r)
	}
	// Another address may connect up to the total.
	dialFrom(t, s, "127.0.0.2")
	dialFrom(t, s, "127.0.0.2")
	recv(t, served, "third connection")
	recv(t, served, "fourth connection")
	for range 3 {
		if c := dialFrom(t, s, "127.0.0.3"); !closedSoon(c) {
			t.Fatal("a connection over the total was not closed")
		}
	}
	if r := s.Refused(); r.Total != 3 || r.PerAddr != 1 {
		t.Fatalf("refused %+v, want 3 total and 1 per address", r)
	}
	if n := logged.count.Load(); n != 1 {
		t.Fatalf("%d log lines about 4 refusals in one interval, want 1", n)
	}
	// A connection that ends makes room for its address.
	a1.Close()
	a2.Close()
	deadline := time.Now().Add(wait)
	for s.Conns() > 2 {
		if time.Now().After(deadline) {
			t.Fatal("closed connections still counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dialFrom(t, s, "127.0.0.1")
	recv(t, served, "a connection after others closed")
}

// countHandler is a slog handler that counts records.
type countHandler struct{ count atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	h.count.Add(1)
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

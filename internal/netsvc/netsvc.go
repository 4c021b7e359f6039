package netsvc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Sentinel errors.
var (
	// ErrStarted is returned by Start on a Server started before.
	ErrStarted = errors.New("netsvc: already started")
	// ErrClosed is returned by Start after Shutdown.
	ErrClosed = errors.New("netsvc: shut down")
)

// Handler serves one connection. It returns when the connection is done;
// ctx is cancelled at Shutdown (which also closes c). The Server closes c
// after the Handler returns.
type Handler func(ctx context.Context, c net.Conn)

// ListenFunc opens a listener, like net.ListenConfig.Listen.
type ListenFunc func(ctx context.Context, network, addr string) (net.Listener, error)

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on; port 0 picks one.
	Addr string
	// Logger hears of accept errors (default: discard).
	Logger *slog.Logger
	// Listen opens the listener (default: net.ListenConfig.Listen).
	Listen ListenFunc
	// MinBackoff and MaxBackoff bound the pause after a temporary
	// accept error (default 5 ms and 1 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxConns bounds the connections served at once (default
	// DefaultMaxConns); one more is closed as soon as it is accepted.
	MaxConns int
	// MaxConnsPerAddr bounds the connections served at once from one
	// source IP address (default DefaultMaxConnsPerAddr); one more is
	// closed as soon as it is accepted.
	MaxConnsPerAddr int
	// RefusedLogInterval is the least time between two log lines about
	// refused connections (default 1 min), so that a flood cannot fill
	// the log: each line counts the refusals since the last.
	RefusedLogInterval time.Duration
	// Now is the clock of RefusedLogInterval (default time.Now).
	Now func() time.Time
}

// Defaults of the connection limits. A service sets its own in Options.
const (
	DefaultMaxConns        = 1024
	DefaultMaxConnsPerAddr = 64
)

// DefaultOptions returns the defaults for addr.
func DefaultOptions(addr string) Options {
	var lc net.ListenConfig
	return Options{
		Addr:       addr,
		Logger:     slog.New(slog.DiscardHandler),
		Listen:     lc.Listen,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: time.Second,

		MaxConns:           DefaultMaxConns,
		MaxConnsPerAddr:    DefaultMaxConnsPerAddr,
		RefusedLogInterval: time.Minute,
		Now:                time.Now,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Addr)
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Listen == nil {
		o.Listen = d.Listen
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = d.MinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(d.MaxBackoff, o.MinBackoff)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = d.MaxConns
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = d.MaxConnsPerAddr
	}
	if o.RefusedLogInterval <= 0 {
		o.RefusedLogInterval = d.RefusedLogInterval
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Server accepts connections and tracks them and the goroutines it runs.
// Safe for concurrent use.
type Server struct {
	opts   Options
	handle Handler
	base   context.Context // parent of every context the Server hands out
	cancel context.CancelFunc

	gate *gate // the connection limits

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	stopping bool
	wg       sync.WaitGroup // accept loop, handlers, Go
	waitOnce sync.Once
	idle     chan struct{} // closed when wg is done after Shutdown began
}

// New returns a Server that runs h for each connection. It does not
// listen until Start; Go may be used before.
func New(h Handler, opts Options) *Server {
	base, cancel := context.WithCancel(context.Background())
	opts = opts.withDefaults()
	return &Server{opts: opts, handle: h, base: base, cancel: cancel, gate: newGate(opts),
		conns: map[net.Conn]struct{}{}, idle: make(chan struct{})}
}

// Start listens on Options.Addr and accepts in the background until
// Shutdown. It returns the listen error as is (a *net.OpError names the
// address), so callers can add their own prefix.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopping:
		return ErrClosed
	case s.ln != nil:
		return ErrStarted
	}
	ln, err := s.opts.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

// Addr is the address the Server listens on, or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Conns reports the connections being served.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Refusals counts the connections closed at accept because a limit was
// reached.
type Refusals struct {
	Total   uint64 // MaxConns was reached
	PerAddr uint64 // MaxConnsPerAddr was reached for the source address
}

// Refused reports the connections refused since New.
func (s *Server) Refused() Refusals {
	return s.gate.refused()
}

// Go runs f in a goroutine that Shutdown waits for; f's ctx is cancelled
// when Shutdown begins. After Shutdown began it runs nothing and returns
// false.
func (s *Server) Go(f func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.base)
	}()
	return true
}

// Shutdown stops accepting, cancels every context, closes every
// connection and waits for every goroutine the Server started, until ctx
// expires: then it returns ctx.Err(). It may be called again to wait
// more, and before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	ln := s.ln
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	if ln != nil {
		_ = ln.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
	s.waitOnce.Do(func() {
		go func() {
			s.wg.Wait()
			close(s.idle)
		}()
	})
	select {
	case <-s.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// accept is the accept loop.
func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.base.Err() != nil {
				return
			}
			if !temporary(err) {
				s.opts.Logger.Error("netsvc: accept", "addr", ln.Addr().String(), "err", err)
				return
			}
			delay = min(max(2*delay, s.opts.MinBackoff), s.opts.MaxBackoff)
			s.opts.Logger.Warn("netsvc: accept, retrying", "addr", ln.Addr().String(), "err", err, "delay", delay)
			if !s.sleep(delay) {
				return
			}
			continue
		}
		delay = 0
		s.serve(nc)
	}
}

// sleep waits d or until Shutdown; false means Shutdown.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.base.Done():
		return false
	}
}

// serve runs the handler of nc in a tracked goroutine, or closes nc at
// once when a connection limit is reached.
func (s *Server) serve(nc net.Conn) {
	host := sourceAddr(nc)
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if !s.gate.admit(host, s.ln.Addr().String()) {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(s.base)
		defer cancel()
		defer func() {
			_ = nc.Close()
			s.mu.Lock()
			delete(s.conns, nc)
			s.gate.release(host)
			s.mu.Unlock()
		}()
		s.handle(ctx, nc)
	}()
}

// temporary reports whether an accept error is worth retrying: a timeout
// or a lack of descriptors, buffers or memory, which pass.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

package smb2

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/nas"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("smb2: server closed")

// ErrUnknownUser is what an NTHasher returns for a user it does not know.
var ErrUnknownUser = errors.New("smb2: unknown user")

// NTHasher gives the NT hash (MD4 of the UTF-16LE password) of a user,
// the secret NTLM authentication needs.
type NTHasher interface {
	NTHash(user string) ([]byte, error)
}

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// NetBIOSName and Domain are announced in NTLM challenges.
	NetBIOSName string
	Domain      string
	// RequireSigning makes the server require signed messages from
	// every non-anonymous session (encrypted ones excepted).
	RequireSigning bool
	// MinDialect and MaxDialect bound the dialects offered (0x0202 to
	// 0x0311 by default).
	MinDialect, MaxDialect uint16
	// MaxCredits bounds the credits a connection may hold.
	MaxCredits uint16
	// MaxIO is the largest read, write and transact size (default 8 MiB).
	MaxIO uint32
	// DurableTimeout is how long a durable handle outlives its
	// connection (default 60 s).
	DurableTimeout time.Duration
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		Logger:         slog.Default(),
		Now:            time.Now,
		NetBIOSName:    "BACKSTOP",
		Domain:         "WORKGROUP",
		MinDialect:     dialect202,
		MaxDialect:     dialect311,
		MaxCredits:     8192,
		MaxIO:          8 << 20,
		DurableTimeout: 60 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.NetBIOSName == "" {
		o.NetBIOSName = d.NetBIOSName
	}
	if o.Domain == "" {
		o.Domain = d.Domain
	}
	if o.MinDialect == 0 {
		o.MinDialect = d.MinDialect
	}
	if o.MaxDialect == 0 {
		o.MaxDialect = d.MaxDialect
	}
	if o.MaxCredits == 0 {
		o.MaxCredits = d.MaxCredits
	}
	if o.MaxIO == 0 {
		o.MaxIO = d.MaxIO
	}
	if o.DurableTimeout == 0 {
		o.DurableTimeout = d.DurableTimeout
	}
	return o
}

// Server is an SMB2/3 file server. Safe for concurrent use.
type Server struct {
	opts   Options
	shares nas.ShareSource
	users  NTHasher
	guid   [16]byte
	start  time.Time
	files  *fileTable

	nextSession atomic.Uint64
	nextTree    atomic.Uint32
	nextFile    atomic.Uint64
	nextAsync   atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	durable   map[uint64]*open // disconnected durable opens by persistent id
	closed    bool
	wg        sync.WaitGroup
}

// New returns a server of the shares, authenticating against users.
func New(shares nas.ShareSource, users NTHasher, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:      opts,
		shares:    shares,
		users:     users,
		start:     opts.Now(),
		files:     newFileTable(),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		durable:   map[uint64]*open{},
	}
	_, _ = rand.Read(s.guid[:])
	s.nextSession.Store(uint64(opts.Now().UnixNano()) & 0xFFFFFFFF << 16)
	return s
}

// Serve accepts connections on ln until Close; it always returns an
// error (ErrServerClosed after Close).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			delete(s.listeners, ln)
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops the listeners, closes every connection and every open
// file (durable ones included), and waits for the connections to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	var parked []*open
	for _, o := range s.durable {
		parked = append(parked, o)
	}
	s.mu.Unlock()
	for _, o := range parked {
		s.dropDurable(o)
	}
	return nil
}

// Addr-less helpers for tests and the CLI.

// ConnCount reports the connections being served.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

package smb2

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/internal/netsvc"
	"github.com/backstop-appliance/backstop/nas"
)

// ErrUnknownUser is what an NTHasher returns for a user it does not know.
var ErrUnknownUser = errors.New("smb2: unknown user")

// NTHasher gives the NT hash (MD4 of the UTF-16LE password) of a user,
// the secret NTLM authentication needs.
type NTHasher interface {
	NTHash(user string) ([]byte, error)
}

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on (default 0.0.0.0:445); port 0
	// picks one.
	Addr   string
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

	// The limits below bound what a client holds before and after it
	// authenticates; docs/smb.md "Limits" gives the memory they bound.

	// MaxConns and MaxConnsPerAddr bound the connections served at once,
	// in all and from one source IP address (default 512 and 32); one
	// more is closed at accept (internal/netsvc).
	MaxConns, MaxConnsPerAddr int
	// MaxPreauthFrame is the largest frame read while the connection has
	// no authenticated session (default 65,623 bytes: the largest
	// SESSION_SETUP, whose security buffer length is 16 bits). A larger
	// length drops the connection before its body is read.
	MaxPreauthFrame uint32
	// NegotiateTimeout is the time from accept to the first
	// authenticated session (default 20 s); a connection that has none
	// by then is closed.
	NegotiateTimeout time.Duration
	// IdleTimeout closes a connection that has had no authenticated
	// session since its last request for this long (default 60 s).
	IdleTimeout time.Duration
	// SessionIdleTimeout closes a connection whose sessions hold no open
	// file and no pending request after this long without a request
	// (default 15 min, Windows' autodisconnect). A connection with an
	// open file is never closed for idleness.
	SessionIdleTimeout time.Duration
	// Logins throttles NTLM password checks and audits failed logons
	// (logins.go); nil checks every attempt and audits none. backstop
	// serve passes the limiter all protocols share.
	Logins LoginLimiter
	// Failures counts commits that failed (CLOSE, FLUSH, a WRITE, a
	// handle closed without its client), by reason; nil counts none.
	// backstop serve passes the counter the web metrics read.
	Failures CommitFailures
}

// CommitFailures counts failed commits by protocol and reason
// (dedup.CommitFailures is one).
type CommitFailures interface {
	CommitFailed(protocol, reason string)
}

// Defaults of the limits ([MS-SMB2] 2.2.5: SecurityBufferLength is a
// USHORT, so no SESSION_SETUP request is longer than its header, its 24
// fixed bytes and 65,535 bytes of security blob).
const (
	DefaultMaxConns           = 512
	DefaultMaxConnsPerAddr    = 32
	DefaultMaxPreauthFrame    = headerSize + 24 + 0xFFFF
	DefaultNegotiateTimeout   = 20 * time.Second
	DefaultIdleTimeout        = 60 * time.Second
	DefaultSessionIdleTimeout = 15 * time.Minute
)

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		Addr:           "0.0.0.0:445",
		Logger:         slog.Default(),
		Now:            time.Now,
		NetBIOSName:    "BACKSTOP",
		Domain:         "WORKGROUP",
		MinDialect:     dialect202,
		MaxDialect:     dialect311,
		MaxCredits:     8192,
		MaxIO:          8 << 20,
		DurableTimeout: 60 * time.Second,

		MaxConns:           DefaultMaxConns,
		MaxConnsPerAddr:    DefaultMaxConnsPerAddr,
		MaxPreauthFrame:    DefaultMaxPreauthFrame,
		NegotiateTimeout:   DefaultNegotiateTimeout,
		IdleTimeout:        DefaultIdleTimeout,
		SessionIdleTimeout: DefaultSessionIdleTimeout,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Addr == "" {
		o.Addr = d.Addr
	}
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
	if o.MaxConns <= 0 {
		o.MaxConns = d.MaxConns
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = d.MaxConnsPerAddr
	}
	if o.MaxPreauthFrame == 0 {
		o.MaxPreauthFrame = d.MaxPreauthFrame
	}
	if o.NegotiateTimeout <= 0 {
		o.NegotiateTimeout = d.NegotiateTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.SessionIdleTimeout <= 0 {
		o.SessionIdleTimeout = d.SessionIdleTimeout
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

	// Connections dropped by a limit, for Stats.
	bigPreauth, negTimeouts, idleTimeouts atomic.Uint64

	// loop accepts the connections and tracks them and every goroutine
	// they start (oplock breaks, lock waits, durable expiry).
	loop *netsvc.Server

	mu      sync.Mutex
	conns   map[*conn]struct{}
	durable map[uint64]*open // disconnected durable opens by persistent id
}

// New returns a server of the shares, authenticating against users. It
// does not listen until Start.
func New(shares nas.ShareSource, users NTHasher, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:    opts,
		shares:  shares,
		users:   users,
		start:   opts.Now(),
		files:   newFileTable(),
		conns:   map[*conn]struct{}{},
		durable: map[uint64]*open{},
	}
	s.loop = netsvc.New(s.serveConn, netsvc.Options{Addr: opts.Addr, Logger: opts.Logger,
		MaxConns: opts.MaxConns, MaxConnsPerAddr: opts.MaxConnsPerAddr})
	_, _ = rand.Read(s.guid[:])
	s.nextSession.Store(uint64(opts.Now().UnixNano()) & 0xFFFFFFFF << 16)
	return s
}

// Start listens on Options.Addr and serves in the background until
// Shutdown. It returns the listen error as is ("listen tcp ADDR: ...").
func (s *Server) Start(ctx context.Context) error { return s.loop.Start(ctx) }

// Addr is the address the server listens on, or "" before Start.
func (s *Server) Addr() string { return s.loop.Addr() }

// Shutdown stops accepting, closes every connection and waits for their
// goroutines and those they started (oplock breaks, lock waits), then
// closes every open file, durable ones included. When ctx expires first
// it returns ctx.Err() after closing what it can.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.loop.Shutdown(ctx)
	s.mu.Lock()
	var parked []*open
	for _, o := range s.durable {
		parked = append(parked, o)
	}
	s.mu.Unlock()
	for _, o := range parked {
		s.dropDurable(o)
	}
	return err
}

// serveConn serves one accepted connection until it ends. Its requests
// do not see the loop's ctx: at Shutdown a request under way (a CLOSE
// committing a file) finishes, the closed socket ends the read loop, and
// teardown cancels what waits (as it does when a client goes away).
func (s *Server) serveConn(_ context.Context, nc net.Conn) {
	c := newConn(s, nc)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.serve()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// goTracked runs f in a goroutine Shutdown waits for; once Shutdown has
// begun it runs nothing (the connections f would answer are closing).
func (s *Server) goTracked(f func()) { s.loop.Go(func(context.Context) { f() }) }

// ConnCount reports the connections being served.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Stats counts the connections the limits refused or dropped.
type Stats struct {
	Refused           netsvc.Refusals // closed at accept: too many connections
	BigPreauthFrames  uint64          // a frame over MaxPreauthFrame before authentication
	NegotiateTimeouts uint64          // no authenticated session within NegotiateTimeout
	IdleTimeouts      uint64          // IdleTimeout or SessionIdleTimeout passed
}

// Stats reports the limits' counts since New.
func (s *Server) Stats() Stats {
	return Stats{Refused: s.loop.Refused(), BigPreauthFrames: s.bigPreauth.Load(),
		NegotiateTimeouts: s.negTimeouts.Load(), IdleTimeouts: s.idleTimeouts.Load()}
}

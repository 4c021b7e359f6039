package iscsi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/internal/netsvc"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// CHAP is the authentication a target (or discovery) requires. An empty
// User means no authentication. A non-empty MutualUser makes the target
// answer the initiator's challenge too (mutual CHAP), with MutualSecret.
type CHAP struct {
	User, Secret             string
	MutualUser, MutualSecret string
}

// Required reports whether CHAP is required.
func (c CHAP) Required() bool { return c.User != "" }

// Target is one iSCSI target as the Source describes it.
type Target struct {
	Name  string // iqn.... or eui....
	Alias string // TargetAlias, optional
	LUNs  scsi.LUNSet
	CHAP  CHAP
}

// Source lists the targets the server exposes. It is asked at every
// login and SendTargets, and must be safe for concurrent use.
type Source interface {
	Targets() []Target
}

// Limits are the values the target offers in operational negotiation;
// the session uses what the negotiation results in (see docs/iscsi.md).
type Limits struct {
	MaxRecvDataSegmentLength int // what this target accepts in one PDU
	MaxBurstLength           int
	FirstBurstLength         int
	InitialR2T               bool
	ImmediateData            bool
	MaxOutstandingR2T        int
	DefaultTime2Wait         int
	DefaultTime2Retain       int
}

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on (default 0.0.0.0:3260); port 0
	// picks one.
	Addr   string
	Limits Limits
	// DiscoveryCHAP is required of discovery sessions when set.
	DiscoveryCHAP CHAP
	// PortalGroupTag is the target portal group tag of every portal.
	PortalGroupTag uint16
	// QueueDepth is the CmdSN window per session.
	QueueDepth int
	// MaxTransfer bounds the Expected Data Transfer Length of a write.
	MaxTransfer int
	// NopInterval is how long a connection may be idle before the target
	// pings it with a NOP-In; NopTimeout how long it waits for the answer
	// before dropping the connection. Zero disables pings.
	NopInterval, NopTimeout time.Duration
	// LoginTimeout bounds the whole login phase, from the connection's
	// accept to the last Login Response.
	LoginTimeout time.Duration
	Logger       *slog.Logger
	// Logins throttles CHAP checks and audits failed logins (logins.go);
	// nil checks every attempt and audits none. backstop serve passes
	// the limiter all protocols share.
	Logins LoginLimiter

	// The limits below bound what a peer can make the target hold; zero
	// means the Default... constant (bounds.go, docs/iscsi.md "Limits").

	// MaxLoginText bounds the key=value text of a whole login phase,
	// over all its PDUs; beyond it the login fails with 0200h.
	MaxLoginText int
	// MaxPendingLogins bounds the connections that have not completed
	// login, in all and per source address; beyond them a new
	// connection is closed at once.
	MaxPendingLogins, MaxPendingLoginsPerAddr int
	// MaxSessions bounds the normal sessions; beyond it a login fails
	// with 0302h out of resources.
	MaxSessions int
	// MaxSessionWriteBytes and MaxWriteBytes bound the buffers of
	// R2T-solicited write data per session and for the whole target
	// (each at least MaxTransfer); a write waits for its R2T until its
	// buffer fits.
	MaxSessionWriteBytes, MaxWriteBytes int
	// MaxSessionUnsolicitedBytes bounds the immediate and unsolicited
	// write data a session may hold (at least its FirstBurstLength): the
	// CmdSN window opens only as far as FirstBurstLength per command
	// fits in it.
	MaxSessionUnsolicitedBytes int
}

// DefaultOptions returns the defaults documented in docs/iscsi.md.
func DefaultOptions() Options {
	return Options{
		Addr: "0.0.0.0:3260",
		Limits: Limits{
			MaxRecvDataSegmentLength: 262144,
			MaxBurstLength:           16776192,
			FirstBurstLength:         262144,
			InitialR2T:               false,
			ImmediateData:            true,
			MaxOutstandingR2T:        1,
			DefaultTime2Wait:         2,
			DefaultTime2Retain:       0,
		},
		PortalGroupTag: 1,
		QueueDepth:     64,
		MaxTransfer:    64 << 20,
		NopInterval:    30 * time.Second,
		NopTimeout:     30 * time.Second,
		LoginTimeout:   30 * time.Second,
	}
}

// Server is an iSCSI target server.
type Server struct {
	src  Source
	opts Options
	log  *slog.Logger

	// loop accepts the connections and tracks them and the goroutines
	// they start.
	loop *netsvc.Server
	// limits counts what peers hold against Options' bounds.
	limits *bounds

	mu       sync.Mutex
	sessions map[sessionKey]*session
	nextTSIH uint16
}

type sessionKey struct {
	initiator, target string
	isid              [6]byte
}

// New returns a server exposing src's targets. It does not listen until
// Start.
func New(src Source, opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = DefaultOptions().Addr
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.QueueDepth <= 0 {
		opts.QueueDepth = 64
	}
	if opts.MaxTransfer <= 0 {
		opts.MaxTransfer = 64 << 20
	}
	if opts.LoginTimeout <= 0 {
		opts.LoginTimeout = 30 * time.Second
	}
	s := &Server{src: src, opts: opts, log: opts.Logger, sessions: map[sessionKey]*session{}, limits: newBounds(opts)}
	// Initiators open a few connections each (one per session, more
	// with MPIO); 256 in all and 32 per address leave room for that.
	s.loop = netsvc.New(s.serveConn, netsvc.Options{Addr: opts.Addr, Logger: opts.Logger, MaxConns: 256, MaxConnsPerAddr: 32})
	return s
}

// Start listens on Options.Addr and serves in the background until
// Shutdown. It returns the listen error as is ("listen tcp ADDR: ...").
func (s *Server) Start(ctx context.Context) error { return s.loop.Start(ctx) }

// Addr is the address the server listens on, or "" before Start.
func (s *Server) Addr() string { return s.loop.Addr() }

// Shutdown stops accepting and drops every connection: each session ends
// with a nexus loss (its tasks aborted, its devices told) before
// Shutdown returns, so the libraries may close after it. When ctx
// expires first it returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error { return s.loop.Shutdown(ctx) }

// serveConn serves one accepted connection: login, then full feature
// phase. Its session does not see ctx: a command under way finishes, and
// the closed socket ends the session as a client's loss would.
func (s *Server) serveConn(_ context.Context, nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	newConn(s, nc).serve()
}

// SessionInfo describes a logged-in session.
type SessionInfo struct {
	Initiator string
	Target    string
	ISID      string
	TSIH      uint16
	Remote    string
}

// Sessions lists the normal sessions logged in now.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for k, ss := range s.sessions {
		out = append(out, SessionInfo{Initiator: k.initiator, Target: k.target,
			ISID: fmt.Sprintf("%x", k.isid), TSIH: ss.tsih, Remote: ss.conn.nc.RemoteAddr().String()})
	}
	return out
}

// target finds a target by name.
func (s *Server) target(name string) (Target, bool) {
	for _, t := range s.src.Targets() {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// register adds a new session, reinstating (closing) an older one with
// the same initiator, ISID and target (RFC 7143 6.3.5). It returns the
// new session's TSIH.
func (s *Server) register(ss *session) uint16 {
	s.mu.Lock()
	old := s.sessions[ss.key]
	for {
		s.nextTSIH++
		if s.nextTSIH != 0 {
			break
		}
	}
	ss.tsih = s.nextTSIH
	s.sessions[ss.key] = ss
	s.mu.Unlock()
	if old != nil {
		s.log.Info("iscsi: session reinstatement", "initiator", ss.key.initiator, "target", ss.key.target)
		old.conn.nc.Close()
		<-old.done
	}
	return ss.tsih
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.key] == ss {
		delete(s.sessions, ss.key)
	}
	s.mu.Unlock()
}

package catalyst

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/netsvc"
)

// DefaultAddr is where the service listens unless told otherwise.
const DefaultAddr = "0.0.0.0:9387"

// Defaults of the gRPC bounds (docs/catalyst.md "Limits").
const (
	// DefaultMaxMsg bounds one message: the largest chunk a domain
	// allows (64 MiB) plus framing; a put batch is cut to fit it.
	DefaultMaxMsg = 64<<20 + 1<<20
	// DefaultMaxStreams bounds the concurrent calls of one connection.
	DefaultMaxStreams = 32
	// DefaultHandshakeTimeout bounds a new connection's TLS and HTTP/2
	// handshake.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxHeaderBytes bounds a call's metadata (the Basic
	// credentials are in it).
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxConns bounds the connections served at once, and
	// DefaultMaxConnsPerAddr those from one source address: one over
	// is closed at accept, before its TLS handshake.
	DefaultMaxConns        = 256
	DefaultMaxConnsPerAddr = 64
	// DefaultMaxConnIdle is how long a connection may go without a call
	// in progress before the server ends it (GOAWAY; the client library
	// reconnects at its next call). A connection that never makes an
	// authenticated call ends after it too.
	DefaultMaxConnIdle = 5 * time.Minute
)

// Engine is what the service needs of the dedup engine.
type Engine interface {
	Store(name string) (chunkstore.StoreInfo, error)
	Stores() []chunkstore.StoreInfo
	StoreDomain(name string) (dedup.Domain, error)
	Import(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Importer, error)
	Create(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Writer, error)
	OpenItem(ctx context.Context, store, name string) (*chunkstore.Reader, error)
	ListItems(ctx context.Context, store string, opts chunkstore.ListOptions) ([]chunkstore.Item, error)
	Stat(ctx context.Context, store, name string) (chunkstore.Item, error)
	Delete(ctx context.Context, store, name string) error
	CopyItem(ctx context.Context, src, name, dst, dstName string, replace bool) (chunkstore.Item, error)
	Stats() chunkstore.Stats
}

// Recorder keeps audit events (appliance.State does).
type Recorder interface {
	Record(e appliance.Event) appliance.Event
}

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on; port 0 picks one.
	Addr string
	// Certificate is the appliance's TLS certificate. Without one the
	// server speaks plaintext (tests only).
	Certificate *tls.Certificate
	Logger      *slog.Logger
	Now         func() time.Time
	// Audit, if set, records deletes and copies.
	Audit Recorder
	// Policy decides which stores a user may use and change; nil: the
	// appliance's policy over the engine's stores alone
	// (appliance.StoreOwners: a share's or a library's store is nobody's
	// over Catalyst). backstop serve gives the appliance core's.
	Policy Policy
	// Logins throttles the password checks and audits failed logins;
	// nil: a limiter of the server's own with
	// appliance.DefaultLimiterOptions, auditing to Audit. backstop serve
	// passes the one all protocols share.
	Logins LoginLimiter
	// Bounds of gRPC: one message, concurrent calls per connection, the
	// handshake of a connection, a call's metadata; zero means the
	// Default... constant. Keepalive pings from a client more often than
	// every 10 s end its connection (GOAWAY too_many_pings).
	MaxMsg           int
	MaxStreams       uint32
	HandshakeTimeout time.Duration
	MaxHeaderBytes   uint32
	// MaxConns and MaxConnsPerAddr bound the connections at once, in
	// all and from one source IP address; MaxConnIdle ends a connection
	// without a call in progress for that long. Zero means the Default...
	// constant.
	MaxConns, MaxConnsPerAddr int
	MaxConnIdle               time.Duration
	// Failures counts puts whose data the engine failed to store (nil:
	// none counted); backstop serve passes the counter the web metrics
	// read.
	Failures CommitFailures
}

// CommitFailures counts failed commits by protocol and reason
// (dedup.CommitFailures is one).
type CommitFailures interface {
	CommitFailed(protocol, reason string)
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MaxMsg <= 0 {
		o.MaxMsg = DefaultMaxMsg
	}
	if o.MaxStreams == 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if o.MaxConnIdle <= 0 {
		o.MaxConnIdle = DefaultMaxConnIdle
	}
	if o.Logins == nil {
		lo := appliance.LimiterOptions{Logger: o.Logger, Now: o.Now}
		if o.Audit != nil {
			lo.Audit = o.Audit
		}
		o.Logins = appliance.NewLimiter(lo)
	}
	return o
}

// Policy decides what a user may do (appliance.Policy).
type Policy interface {
	Allow(u appliance.User, action appliance.Action, target appliance.Target) error
}

// Traffic are the service's running totals since it started.
type Traffic struct {
	BytesIn      int64 `json:"bytes_in"`  // message bytes received
	BytesOut     int64 `json:"bytes_out"` // message bytes sent
	LogicalIn    int64 `json:"logical_in"`
	Puts         int64 `json:"puts"` // committed
	PutsLow      int64 `json:"puts_low"`
	PutsHigh     int64 `json:"puts_high"`
	PutsFailed   int64 `json:"puts_failed"`
	Gets         int64 `json:"gets"`
	ChunksSent   int64 `json:"chunks_received"` // chunks clients had to send
	ChunksKnown  int64 `json:"chunks_deduped"`  // recipe entries they did not
	ActiveStream int64 `json:"active_streams"`
}

type traffic struct {
	in, out, logical, puts, putsLow, putsHigh, putsFailed, gets, chunks, known, active atomic.Int64
}

// Server is the Catalyst gRPC service.
type Server struct {
	catalystpb.UnimplementedCatalystServer
	eng  Engine
	opts Options
	log  *slog.Logger
	auth *authCache
	grpc *grpc.Server
	t    traffic

	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

// New makes a server; Start runs it.
func New(eng Engine, users Users, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{eng: eng, opts: opts, log: opts.Logger, auth: newAuthCache(users, opts.Logins, opts.Now)}
	// catalystpb.ServerOptions: message buffers sized to chunks.
	gopts := append(catalystpb.ServerOptions(),
		grpc.MaxRecvMsgSize(opts.MaxMsg),
		grpc.MaxSendMsgSize(opts.MaxMsg),
		grpc.MaxConcurrentStreams(opts.MaxStreams),
		grpc.ConnectionTimeout(opts.HandshakeTimeout),
		grpc.MaxHeaderListSize(opts.MaxHeaderBytes),
		// Credentials are checked when a call's headers arrive, before
		// any of its messages is read (auth.go, tap).
		grpc.InTapHandle(s.auth.tap),
		grpc.UnaryInterceptor(s.auth.unary),
		grpc.StreamInterceptor(s.auth.stream),
		// Notice dead clients, so that their puts end (and free the
		// item name) within a minute.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 20 * time.Second,
			MaxConnectionIdle: opts.MaxConnIdle}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Flow control windows are left to gRPC's BDP estimator, which
		// grows them to the link's bandwidth-delay product (up to 16 MiB):
		// a fixed window would cap a stream at window/RTT on a WAN.
	)
	if opts.Certificate != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{*opts.Certificate}, MinVersion: tls.VersionTLS12}
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	s.grpc = grpc.NewServer(gopts...)
	catalystpb.RegisterCatalystServer(s.grpc, s)
	return s
}

// Start listens and serves in the background until Shutdown.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	raw, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("catalyst: %w", err)
	}
	ln := netsvc.LimitListener(raw, netsvc.Options{MaxConns: s.opts.MaxConns, MaxConnsPerAddr: s.opts.MaxConnsPerAddr,
		Logger: s.log, Now: s.opts.Now})
	s.mu.Lock()
	s.ln, s.done = ln, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		if err := s.grpc.Serve(ln); err != nil {
			s.log.Error("catalyst server stopped", "err", err)
		}
	}()
	s.log.Info("catalyst listening", "addr", ln.Addr().String(), "tls", s.opts.Certificate != nil)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown lets calls in progress finish until ctx ends, then cuts them
// and returns ctx.Err(): a cut put stores no item. It returns when the
// server's goroutines have.
func (s *Server) Shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		err = ctx.Err()
	}
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	return err
}

// Traffic returns the running totals.
func (s *Server) Traffic() Traffic {
	t := &s.t
	return Traffic{BytesIn: t.in.Load(), BytesOut: t.out.Load(), LogicalIn: t.logical.Load(),
		Puts: t.puts.Load(), PutsLow: t.putsLow.Load(), PutsHigh: t.putsHigh.Load(), PutsFailed: t.putsFailed.Load(),
		Gets: t.gets.Load(), ChunksSent: t.chunks.Load(), ChunksKnown: t.known.Load(), ActiveStream: t.active.Load()}
}

// allowed returns the store if the caller may use its items; write
// (put, delete, copy into) needs more. The policy decides, by the store's
// owner: a share's or a tape library's store is refused here with the
// right way named.
func (s *Server) allowed(ctx context.Context, store string, write bool) (chunkstore.StoreInfo, error) {
	u := userFrom(ctx)
	action := appliance.ActionRead
	if write {
		action = appliance.ActionWrite
	}
	if err := s.policy().Allow(u, action, appliance.Items(store, appliance.ViaCatalyst)); err != nil {
		var d *appliance.Denial
		switch {
		case errors.As(err, &d) && d.Need != "":
			return chunkstore.StoreInfo{}, fmt.Errorf("%w: user %q (%s) may not change items", ErrPermission, u.Name, u.Role)
		case errors.As(err, &d):
			return chunkstore.StoreInfo{}, fmt.Errorf("%w: %s", ErrPermission, d.Explain())
		}
		return chunkstore.StoreInfo{}, err
	}
	return s.eng.Store(store)
}

// mayUse reports whether the policy lets u read the store's items.
func (s *Server) mayUse(u appliance.User, info chunkstore.StoreInfo) bool {
	return s.policy().Allow(u, appliance.ActionRead, appliance.Items(info.Name, appliance.ViaCatalyst)) == nil
}

// policy is Options.Policy or, without one, the policy over the engine's
// stores alone (appliance.StoreOwners).
func (s *Server) policy() Policy {
	if s.opts.Policy == nil {
		return appliance.NewPolicy(appliance.StoreOwners{Stores: s.eng})
	}
	return s.opts.Policy
}

func (s *Server) audit(ctx context.Context, action, object, msg string) {
	if s.opts.Audit == nil {
		return
	}
	s.opts.Audit.Record(appliance.Event{Kind: appliance.KindAudit, Actor: userFrom(ctx).Name, Action: action, Object: object, Message: msg})
}

func storePB(info chunkstore.StoreInfo, dom *dedup.Domain) *catalystpb.Store {
	st := &catalystpb.Store{Name: info.Name, Domain: info.Domain, Transfer: catalystpb.TransferPB(info.Transfer),
		ImmutableDays: uint32(info.ImmutableDays), Clients: info.Clients}
	if dom != nil {
		st.Chunker = catalystpb.ParamsPB(dom.Chunker)
		st.DomainKey = dom.Key
	}
	return st
}

package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/history"
	"github.com/backstop-appliance/backstop/internal/netsvc"
	"github.com/backstop-appliance/backstop/replication"
	"github.com/backstop-appliance/backstop/web/ui"
)

// statsSource gives the engine's figures.
type statsSource interface {
	Stats() chunkstore.Stats
	Counters() chunkstore.Counters
}

// storeAdmin manages stores.
type storeAdmin interface {
	Stores() []chunkstore.StoreInfo
	CreateStore(name, domain string) (chunkstore.StoreInfo, error)
	DeleteStore(name string) error
	SetStoreOptions(name string, o chunkstore.StoreOptions) (chunkstore.StoreInfo, error)
	CreateDomain(name string, params chunker.Params) (dedup.Domain, error)
}

// itemAdmin reads and deletes items.
type itemAdmin interface {
	List(ctx context.Context, store, prefix string) ([]chunkstore.Item, error)
	Stat(ctx context.Context, store, name string) (chunkstore.Item, error)
	Delete(ctx context.Context, store, name string) error
	ListPage(ctx context.Context, store, prefix, after string, limit int) ([]chunkstore.Item, bool, error)
	ItemUsage(ctx context.Context, store string, names []string) (map[string]int64, error)
}

// Engine is what the server needs of a *chunkstore.Engine.
type Engine interface {
	statsSource
	storeAdmin
	itemAdmin
}

// userAdmin manages users and checks passwords.
type userAdmin interface {
	Users() []appliance.User
	User(name string) (appliance.User, error)
	CreateUser(name string, role appliance.Role, password string) (appliance.User, error)
	SetRole(name string, role appliance.Role) (appliance.User, error)
	SetPassword(name, password string) (appliance.User, error)
	DeleteUser(name string) error
	Authenticate(name, password string) (appliance.User, error)
}

// settingsStore keeps the appliance settings.
type settingsStore interface {
	Settings() appliance.Settings
	SetSettings(appliance.Settings) error
}

// eventLog records and lists events.
type eventLog interface {
	Record(appliance.Event) appliance.Event
	Events(after int64, limit int, kind string) []appliance.Event
}

// State is what the server needs of an *appliance.State.
type State interface {
	userAdmin
	settingsStore
	eventLog
	tokenStore
}

// Options configure a Server. Start from DefaultOptions.
type Options struct {
	// Addr is where to listen, e.g. "0.0.0.0:8443" or "127.0.0.1:0".
	Addr string
	// Certificate is the appliance's TLS certificate (see
	// appliance.Certificate); required.
	Certificate *tls.Certificate
	// UI holds the web UI's files, served at / (index.html for any
	// unknown path outside /api/). Nil serves no UI; DefaultOptions
	// has the embedded UI of package ui.
	UI fs.FS
	// Version is reported by GET /api/v1/status.
	Version string
	Now     func() time.Time
	Logger  *slog.Logger
	// SampleInterval is how often the history is sampled (default a
	// minute); package history says how long samples are kept.
	SampleInterval time.Duration
	// HistoryDir keeps the history (stored, logical, capacity,
	// throughput) on disk; "" keeps it in memory, lost at Shutdown.
	HistoryDir string
	// Shares manages the SMB shares; nil: the appliance serves none.
	Shares ShareAdmin
	// SessionIdle and SessionMax bound a session's life: unused, and
	// at most.
	SessionIdle, SessionMax time.Duration
	// Core is the appliance core: verify, housekeeping, health; required.
	// The server does not start or stop it.
	Core *appliance.Core
	// Catalyst, if set, is the Catalyst service whose traffic the status,
	// the dashboard and /metrics show.
	Catalyst CatalystTraffic
	// S3Keys, if set, are the S3 front end's access keys
	// (/api/v1/s3/keys); nil: those routes answer 404.
	S3Keys S3Keys
	// Libraries are the virtual tape libraries; nil: the VTL is off and
	// its endpoints answer 404.
	Libraries Libraries
	// Replication, when set, serves /api/v1/replication (nil: those
	// routes answer 404).
	Replication *replication.Service
	// Alerts sends the test messages of POST /api/v1/alerts/test (nil:
	// that route answers 404; the targets can still be set).
	Alerts Alerter
	// Logins throttles and audits the login route; nil: a limiter of the
	// server's own with appliance.DefaultLimiterOptions, auditing to
	// the state. backstop serve passes the one all protocols share.
	Logins LoginLimiter
	// MetricsToken, when set, is the bearer token /metrics requires;
	// "" serves /metrics to anyone (docs/security.md).
	MetricsToken string
	// MaxBody bounds a request body (default 1 MiB); the login route
	// takes at most 8 KiB.
	MaxBody int64
	// ReadHeaderTimeout bounds the TLS handshake and the reading of a
	// request's headers (default 10 s); IdleTimeout ends a keep-alive
	// connection without a request for that long (default 2 min);
	// MaxHeaderBytes bounds a request's headers (default 64 KiB;
	// net/http allows 4 KiB more and answers 431 beyond).
	ReadHeaderTimeout, IdleTimeout time.Duration
	MaxHeaderBytes                 int
	// MaxConns and MaxConnsPerAddr bound the connections at once, in
	// all and from one source IP address (default 256 and 32); one over
	// is closed at accept, before its TLS handshake.
	MaxConns, MaxConnsPerAddr int
	// CommitFailures, if set, is exported as
	// backstop_commit_failures_total{protocol,reason} (commitmetrics.go).
	CommitFailures CommitFailureCounts
}

// DefaultOptions are the settings backstop serve uses.
func DefaultOptions() Options {
	static, _ := fs.Sub(ui.FS, "static") // cannot fail: "static" is a valid path
	return Options{
		UI:             static,
		Addr:           "0.0.0.0:8443",
		Version:        "dev",
		Now:            time.Now,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		SampleInterval: time.Minute,
		SessionIdle:    15 * time.Minute,
		SessionMax:     24 * time.Hour,
		MaxBody:        1 << 20,

		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxConns:          256,
		MaxConnsPerAddr:   32,
	}
}

// withConnDefaults fills the connection bounds left zero from def.
func (o Options) withConnDefaults(def Options) Options {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = def.ReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = def.IdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if o.MaxConns <= 0 {
		o.MaxConns = def.MaxConns
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = def.MaxConnsPerAddr
	}
	return o
}

// ErrStarted is returned by Start when the server was started before.
var ErrStarted = errors.New("web: server already started")

// Server is the appliance's HTTPS server.
type Server struct {
	eng      Engine
	state    State
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	started  time.Time
	router   *gin.Engine
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	sessions *sessions
	logins   LoginLimiter
	hist     *history.Store
	sampler  sampler
	verify   verification
	hk       housekeeping
	hkFigs   housekeepingFigures
	health   healthReporter
	policy   accessPolicy

	mu       sync.Mutex
	srv      *http.Server
	listener net.Listener
	stop     context.CancelFunc
	bg       sync.WaitGroup
}

// New makes a server over the engine and the appliance state. It does not
// listen until Start.
func New(eng Engine, state State, opts Options) (*Server, error) {
	def := DefaultOptions()
	if opts.Now == nil {
		opts.Now = def.Now
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.SampleInterval <= 0 {
		opts.SampleInterval = def.SampleInterval
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = def.SessionIdle
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = def.SessionMax
	}
	if opts.Addr == "" {
		opts.Addr = def.Addr
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = def.MaxBody
	}
	opts = opts.withConnDefaults(def)
	if opts.Logins == nil {
		opts.Logins = appliance.NewLimiter(appliance.LimiterOptions{Audit: state, Logger: opts.Logger, Now: opts.Now})
	}
	if opts.Certificate == nil {
		return nil, errors.New("web: no certificate")
	}
	if opts.Core == nil {
		return nil, errors.New("web: no appliance core")
	}
	s := &Server{
		eng: eng, state: state, opts: opts, log: opts.Logger, now: opts.Now,
		started:  opts.Now(),
		sessions: newSessions(opts.Now, opts.SessionIdle, opts.SessionMax),
		logins:   opts.Logins,
	}
	var err error
	if s.hist, err = openHistory(opts.HistoryDir, opts.SampleInterval); err != nil {
		return nil, err
	}
	hk := opts.Core.Housekeeping()
	s.verify, s.hk, s.hkFigs, s.health = opts.Core.Verify(), hk, hk, opts.Core.Health()
	s.policy = opts.Core.Policy()
	s.reg = s.newRegistry()
	s.router = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.router }

// Start listens on Options.Addr and serves in the background. It returns once the server is listening. The sampler
// stops when ctx is done or at Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return ErrStarted
	}
	raw, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.opts.Addr, err)
	}
	ln := netsvc.LimitListener(raw, netsvc.Options{MaxConns: s.opts.MaxConns, MaxConnsPerAddr: s.opts.MaxConnsPerAddr,
		Logger: s.log, Now: s.now})
	cfg := &tls.Config{Certificates: []tls.Certificate{*s.opts.Certificate}, MinVersion: tls.VersionTLS12}
	s.listener = ln
	s.srv = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		s.runSampler(ctx, bg)
	}()
	srv, tl := s.srv, tls.NewListener(ln, cfg)
	go func() {
		defer s.bg.Done()
		if err := srv.Serve(tl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web server stopped", "err", err)
		}
	}()
	s.log.Info("web server listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on, e.g. "127.0.0.1:43817", or
// "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Shutdown stops accepting connections, waits for requests in flight
// (until ctx is done: then it closes their connections and returns an
// error wrapping ctx.Err()), then stops the sampler. The core's jobs are
// the core's to stop (appliance.Core.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, stop := s.srv, s.stop
	s.mu.Unlock()
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			_ = srv.Close() // ctx expired: cut the requests still running
			err = fmt.Errorf("web: shutdown: %w", err)
		}
		stop()
	}
	s.bg.Wait()
	if cerr := s.hist.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

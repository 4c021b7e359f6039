package s3

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// ErrClosed is returned by Start after Shutdown.
var ErrClosed = errors.New("s3: server closed")

// Engine is what the front end needs of the engine (a *chunkstore.Engine).
type Engine interface {
	Stores() []chunkstore.StoreInfo
	Store(name string) (chunkstore.StoreInfo, error)
	CreateStore(name, domain string) (chunkstore.StoreInfo, error)
	SetStoreOptions(name string, o chunkstore.StoreOptions) (chunkstore.StoreInfo, error)
	DeleteStore(name string) error
	Create(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Writer, error)
	OpenItem(ctx context.Context, store, name string) (*chunkstore.Reader, error)
	Stat(ctx context.Context, store, name string) (chunkstore.Item, error)
	List(ctx context.Context, store, prefix string) ([]chunkstore.Item, error)
	ListPage(ctx context.Context, store, prefix, after string, limit int) ([]chunkstore.Item, bool, error)
	Delete(ctx context.Context, store, name string) error
	CopyItem(ctx context.Context, src, name, dst, dstName string, replace bool) (chunkstore.Item, error)
}

// Keys finds an access key with its secret (an *appliance.S3Keys).
type Keys interface {
	S3Secret(access string) (appliance.S3Key, error)
}

// Users finds an appliance user (an *appliance.State).
type Users interface {
	User(name string) (appliance.User, error)
}

// Options configure a Server.
type Options struct {
	// Addr is the listen address; default "0.0.0.0:9000".
	Addr string
	// Certificate serves TLS; nil serves plain HTTP.
	Certificate *tls.Certificate
	// Region is the region clients sign for and GetBucketLocation
	// answers; default "us-east-1".
	Region string
	// Domain is the dedup domain of new buckets; default
	// chunkstore.DefaultDomain.
	Domain string
	// Policy decides who may do what (the appliance's one policy).
	Policy appliance.Policy
	// ReadHeaderTimeout bounds a client's time to send its headers
	// (before authentication); default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections; default 2m.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers; default 64 KiB.
	MaxHeaderBytes int
	// MaxConns bounds open connections; default 1024.
	MaxConns int
	// Failures counts failed commits; may be nil.
	Failures *dedup.CommitFailures
	// Logger logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock signatures are checked against; default time.Now.
	Now func() time.Time
}

// DefaultOptions are the defaults listed in Options.
func DefaultOptions() Options {
	return Options{Addr: "0.0.0.0:9000", Region: "us-east-1", Domain: chunkstore.DefaultDomain,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		MaxConns: 1024, Logger: slog.Default(), Now: time.Now}
}

// Server is the S3 front end: buckets are stores named BucketPrefix+NAME,
// objects are their items.
type Server struct {
	eng   Engine
	keys  Keys
	users Users
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	http  *http.Server
	mu    sync.Mutex
	ln    net.Listener
}

// New makes a server; Start listens.
func New(eng Engine, keys Keys, users Users, opts Options) *Server {
	d := DefaultOptions()
	if opts.Addr == "" {
		opts.Addr = d.Addr
	}
	if opts.Region == "" {
		opts.Region = d.Region
	}
	if opts.Domain == "" {
		opts.Domain = d.Domain
	}
	if opts.ReadHeaderTimeout == 0 {
		opts.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = d.IdleTimeout
	}
	if opts.MaxHeaderBytes == 0 {
		opts.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = d.MaxConns
	}
	if opts.Logger == nil {
		opts.Logger = d.Logger
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	s := &Server{eng: eng, keys: keys, users: users, opts: opts, now: opts.Now, log: opts.Logger}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: opts.ReadHeaderTimeout, IdleTimeout: opts.IdleTimeout,
		MaxHeaderBytes: opts.MaxHeaderBytes, ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)}
	return s
}

// Start listens and serves in the background.
func (s *Server) Start(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("s3: already started")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("s3: listen %s: %w", s.opts.Addr, err)
	}
	ln = &limitListener{Listener: ln, sem: make(chan struct{}, s.opts.MaxConns)}
	if s.opts.Certificate != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*s.opts.Certificate}, MinVersion: tls.VersionTLS12})
	}
	s.ln = ln
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("s3: serve", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops listening and waits for requests in flight (until ctx
// ends, then closes their connections).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.http.Close())
	}
	return err
}

// request is one authenticated request.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	cred   credential
	user   appliance.User
	bucket string
	key    string
	id     string
}

// ServeHTTP authenticates a request and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := make([]byte, 8)
	rand.Read(id)
	q := &request{w: w, r: r, id: strings.ToUpper(hex.EncodeToString(id))}
	w.Header().Set("x-amz-request-id", q.id)
	w.Header().Set("Server", "Backstop")
	path := strings.TrimPrefix(r.URL.Path, "/")
	q.bucket, q.key, _ = strings.Cut(path, "/")
	cred, err := s.verify(r)
	if err == nil {
		q.cred = cred
		q.user, err = s.users.User(cred.user)
		// A user deleted and made again under the same name does not
		// inherit the old account's keys.
		if err != nil || q.user.Created.After(cred.created) {
			err = errUnknownKey
		}
	}
	if err == nil {
		err = s.dispatch(q)
	}
	if err != nil {
		s.fail(q, err)
	}
}

// fail answers err; a request whose body was not read closes its
// connection.
func (s *Server) fail(q *request, err error) {
	e := toAPI(err, q.r.URL.Path)
	e.RequestID = q.id
	if e.status >= 500 && e.status != http.StatusNotImplemented {
		s.log.Error("s3: request", "method", q.r.Method, "path", q.r.URL.Path, "user", q.user.Name, "err", err)
	} else {
		s.log.Debug("s3: request refused", "method", q.r.Method, "path", q.r.URL.Path, "code", e.Code, "err", err)
	}
	if q.r.Method == http.MethodHead || e.status == http.StatusNotModified {
		q.w.WriteHeader(e.status)
		return
	}
	writeXML(q.w, e.status, e)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

// readXML decodes a small XML request body (at most 1 MiB).
func readXML(q *request, v any) error {
	p, err := newPayload(q.r, q.cred)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(p, 1<<20+1))
	if err != nil {
		return err
	}
	if len(b) > 1<<20 {
		return fmt.Errorf("%w: body over 1 MiB", errXML)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", errXML, err)
	}
	return nil
}

// dispatch routes an authenticated request by method, path and query.
func (s *Server) dispatch(q *request) error {
	v := q.r.URL.Query()
	v.Del("x-id") // the SDKs' operation name, no subresource
	m := q.r.Method
	switch {
	case q.bucket == "":
		if m == http.MethodGet {
			return s.listBuckets(q)
		}
	case q.key == "":
		return s.bucketRequest(q, m, v)
	default:
		return s.objectRequest(q, m, v)
	}
	return errNotImplemented
}

// limitListener accepts at most cap(sem) connections at once.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	c.release()
	return c.Conn.Close()
}

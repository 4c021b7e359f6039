package replication

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/netsvc"
)

// State is what the service needs of the appliance: its events and its
// blackout windows.
type State interface {
	Record(e appliance.Event) appliance.Event
	Settings() appliance.Settings
}

// Options configure a Service. Start from DefaultOptions.
type Options struct {
	// Addr is host:port where sources connect (default 0.0.0.0:9389);
	// port 0 picks one.
	Addr string
	// ManualLoops leaves the mappings' loops to StartLoops instead of
	// Start (tests that drive runs themselves).
	ManualLoops bool
	// Dir keeps config.json and the journals (DATA/replication).
	Dir string
	// Certificate identifies this appliance to the others, both ways.
	Certificate tls.Certificate
	State       State
	// Poll is how often a continuous mapping looks for new items.
	Poll time.Duration
	// RetryMin and RetryMax bound the back-off after a failed run.
	RetryMin, RetryMax time.Duration
	// DialTimeout bounds connecting to a target.
	DialTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time

	// Limits bound what a source's connection may cost this appliance,
	// before and after its certificate is known (DefaultLimits).
	Limits Limits
	// Failures counts items a source sent that this target failed to
	// commit (nil: none counted); backstop serve passes the counter the
	// web metrics read.
	Failures CommitFailures
	// Tasks records passes in the appliance's task log (nil: none
	// recorded); backstop serve passes the core's.
	Tasks Tasks
}

// CommitFailures counts failed commits by protocol and reason
// (dedup.CommitFailures is one).
type CommitFailures interface {
	CommitFailed(protocol, reason string)
}

// DefaultOptions are what backstop serve uses.
func DefaultOptions() Options {
	return Options{Addr: "0.0.0.0:9389", Poll: 2 * time.Second, RetryMin: time.Second, RetryMax: time.Minute, DialTimeout: 15 * time.Second,
		Limits: DefaultLimits(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
}

// Service is both sides of replication on one appliance: the mappings it
// sends (source) and the replicas it receives (target).
type Service struct {
	eng       *chunkstore.Engine
	opts      Options
	log       *slog.Logger
	serverTLS *tls.Config
	self      string // our certificate's fingerprint
	limit     *bucket
	gate      *gate // admits sources' connections (admit.go)

	mu      sync.Mutex
	cfg     config
	dirty   bool // replica figures changed since the last save
	digests map[digestKey]string
	runs    map[string]*run
	// sessions: the source session writing each replica store.
	sessions map[string]*session
	// startedFlag: StartLoops ran, new mappings start their loop at once.
	startedFlag bool

	// accept accepts the sources' connections and tracks their sessions.
	accept *netsvc.Server
	wg     sync.WaitGroup // the mappings' loops
	ctx    context.Context
	cancel context.CancelFunc
}

// New loads the service's state from opts.Dir.
func New(eng *chunkstore.Engine, opts Options) (*Service, error) {
	def := DefaultOptions()
	if opts.Addr == "" {
		opts.Addr = def.Addr
	}
	if opts.Poll <= 0 {
		opts.Poll = def.Poll
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = def.RetryMin
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = def.RetryMax
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = def.DialTimeout
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.State == nil {
		return nil, fmt.Errorf("%w: no appliance state", ErrInvalid)
	}
	if len(opts.Certificate.Certificate) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "journal"), 0o700); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	s := &Service{eng: eng, opts: opts, log: opts.Logger, digests: map[digestKey]string{}, runs: map[string]*run{}, sessions: map[string]*session{},
		self: Fingerprint(opts.Certificate.Certificate[0])}
	if err := loadJSON(filepath.Join(opts.Dir, "config.json"), &s.cfg); err != nil {
		return nil, err
	}
	s.limit = newBucket(s.cfg.Settings.LimitBytesPerSec, opts.Now)
	s.gate = newGate()
	// A source is checked during the handshake: an unpaired certificate
	// fails it, so not one frame of its is read.
	s.serverTLS = &tls.Config{Certificates: []tls.Certificate{opts.Certificate}, MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert, VerifyConnection: s.verifySource}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Peers are a few appliances, each with a connection per mapping
	// running (a refused one retries), so one address may hold them all.
	s.accept = netsvc.New(s.serveConn, netsvc.Options{Addr: opts.Addr, Logger: opts.Logger,
		MaxConns: opts.Limits.MaxConns, MaxConnsPerAddr: opts.Limits.MaxConns})
	s.gate.overCap = func() int64 { r := s.accept.Refused(); return int64(r.Total + r.PerAddr) }
	for _, m := range s.cfg.Mappings {
		s.runs[m.Name] = newRun()
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.opts.Now() }

// Fingerprint is the SHA-256 of a DER certificate, in hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Identity is what another appliance needs to pair with this one.
type Identity struct {
	Fingerprint string `json:"fingerprint"`
}

// Identity returns this appliance's certificate fingerprint.
func (s *Service) Identity() Identity { return Identity{Fingerprint: s.self} }

// Start listens on Options.Addr for sources and, unless
// Options.ManualLoops, starts the mappings' loops; both run until
// Shutdown. A listen error is returned as "replication: listen ADDR: ...".
func (s *Service) Start(ctx context.Context) error {
	if err := s.accept.Start(ctx); err != nil {
		return fmt.Errorf("replication: listen %s: %w", s.opts.Addr, err)
	}
	if !s.opts.ManualLoops {
		s.StartLoops()
	}
	return nil
}

// Addr is the address sources connect to, or "" before Start.
func (s *Service) Addr() string { return s.accept.Addr() }

// StartLoops runs the mappings' loops until Shutdown (Start does, unless
// Options.ManualLoops).
func (s *Service) StartLoops() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startedFlag = true
	for _, m := range s.cfg.Mappings {
		s.startLoop(m.Name)
	}
}

func (s *Service) startLoop(name string) {
	r := s.runs[name]
	if r.looping || s.ctx.Err() != nil {
		return
	}
	r.looping = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.loop(s.ctx, name, r)
	}()
}

// Shutdown stops accepting, ends the sessions (their imports abort
// before the engine closes) and the mappings' loops, waits for them all,
// and saves the figures. When ctx expires first it returns ctx.Err()
// and saves nothing: a goroutine may still change them.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	if err := s.accept.Shutdown(ctx); err != nil {
		return err
	}
	loops := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(loops)
	}()
	select {
	case <-loops:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

func (s *Service) saveLocked() error {
	s.dirty = false
	return saveJSON(filepath.Join(s.opts.Dir, "config.json"), s.cfg)
}

// clientTLS is the source's side: our certificate, and the target's
// checked against the mapping's fingerprint (self-signed certificates are
// the rule, so no CA chain is asked for).
func (s *Service) clientTLS(want string) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.opts.Certificate}, MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true, // the fingerprint below is the check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("replication: the target sent no certificate")
			}
			if got := Fingerprint(raw[0]); got != want {
				return fmt.Errorf("replication: the target's certificate is %s, the mapping expects %s", got, want)
			}
			return nil
		}}
}

func (s *Service) trusted(fp string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.cfg.Sources, func(src Source) bool { return src.Fingerprint == fp })
}

// Settings returns the appliance-wide settings.
func (s *Service) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Settings
}

// SetSettings changes them.
func (s *Service) SetSettings(st Settings) error {
	if st.LimitBytesPerSec < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Settings = st
	s.limit.setRate(st.LimitBytesPerSec)
	return s.saveLocked()
}

// Sources lists the trusted sources.
func (s *Service) Sources() []Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Source{}, s.cfg.Sources...)
}

// AddSource trusts the appliance whose certificate has fingerprint fp.
func (s *Service) AddSource(name, fp string) (Source, error) {
	if !nameRE.MatchString(name) {
		return Source{}, fmt.Errorf("%w: source name %q", ErrInvalid, name)
	}
	fp, err := NormalizeFingerprint(fp)
	if err != nil {
		return Source{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range s.cfg.Sources {
		if src.Name == name || src.Fingerprint == fp {
			return Source{}, fmt.Errorf("%w: source %q (%s)", ErrExists, src.Name, short(src.Fingerprint))
		}
	}
	src := Source{Name: name, Fingerprint: fp, Added: s.now().UTC()}
	s.cfg.Sources = append(s.cfg.Sources, src)
	return src, s.saveLocked()
}

// RemoveSource stops trusting a source; its replicas stay as they are.
func (s *Service) RemoveSource(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.cfg.Sources, func(src Source) bool { return src.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: source %q", ErrNotFound, name)
	}
	s.cfg.Sources = slices.Delete(s.cfg.Sources, i, i+1)
	return s.saveLocked()
}

// Replicas lists the stores other appliances replicate into this one.
func (s *Service) Replicas() []Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Replica{}, s.cfg.Replicas...)
}

// Promote makes a replica store writable (failover): replication into it
// is refused from then on.
func (s *Service) Promote(store string) (Replica, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.cfg.Replicas, func(r Replica) bool { return r.Store == store })
	if i < 0 {
		return Replica{}, fmt.Errorf("%w: replica %q", ErrNotFound, store)
	}
	r := &s.cfg.Replicas[i]
	if r.Promoted {
		return *r, fmt.Errorf("%w: replica %q is already promoted", ErrState, store)
	}
	if _, err := s.eng.SetReplica(store, false); err != nil {
		return Replica{}, err
	}
	r.Promoted = true
	s.opts.State.Record(appliance.Event{Kind: appliance.KindSystem, Level: appliance.LevelWarning, Action: "replication.promote",
		Object: store, Message: "replica store " + store + " promoted: it is writable and no longer receives replication"})
	return *r, s.saveLocked()
}

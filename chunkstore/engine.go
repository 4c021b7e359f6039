package chunkstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/chunkstore/volume"
	"github.com/backstop-appliance/backstop/dedup"
)

// Errors callers can test for with errors.Is. Those that cross to other
// processes (Catalyst clients) are package dedup's, so that a client tests
// them without linking the engine.
var (
	ErrNotFound  = dedup.ErrNotFound
	ErrExists    = dedup.ErrExists
	ErrBusy      = dedup.ErrBusy
	ErrLocked    = errors.New("chunkstore: data directory in use")
	ErrFull      = dedup.ErrFull
	ErrCorrupt   = dedup.ErrCorrupt
	ErrClosed    = dedup.ErrClosed
	ErrInvalid   = dedup.ErrInvalid
	ErrNotEmpty  = dedup.ErrNotEmpty
	ErrNoDataDir = errors.New("chunkstore: no data directory")
)

// DefaultDomain and DefaultStore are created when a data directory is new.
const (
	DefaultDomain = "default"
	DefaultStore  = "default"
)

// Options configure an Engine. Start from DefaultOptions.
type Options struct {
	// Create makes the data directory if it does not exist; otherwise a
	// missing directory, or one without the index a data directory has
	// (so that a directory of documents is never turned into one), is
	// ErrNoDataDir.
	Create bool
	// VolumeSize is the largest a volume file grows (1 TiB).
	VolumeSize int64
	// Capacity bounds all volumes together; the file system bounds them in
	// any case (volume.Options.Capacity). 0 means the file system alone.
	Capacity int64
	// Reserve is disk space kept free for the index (see volume.Options).
	Reserve int64
	// ContainerSize is the body size at which a container is sealed.
	ContainerSize int
	// Compression is "auto" (the default: zstd while a stream waits for
	// its source, s2 while it is CPU-bound; see codecpolicy.go), "s2",
	// "zstd" or "none".
	Compression string
	// Chunker is used for domains created from now on.
	Chunker chunker.Params
	// Workers hash and compress chunks in parallel, per stream.
	Workers int
	// CacheContainers is how many containers' fingerprints the locality
	// cache holds.
	CacheContainers int
	// Containers, when set, opens where the engine keeps its containers
	// (given the data directory; see ContainerStore); VolumeSize,
	// Capacity and Reserve then do not apply. nil: volume files under
	// the data directory's volumes/.
	Containers func(dir string) (ContainerStore, error)
	Logger     *slog.Logger
	Now        func() time.Time
}

// DefaultOptions are the settings backstop ships with.
func DefaultOptions() Options {
	return Options{
		Create:          true,
		VolumeSize:      volume.DefaultMaxSize,
		ContainerSize:   4 << 20,
		Compression:     "auto",
		Chunker:         chunker.DefaultParams(),
		Workers:         runtime.GOMAXPROCS(0),
		CacheContainers: 1024,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:             time.Now,
	}
}

// Engine is an open data directory: the dedup pool behind every store.
type Engine struct {
	dir   string
	opts  Options
	log   *slog.Logger
	codec container.Codec
	// auto: the adaptive policy picks each stream's codec; autoZstd is
	// its last verdict.
	auto       bool
	autoZstd   atomic.Bool
	autoWindow int64 // container.AutoWindow; tests shorten it
	lock       *os.File
	idx        *index.DB
	vols       ContainerStore
	dec        *container.Decompressor
	cache      *locality
	inflight   *inflight
	keys       *keyring

	// commitMu serialises changes to the catalog (items, stores, domains).
	commitMu sync.Mutex

	mu         sync.RWMutex
	closed     bool
	domains    map[uint32]*domain
	stores     map[string]index.Store
	containers map[uint64]index.ContainerRec
	usage      map[uint32]*storeUsage
	writing    map[string]bool
	writers    map[*Writer]struct{}
	pins       map[uint64]int  // item id: readers open
	dropLater  map[uint64]bool // item id: recipe to drop at the last unpin
	streams    sync.WaitGroup
	fence      hkFence
	// maint is held by housekeeping or verify: one at a time.
	maint sync.Mutex
	// appendMu is held shared from a container's append to its index
	// commit; housekeeping holds it to cut a volume's tail safely.
	appendMu sync.RWMutex
	stats    counters
	access   accessTable
}

type domain struct {
	dedup.Domain
}

type storeUsage struct {
	items, logical, newBytes int64
}

// Open opens the data directory dir, recovering from any crash.
func Open(ctx context.Context, dir string, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = DefaultOptions().Logger
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.ContainerSize <= 0 || opts.ContainerSize > container.MaxBody/2 {
		return nil, fmt.Errorf("%w: container size %d", ErrInvalid, opts.ContainerSize)
	}
	auto := opts.Compression == "auto"
	codec := container.S2 // auto's codec where no stream measures (imports)
	if !auto {
		var err error
		if codec, err = container.ParseCodec(opts.Compression); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if err := opts.Chunker.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := prepareDir(dir, opts.Create); err != nil {
		return nil, err
	}
	e := &Engine{
		dir: dir, opts: opts, log: opts.Logger, codec: codec, auto: auto, autoWindow: container.AutoWindow,
		domains:    map[uint32]*domain{},
		stores:     map[string]index.Store{},
		containers: map[uint64]index.ContainerRec{},
		usage:      map[uint32]*storeUsage{},
		writing:    map[string]bool{},
		writers:    map[*Writer]struct{}{},
		pins:       map[uint64]int{},
		dropLater:  map[uint64]bool{},
		keys:       newKeyring(),
	}
	if err := e.open(ctx); err != nil {
		_ = e.release() // the open error is the one to report
		return nil, err
	}
	return e, nil
}

func prepareDir(dir string, create bool) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && create:
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("chunkstore: create data directory: %w", err)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist", ErrNoDataDir, dir)
	case err != nil:
		return fmt.Errorf("chunkstore: %w", err)
	case !st.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrNoDataDir, dir)
	}
	if !create {
		if st, err := os.Stat(filepath.Join(dir, "index")); err != nil || !st.IsDir() {
			return fmt.Errorf("%w: %s has no index", ErrNoDataDir, dir)
		}
	}
	probe := filepath.Join(dir, ".write-test")
	f, err := os.Create(probe)
	if err != nil {
		return fmt.Errorf("chunkstore: data directory %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(probe)
}

func (e *Engine) open(ctx context.Context) error {
	var err error
	if e.lock, err = lockDir(e.dir); err != nil {
		return err
	}
	if e.idx, err = index.Open(filepath.Join(e.dir, "index"), e.log); err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	if e.vols, err = e.openContainers(); err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	if e.dec, err = container.NewDecompressor(); err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	e.cache = newLocality(e.opts.CacheContainers)
	e.inflight = newInflight()
	n, err := e.idx.LoadFilter()
	if err != nil {
		return fmt.Errorf("chunkstore: load filter: %w", err)
	}
	e.log.Debug("filter loaded", "chunks", n, "bytes", e.idx.Filter.Bytes())
	if err := e.loadCatalog(); err != nil {
		return err
	}
	if err := e.recover(ctx); err != nil {
		return err
	}
	return e.buildRefs()
}

func (e *Engine) loadCatalog() error {
	doms, err := e.idx.Domains()
	if err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	for _, d := range doms {
		e.domains[d.ID] = &domain{d}
		e.loadKey(d)
	}
	stores, err := e.idx.Stores()
	if err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	for _, s := range stores {
		e.stores[s.Name] = s
		e.usage[s.ID] = &storeUsage{}
	}
	conts, err := e.idx.Containers()
	if err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	for _, c := range conts {
		e.containers[c.ID] = c
	}
	if err := e.loadAccess(); err != nil {
		return err
	}
	items, err := e.idx.Items(0)
	if err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	for _, it := range items {
		if u := e.usage[it.Store]; u != nil {
			u.items++
			u.logical += it.Size
			u.newBytes += it.NewBytes
		}
	}
	if len(e.domains) == 0 {
		if _, err := e.CreateDomain(DefaultDomain, e.opts.Chunker); err != nil {
			return err
		}
	}
	if len(e.stores) == 0 {
		if _, err := e.CreateStore(DefaultStore, DefaultDomain); err != nil {
			return err
		}
	}
	return nil
}

// Close waits for no stream, flushes nothing (every acknowledged write is
// already durable) and releases the data directory. Streams still open are
// aborted by their owners; Close refuses new ones at once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.streams.Wait()
	if err := e.flushAccess(); err != nil {
		e.log.Warn("close: last-read records not saved", "err", err)
	}
	return e.release()
}

func (e *Engine) release() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if e.dec != nil {
		e.dec.Close()
	}
	if e.vols != nil {
		keep(e.vols.Close())
	}
	if e.idx != nil {
		keep(e.idx.Close())
	}
	if e.lock != nil {
		keep(e.lock.Close())
	}
	return first
}

// Dir is the data directory.
func (e *Engine) Dir() string { return e.dir }

var storeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether name is a valid store or domain name: a letter
// or digit, then up to 63 letters, digits, '.', '_' or '-'.
func ValidName(name string) bool { return storeName.MatchString(name) }

// CreateDomain makes a new plain dedup domain with a fresh random key
// (CreateDomainWith for an encrypted one).
func (e *Engine) CreateDomain(name string, params chunker.Params) (dedup.Domain, error) {
	return e.createDomain(name, params, nil)
}

func (e *Engine) createDomain(name string, params chunker.Params, seal *sealing) (dedup.Domain, error) {
	if !storeName.MatchString(name) {
		return dedup.Domain{}, fmt.Errorf("%w: domain name %q (letters, digits, '.', '_', '-'; at most 64)", ErrInvalid, name)
	}
	if err := params.Validate(); err != nil {
		return dedup.Domain{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	var id uint32
	for _, d := range e.domains {
		if d.Name == name {
			return dedup.Domain{}, fmt.Errorf("%w: domain %q", ErrExists, name)
		}
		id = max(id, d.ID)
	}
	d := dedup.Domain{ID: id + 1, Name: name, Key: make([]byte, 32), Chunker: params, Created: e.opts.Now().UTC()}
	if _, err := rand.Read(d.Key); err != nil {
		return dedup.Domain{}, fmt.Errorf("chunkstore: domain key: %w", err)
	}
	if seal != nil {
		// The key file first: a domain record without its key would be
		// a domain nobody can use.
		d.Encryption = seal.enc
		if err := writeKeyFile(e.keyPath(d), seal.key); err != nil {
			return dedup.Domain{}, err
		}
	}
	b := e.idx.NewBatch()
	b.PutDomain(d)
	if err := b.Commit(); err != nil {
		if seal != nil {
			os.Remove(e.keyPath(d))
		}
		return dedup.Domain{}, e.translate(err)
	}
	e.domains[d.ID] = &domain{d}
	if seal != nil {
		e.keys.mu.Lock()
		e.keys.keks[d.ID] = seal.kek
		e.keys.mu.Unlock()
	}
	return d, nil
}

func (e *Engine) domainByName(name string) (*domain, error) {
	for _, d := range e.domains {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: domain %q", ErrNotFound, name)
}

// StoreInfo describes a store (dedup.StoreInfo).
type StoreInfo = dedup.StoreInfo

// CreateStore makes a store in the named domain.
func (e *Engine) CreateStore(name, domainName string) (StoreInfo, error) {
	if !storeName.MatchString(name) {
		return StoreInfo{}, fmt.Errorf("%w: store name %q (letters, digits, '.', '_', '-'; at most 64)", ErrInvalid, name)
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.stores[name]; ok {
		return StoreInfo{}, fmt.Errorf("%w: store %q", ErrExists, name)
	}
	d, err := e.domainByName(domainName)
	if err != nil {
		return StoreInfo{}, err
	}
	var id uint32
	for _, s := range e.stores {
		id = max(id, s.ID)
	}
	s := index.Store{ID: id + 1, Name: name, Domain: d.ID, Created: e.opts.Now().UTC()}
	b := e.idx.NewBatch()
	b.PutStore(s)
	if err := b.Commit(); err != nil {
		return StoreInfo{}, e.translate(err)
	}
	e.stores[name] = s
	e.usage[s.ID] = &storeUsage{}
	return e.storeInfo(s), nil
}

// DeleteStore removes an empty store.
func (e *Engine) DeleteStore(name string) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stores[name]
	if !ok {
		return fmt.Errorf("%w: store %q", ErrNotFound, name)
	}
	if u := e.usage[s.ID]; u.items > 0 {
		return fmt.Errorf("%w: %q holds %d items", ErrNotEmpty, name, u.items)
	}
	for k := range e.writing {
		if len(k) > 4 && k[:4] == string(storeKey(s.ID)) {
			return fmt.Errorf("%w: %q has an item being written", ErrNotEmpty, name)
		}
	}
	// Store ids are reused: the next store must not inherit these.
	if err := e.idx.DropStoreRefs(s.ID); err != nil {
		return e.translate(err)
	}
	b := e.idx.NewBatch()
	b.DeleteStore(s.ID)
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	delete(e.stores, name)
	delete(e.usage, s.ID)
	return nil
}

// Stores lists the stores by name.
func (e *Engine) Stores() []StoreInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]StoreInfo, 0, len(e.stores))
	for _, s := range e.stores {
		out = append(out, e.storeInfo(s))
	}
	sortBy(out, func(s StoreInfo) string { return s.Name })
	return out
}

func (e *Engine) store(name string) (index.Store, *domain, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return index.Store{}, nil, ErrClosed
	}
	s, ok := e.stores[name]
	if !ok {
		return s, nil, fmt.Errorf("%w: store %q", ErrNotFound, name)
	}
	return s, e.domains[s.Domain], nil
}

func storeKey(id uint32) []byte {
	return []byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
}

// translate maps lower layers' errors to this package's.
func (e *Engine) translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, index.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, volume.ErrFull), errors.Is(err, dedup.ErrFull), errors.Is(err, index.ErrNoSpace):
		return fmt.Errorf("%w: %v", ErrFull, err)
	case errors.Is(err, container.ErrCorrupt), errors.Is(err, index.ErrCorrupt):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return fmt.Errorf("chunkstore: %w", err)
}

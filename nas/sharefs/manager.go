package sharefs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/nas"
)

// ManagerEngine is what the share manager needs of a *chunkstore.Engine.
type ManagerEngine interface {
	Engine
	Stores() []chunkstore.StoreInfo
	CreateStore(name, domain string) (chunkstore.StoreInfo, error)
	DeleteStore(name string) error
	CreateDomain(name string, params chunker.Params) (dedup.Domain, error)
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Chunker is used for the dedup domains shares create.
	Chunker chunker.Params
	Now     func() time.Time
	Logger  *slog.Logger
	// Policy decides a user's right on a share from what the share's
	// access list gives them (appliance.Policy.ShareAccess, which caps it
	// by the user's role: backstop serve wires it); nil: the list alone.
	Policy AccessPolicy
}

// AccessPolicy decides a user's right on a share from what its access
// list gives them (listed: their entry, else the default access).
type AccessPolicy interface {
	ShareAccess(user string, listed Access) Access
}

// DefaultManagerOptions are the settings backstop serve uses.
func DefaultManagerOptions() ManagerOptions {
	return ManagerOptions{Chunker: chunkstore.DefaultOptions().Chunker, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

const (
	sharesFile    = "shares.json"
	sharesVersion = 1
)

type sharesDoc struct {
	Version int     `json:"version"`
	Shares  []Share `json:"shares"`
}

// Manager keeps the shares of an appliance: their configuration in
// DIR/nas/shares.json and an open filesystem for each. It is the
// nas.ShareSource of the SMB server. Safe for concurrent use.
type Manager struct {
	eng  ManagerEngine
	dir  string // DIR/nas
	opts ManagerOptions

	mu     sync.RWMutex
	shares map[string]*mshare // by name
	closed bool
}

type mshare struct {
	cfg Share
	fs  *FS   // nil when degraded
	err error // why the share could not open (degraded); nil when it is online
}

var _ nas.ShareSource = (*Manager)(nil)

// OpenManager opens the shares of the data directory dir, creating the
// share "backup" when there is no shares.json yet. A share that cannot
// open (damaged metadata, its store unusable) is kept as degraded with
// its error, never served, and never keeps the other shares or the
// appliance from starting; see Degraded. Only a shares.json that cannot
// be read fails OpenManager.
func OpenManager(ctx context.Context, eng ManagerEngine, dir string, opts ManagerOptions) (*Manager, error) {
	def := DefaultManagerOptions()
	if opts.Now == nil {
		opts.Now = def.Now
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.Chunker == (chunker.Params{}) {
		opts.Chunker = def.Chunker
	}
	m := &Manager{eng: eng, dir: filepath.Join(dir, "nas"), opts: opts, shares: map[string]*mshare{}}
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return nil, fmt.Errorf("sharefs: %w", err)
	}
	doc, found, err := m.load()
	if err != nil {
		return nil, err
	}
	for _, s := range doc.Shares {
		fs, err := m.openShare(ctx, s, true)
		if err != nil {
			if ctx.Err() != nil {
				m.Close()
				return nil, fmt.Errorf("sharefs: share %s: %w", s.Name, err)
			}
			err = fmt.Errorf("sharefs: share %s: %w", s.Name, err)
			m.opts.Logger.Error("share degraded: it cannot open and is not served; the others are", "share", s.Name, "err", err)
			m.shares[s.Name] = &mshare{cfg: s, err: err}
			continue
		}
		m.shares[s.Name] = &mshare{cfg: s, fs: fs}
	}
	if !found {
		def := Share{Name: DefaultShare, Comment: "Backup share", DefaultAccess: AccessReadWrite}
		if _, err := m.Create(ctx, def); err != nil {
			m.Close()
			return nil, fmt.Errorf("sharefs: create the default share: %w", err)
		}
	}
	return m, nil
}

// load reads shares.json; a file that does not parse is an error, never
// a silent reset.
func (m *Manager) load() (sharesDoc, bool, error) {
	path := filepath.Join(m.dir, sharesFile)
	var doc sharesDoc
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return doc, false, nil
	}
	if err != nil {
		return doc, false, fmt.Errorf("sharefs: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return doc, false, fmt.Errorf("sharefs: %s does not parse (fix or restore it; it is never reset): %w", path, err)
	}
	if doc.Version != sharesVersion {
		return doc, false, fmt.Errorf("sharefs: %s has format version %d, this backstop reads %d", path, doc.Version, sharesVersion)
	}
	seen := map[string]bool{}
	for i := range doc.Shares {
		s := &doc.Shares[i]
		if s.Users == nil {
			s.Users = map[string]Access{}
		}
		if err := s.validate(); err != nil {
			return doc, false, fmt.Errorf("sharefs: %s: %w", path, err)
		}
		if seen[strings.ToLower(s.Name)] {
			return doc, false, fmt.Errorf("sharefs: %s: share %q appears twice", path, s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
	}
	return doc, true, nil
}

// saveLocked writes shares.json atomically. m.mu is held.
func (m *Manager) saveLocked(shares map[string]*mshare) error {
	doc := sharesDoc{Version: sharesVersion, Shares: []Share{}}
	for _, name := range sortedKeys(shares) {
		doc.Shares = append(doc.Shares, shares[name].cfg)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("sharefs: encode shares: %w", err)
	}
	if err := writeFileAtomic(m.dir, sharesFile, append(b, '\n')); err != nil {
		return fmt.Errorf("sharefs: save %s: %w", sharesFile, err)
	}
	return nil
}

func sortedKeys(shares map[string]*mshare) []string {
	names := make([]string, 0, len(shares))
	for n := range shares {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// writeFileAtomic writes dir/name through a synced temporary file renamed
// over it, then syncs the directory.
func writeFileAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// shareDir is where a share's metadata lives.
func (m *Manager) shareDir(name string) string { return filepath.Join(m.dir, "shares", name) }

// openShare makes sure the share's store exists and opens its
// filesystem. existing: the share is in shares.json, so a missing store
// (a delete cut short) is made again, empty.
func (m *Manager) openShare(ctx context.Context, s Share, existing bool) (*FS, error) {
	if err := m.ensureStore(ctx, s, existing); err != nil {
		return nil, err
	}
	return Open(ctx, m.eng, Options{Store: s.Store, MetaDir: filepath.Join(m.shareDir(s.Name), "meta"),
		StagingDir: filepath.Join(m.dir, "staging", s.Name), Quota: s.QuotaBytes, Label: s.Name, CaseInsensitive: true,
		Now: m.opts.Now, Logger: m.opts.Logger})
}

func (m *Manager) ensureStore(ctx context.Context, s Share, existing bool) error {
	if s.Store != StorePrefix+s.Name {
		return fmt.Errorf("%w: share %s names store %s, not its own %s%s", ErrInvalidShare, s.Name, s.Store, StorePrefix, s.Name)
	}
	for _, st := range m.eng.Stores() {
		if st.Name != s.Store {
			continue
		}
		if st.Domain != s.Domain {
			return fmt.Errorf("%w: store %s is in domain %s, not %s", ErrShareExists, s.Store, st.Domain, s.Domain)
		}
		if existing {
			return nil
		}
		// A store of that name from a create cut short is adopted only
		// when it holds nothing, or its share metadata is there.
		items, err := m.eng.List(ctx, s.Store, "")
		if err != nil {
			return err
		}
		if _, serr := os.Stat(filepath.Join(m.shareDir(s.Name), "meta")); len(items) > 0 && serr != nil {
			return fmt.Errorf("%w: store %s exists and is not a share's", ErrShareExists, s.Store)
		}
		return nil
	}
	if existing {
		m.opts.Logger.Warn("share store missing, made again empty", "share", s.Name, "store", s.Store)
		os.RemoveAll(m.shareDir(s.Name))
	}
	_, err := m.eng.CreateStore(s.Store, s.Domain)
	if errors.Is(err, chunkstore.ErrNotFound) {
		if _, err = m.eng.CreateDomain(s.Domain, m.opts.Chunker); err != nil && !errors.Is(err, chunkstore.ErrExists) {
			return fmt.Errorf("create domain %s: %w", s.Domain, err)
		}
		_, err = m.eng.CreateStore(s.Store, s.Domain)
	}
	if err != nil {
		return fmt.Errorf("create store %s: %w", s.Store, err)
	}
	return nil
}

// Close closes every share's filesystem.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	var first error
	for _, s := range m.shares {
		if s.fs == nil {
			continue
		}
		if err := s.fs.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Degraded returns the shares that could not open, by name, with why.
// They are listed by List and Get (Info.Degraded), refused at tree
// connect, and can be updated or deleted; a restart tries them again.
func (m *Manager) Degraded() map[string]error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]error{}
	for n, s := range m.shares {
		if s.err != nil {
			out[n] = s.err
		}
	}
	return out
}

// find returns the share named name (case-insensitive, as SMB names
// are). m.mu is held.
func (m *Manager) find(name string) (*mshare, error) {
	if s, ok := m.shares[name]; ok {
		return s, nil
	}
	for n, s := range m.shares {
		if strings.EqualFold(n, name) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", nas.ErrNoShare, name)
}

// info describes s with its figures from the engine's stores (nil: ask
// the engine).
func (m *Manager) info(s *mshare, stores []chunkstore.StoreStats) Info {
	if stores == nil {
		stores = m.eng.Stats().Stores
	}
	in := Info{Share: s.cfg.clone(), Figures: Figures{DedupRatio: 1}}
	if s.err != nil {
		in.Degraded = s.err.Error()
	} else {
		in.Files, in.LogicalBytes = s.fs.Usage()
	}
	for _, st := range stores {
		if st.Name == s.cfg.Store {
			in.StoredBytes = st.StoredBytes
			if st.StoredBytes > 0 {
				in.DedupRatio = float64(st.LogicalBytes) / float64(st.StoredBytes)
			}
		}
	}
	return in
}

// List returns every share with its figures, by name.
func (m *Manager) List(ctx context.Context) []Info {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Info, 0, len(m.shares))
	stores := m.eng.Stats().Stores
	for _, n := range sortedKeys(m.shares) {
		out = append(out, m.info(m.shares[n], stores))
	}
	return out
}

// Get returns one share with its figures.
func (m *Manager) Get(ctx context.Context, name string) (Info, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, err := m.find(name)
	if err != nil {
		return Info{}, err
	}
	return m.info(s, nil), nil
}

// Create makes a new share: its store (and domain when new), its
// filesystem, and its entry in shares.json.
func (m *Manager) Create(ctx context.Context, s Share) (Info, error) {
	if s.Domain == "" {
		s.Domain = chunkstore.DefaultDomain
	}
	if s.DefaultAccess == "" {
		s.DefaultAccess = AccessReadWrite
	}
	if s.Users == nil {
		s.Users = map[string]Access{}
	}
	s.Store = StorePrefix + s.Name
	s.Created = m.opts.Now().UTC().Truncate(time.Second)
	if err := s.validate(); err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, ErrClosed
	}
	if _, err := m.find(s.Name); err == nil {
		return Info{}, fmt.Errorf("%w: %q", ErrShareExists, s.Name)
	}
	fs, err := m.openShare(ctx, s, false)
	if err != nil {
		return Info{}, err
	}
	ms := &mshare{cfg: s, fs: fs}
	next := mapsWith(m.shares, s.Name, ms)
	if err := m.saveLocked(next); err != nil {
		fs.Close()
		return Info{}, err
	}
	m.shares = next
	return m.info(ms, nil), nil
}

func mapsWith(shares map[string]*mshare, name string, s *mshare) map[string]*mshare {
	out := make(map[string]*mshare, len(shares)+1)
	for k, v := range shares {
		out[k] = v
	}
	if s == nil {
		delete(out, name)
	} else {
		out[name] = s
	}
	return out
}

// Update changes a share's settings (not its name or domain).
func (m *Manager) Update(ctx context.Context, name string, p Patch) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, ErrClosed
	}
	old, err := m.find(name)
	if err != nil {
		return Info{}, err
	}
	cfg := old.cfg.clone()
	p.apply(&cfg)
	if err := cfg.validate(); err != nil {
		return Info{}, err
	}
	ms := &mshare{cfg: cfg, fs: old.fs, err: old.err}
	next := mapsWith(m.shares, cfg.Name, ms)
	if err := m.saveLocked(next); err != nil {
		return Info{}, err
	}
	m.shares = next
	if ms.fs != nil {
		ms.fs.SetQuota(cfg.QuotaBytes)
	}
	return m.info(ms, nil), nil
}

// Delete removes a share and everything in it: its filesystem is closed
// (open files fail from then on), its items, store and metadata deleted.
// A delete cut short by a crash is finished by deleting again.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	s, err := m.find(name)
	if err != nil {
		return err
	}
	if s.fs != nil {
		if err := s.fs.Close(); err != nil {
			m.opts.Logger.Warn("share delete: close", "share", s.cfg.Name, "err", err)
		}
	}
	if s.cfg.Store == StorePrefix+s.cfg.Name {
		if err := m.deleteStore(ctx, s.cfg.Store); err != nil {
			return m.reopenAfter(ctx, s, err)
		}
	} else {
		// A hand-edited shares.json may name another store: never empty
		// a store the share does not own; forget the share only.
		m.opts.Logger.Warn("share delete: its store is not its own, left as it is", "share", s.cfg.Name, "store", s.cfg.Store)
	}
	if err := os.RemoveAll(m.shareDir(s.cfg.Name)); err != nil {
		return m.reopenAfter(ctx, s, err)
	}
	os.RemoveAll(filepath.Join(m.dir, "staging", s.cfg.Name))
	next := mapsWith(m.shares, s.cfg.Name, nil)
	if err := m.saveLocked(next); err != nil {
		return m.reopenAfter(ctx, s, err)
	}
	m.shares = next
	return nil
}

// deleteStore deletes a share's store with every item in it.
func (m *Manager) deleteStore(ctx context.Context, store string) error {
	items, err := m.eng.List(ctx, store, "")
	if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return err
	}
	for _, it := range items {
		if err := m.eng.Delete(ctx, store, it.Name); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
			return err
		}
	}
	if err := m.eng.DeleteStore(store); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return err
	}
	return nil
}

// reopenAfter reopens a share whose delete failed, so it stays usable;
// one that does not reopen stays listed as degraded.
func (m *Manager) reopenAfter(ctx context.Context, s *mshare, cause error) error {
	fs, err := m.openShare(ctx, s.cfg, true)
	if err != nil {
		s.fs, s.err = nil, fmt.Errorf("sharefs: share %s: %w", s.cfg.Name, err)
		return fmt.Errorf("sharefs: delete %s: %w (and reopening it: %v)", s.cfg.Name, cause, err)
	}
	s.fs, s.err = fs, nil
	return fmt.Errorf("sharefs: delete %s: %w", s.cfg.Name, cause)
}

// Share returns the share name as user sees it; a degraded share is
// an error that is vfs.ErrUnavailable (the SMB server refuses the tree
// connect with STATUS_DEVICE_NOT_READY).
func (m *Manager) Share(ctx context.Context, name, user string) (nas.Share, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, err := m.find(name)
	if err != nil {
		return nas.Share{}, err
	}
	if s.err != nil {
		return nas.Share{}, fmt.Errorf("%w: %w", ErrDegraded, s.err)
	}
	return m.nasShare(s, user), nil
}

func (m *Manager) nasShare(s *mshare, user string) nas.Share {
	return nas.Share{Name: s.cfg.Name, Comment: s.cfg.Comment, FS: s.fs, Access: m.access(s.cfg, user).nas(),
		EncryptData: s.cfg.EncryptData, SignRequired: s.cfg.SignRequired}
}

// access is user's right on share s: its access list, as the policy
// decides.
func (m *Manager) access(s Share, user string) Access {
	listed := s.access(user)
	if m.opts.Policy == nil {
		return listed
	}
	return m.opts.Policy.ShareAccess(user, listed)
}

// StoreAccess tells whether a share keeps its files in store and, if so,
// its name and what its access list gives user, before the policy caps
// it by role: the appliance's policy asks it for the other doors to the
// store (Catalyst, the store API).
func (m *Manager) StoreAccess(store, user string) (share string, listed Access, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.shares {
		if s.cfg.Store == store {
			return s.cfg.Name, s.cfg.access(user), true
		}
	}
	return "", AccessNone, false
}

// Shares lists the shares user may see: those it has some access to.
func (m *Manager) Shares(ctx context.Context, user string) ([]nas.Share, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []nas.Share
	for _, n := range sortedKeys(m.shares) {
		if m.shares[n].err != nil {
			continue // degraded: not served
		}
		if sh := m.nasShare(m.shares[n], user); sh.Access != nas.AccessNone {
			out = append(out, sh)
		}
	}
	return out, nil
}

package library

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/changer"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

// Errors callers can test for with errors.Is.
var (
	ErrNotFound = errors.New("library: not found")
	ErrExists   = errors.New("library: already exists")
	ErrInvalid  = errors.New("library: invalid argument")
	ErrNotEmpty = errors.New("library: library still holds cartridges")
	ErrBusy     = errors.New("library: cartridge is in a drive")
	ErrNoSlot   = errors.New("library: no empty slot")
	// ErrDegraded: the library could not open (Manager.Degraded says
	// why); its target is not offered and its cartridges cannot be used
	// until it is repaired and the appliance restarted.
	ErrDegraded = errors.New("library: library degraded")
)

// Engine is what libraries need from the chunkstore engine.
type Engine interface {
	cartridge.Engine
	Delete(ctx context.Context, store, name string) error
	CreateStore(name, domain string) (chunkstore.StoreInfo, error)
	DeleteStore(name string) error
	List(ctx context.Context, store, prefix string) ([]chunkstore.Item, error)
	Stats() chunkstore.Stats
	// Store gives a library store's immutability period.
	Store(name string) (chunkstore.StoreInfo, error)
}

// Options configure a Manager.
type Options struct {
	// Default creates the default library when the directory has no
	// libraries file yet (first start).
	Default bool
	Logger  *slog.Logger
	Now     func() time.Time
	// Failures counts the drives' failed commits (tape.Options.Failures).
	Failures tape.CommitFailures
}

// Manager keeps the libraries of an appliance: their configuration in
// DIR/libraries.json and their changers and drives at run time.
type Manager struct {
	mu   sync.Mutex
	dir  string
	eng  Engine
	log  *slog.Logger
	now  func() time.Time
	fail tape.CommitFailures
	file fileFormat
	libs map[string]*Library
	// broken are the libraries that could not open, with why (degraded):
	// listed, never built, never offered.
	broken map[string]error
}

// Open loads the libraries of dir (created if missing) and builds them.
// A library that cannot open (its entry invalid, its records inconsistent,
// its store missing) is kept as degraded with its error: listed with
// Info.Degraded, its target not offered, and never keeps the others or
// the appliance from starting; see Degraded. Only a libraries.json that
// cannot be read or parsed at all fails Open.
func Open(ctx context.Context, dir string, eng Engine, opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, existed, err := load(dir)
	if err != nil {
		return nil, err
	}
	m := &Manager{dir: dir, eng: eng, log: opts.Logger, now: opts.Now, fail: opts.Failures, file: f, libs: map[string]*Library{},
		broken: map[string]error{}}
	for i := range m.file.Libraries {
		rec := &m.file.Libraries[i]
		if _, dup := m.libs[rec.Name]; dup || m.broken[rec.Name] != nil {
			// a second entry of one name cannot be told apart by name:
			// the first one is the library, this one is left in the file
			m.log.Error("vtl: a second library entry of one name is ignored", "library", rec.Name)
			continue
		}
		l, err := m.build(ctx, rec)
		if err != nil {
			if ctx.Err() != nil {
				_ = m.closeAll(ctx) // the build error is the one to report
				return nil, fmt.Errorf("library %s: %w", rec.Name, err)
			}
			err = fmt.Errorf("library %s: %w", rec.Name, err)
			m.log.Error("vtl: library degraded: it cannot open and its target is not offered; the others are", "library", rec.Name, "err", err)
			m.broken[rec.Name] = err
			continue
		}
		m.libs[rec.Name] = l
	}
	if !existed {
		if err := save(dir, m.file); err != nil {
			return nil, err
		}
		if opts.Default {
			if err := m.createDefault(ctx); err != nil {
				_ = m.closeAll(ctx) // the createDefault error is the one to report
				return nil, err
			}
		}
	}
	return m, nil
}

// DefaultSpec is the library created on first start.
func DefaultSpec() Spec {
	return Spec{Name: "vtl1", Emulation: "hp-msl", Generation: 6, Drives: 2, Slots: 24, MailSlots: 2}
}

func (m *Manager) createDefault(ctx context.Context) error {
	spec := DefaultSpec()
	if _, err := m.Create(ctx, spec); err != nil {
		return fmt.Errorf("create the default library: %w", err)
	}
	_, err := m.AddCartridges(ctx, spec.Name, NewCartridges{Prefix: "BKS", Count: 8})
	return err
}

// Close commits what the drives hold and releases them.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closeAll(ctx)
}

func (m *Manager) closeAll(ctx context.Context) error {
	var first error
	for _, l := range m.libs {
		for _, d := range l.drives {
			if err := d.Close(ctx); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (m *Manager) record(name string) *libraryRecord {
	for i := range m.file.Libraries {
		if m.file.Libraries[i].Name == name {
			return &m.file.Libraries[i]
		}
	}
	return nil
}

// update changes one library's record and saves the file; on a failed
// save the change is undone.
func (m *Manager) update(name string, change func(*libraryRecord) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateLocked(name, change)
}

func (m *Manager) updateLocked(name string, change func(*libraryRecord) error) error {
	rec := m.record(name)
	if rec == nil {
		return fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	before := cloneRecord(*rec)
	if err := change(rec); err != nil {
		*rec = before
		return err
	}
	if err := save(m.dir, m.file); err != nil {
		*rec = before
		return fmt.Errorf("library: save: %w", err)
	}
	return nil
}

func cloneRecord(r libraryRecord) libraryRecord {
	c := r
	c.Cartridges = append([]cartridgeRecord(nil), r.Cartridges...)
	c.InSlots = append([]string(nil), r.InSlots...)
	c.InMail = append([]string(nil), r.InMail...)
	c.InDrives = append([]string(nil), r.InDrives...)
	c.Source = map[string]uint16{}
	for k, v := range r.Source {
		c.Source[k] = v
	}
	return c
}

var (
	iqnPattern     = regexp.MustCompile(`^(iqn\.\d{4}-\d{2}\.[a-z0-9.-]+(:[^\s]+)?|eui\.[0-9A-Fa-f]{16})$`)
	barcodePattern = regexp.MustCompile(`^[A-Z0-9]{1,16}$`)
)

func (m *Manager) validate(s *Spec) error {
	if !chunkstore.ValidName(s.Name) || len(s.Name) > 40 {
		return fmt.Errorf("%w: name %q: a letter or digit, then letters, digits, '.', '_', '-'; at most 40", ErrInvalid, s.Name)
	}
	if s.Emulation == "" {
		s.Emulation = "hp-msl"
	}
	emu, ok := LookupEmulation(s.Emulation)
	if !ok {
		return fmt.Errorf("%w: emulation %q", ErrInvalid, s.Emulation)
	}
	if s.Generation == 0 {
		s.Generation = 6
	}
	gen, ok := tape.LookupGeneration(s.Generation)
	if !ok {
		return fmt.Errorf("%w: LTO generation %d (4 to 8)", ErrInvalid, s.Generation)
	}
	if s.Drives < 1 || s.Drives > emu.MaxDrives {
		return fmt.Errorf("%w: drives: 1 to %d", ErrInvalid, emu.MaxDrives)
	}
	if s.Slots < 1 || s.Slots > emu.MaxSlots {
		return fmt.Errorf("%w: slots: 1 to %d", ErrInvalid, emu.MaxSlots)
	}
	if s.MailSlots < 0 || s.MailSlots > 16 {
		return fmt.Errorf("%w: mail slots: 0 to 16", ErrInvalid)
	}
	if s.CartridgeSize == 0 {
		s.CartridgeSize = gen.Capacity
	}
	if s.CartridgeSize < 1<<20 || s.CartridgeSize > 64e12 {
		return fmt.Errorf("%w: cartridge size: 1 MiB to 64 TB", ErrInvalid)
	}
	if s.IQN == "" {
		s.IQN = "iqn.2025-01.io.backstop:" + s.Name
	}
	if !iqnPattern.MatchString(s.IQN) {
		return fmt.Errorf("%w: target name %q is not an iqn. or eui. name", ErrInvalid, s.IQN)
	}
	c := s.CHAP
	if (c.User == "") != (c.Secret == "") || (c.MutualUser == "") != (c.MutualSecret == "") {
		return fmt.Errorf("%w: CHAP user and secret go together", ErrInvalid)
	}
	if c.MutualUser != "" && c.User == "" {
		return fmt.Errorf("%w: mutual CHAP needs CHAP", ErrInvalid)
	}
	for _, sec := range []string{c.Secret, c.MutualSecret} {
		if sec != "" && (len(sec) < 12 || len(sec) > 255) {
			return fmt.Errorf("%w: CHAP secrets are 12 to 255 characters (what Windows and Linux initiators accept)", ErrInvalid)
		}
	}
	for _, l := range m.file.Libraries {
		if l.IQN == s.IQN && l.Name != s.Name {
			return fmt.Errorf("%w: target name %s is library %s's", ErrExists, s.IQN, l.Name)
		}
	}
	return nil
}

// Create makes a new library and its store.
func (m *Manager) Create(ctx context.Context, spec Spec) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.validate(&spec); err != nil {
		return Info{}, err
	}
	if m.record(spec.Name) != nil {
		return Info{}, fmt.Errorf("%w: library %s", ErrExists, spec.Name)
	}
	if _, err := m.eng.CreateStore(storeName(spec.Name), chunkstore.DefaultDomain); err != nil && !errors.Is(err, chunkstore.ErrExists) {
		return Info{}, err
	}
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	rec := libraryRecord{Spec: spec, Serial: "BKS" + strings.ToUpper(hex.EncodeToString(rnd)[:7]), Created: m.now().UTC(),
		InSlots: make([]string, spec.Slots), InMail: make([]string, spec.MailSlots), InDrives: make([]string, spec.Drives),
		Source: map[string]uint16{}}
	l, err := m.build(ctx, &rec)
	if err != nil {
		return Info{}, err
	}
	m.file.Libraries = append(m.file.Libraries, rec)
	if err := save(m.dir, m.file); err != nil {
		m.file.Libraries = m.file.Libraries[:len(m.file.Libraries)-1]
		return Info{}, err
	}
	m.libs[spec.Name] = l
	return m.info(m.record(spec.Name)), nil
}

// Delete removes an empty library (no cartridges) and its store. A
// degraded library is removed whatever its records say, since its
// cartridges cannot be deleted one by one; its store goes only when it
// holds no items (the engine refuses otherwise), so the cartridges' data
// stay in store vtl-NAME.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.record(name)
	if rec == nil {
		return fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	_, degraded := m.broken[name]
	if len(rec.Cartridges) > 0 && !degraded {
		return fmt.Errorf("%w: %d cartridges", ErrNotEmpty, len(rec.Cartridges))
	}
	for i := range m.file.Libraries {
		if m.file.Libraries[i].Name == name {
			m.file.Libraries = append(m.file.Libraries[:i], m.file.Libraries[i+1:]...)
			break
		}
	}
	if err := save(m.dir, m.file); err != nil {
		return err
	}
	delete(m.libs, name)
	delete(m.broken, name)
	if err := m.eng.DeleteStore(storeName(name)); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		m.log.Warn("vtl: delete the library's store", "library", name, "err", err)
	}
	return nil
}

// runtime returns a library's run-time object.
func (m *Manager) runtime(name string) (*Library, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.libs[name]
	if !ok {
		if err := m.broken[name]; err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDegraded, err)
		}
		return nil, fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	return l, nil
}

// Degraded returns the libraries that could not open, by name, with why.
// They are listed by Libraries and Library (Info.Degraded), their targets
// are not offered, their cartridges refuse every action (ErrDegraded),
// and they can be deleted; a restart tries them again.
func (m *Manager) Degraded() map[string]error {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]error, len(m.broken))
	for n, err := range m.broken {
		out[n] = err
	}
	return out
}

// Target is one library as the iSCSI target serves it.
type Target struct {
	Name  string
	Alias string
	LUNs  *Library
	CHAP  CHAP
}

// Targets lists the libraries' iSCSI targets, by library name.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Target
	for _, r := range m.file.Libraries {
		if l, ok := m.libs[r.Name]; ok {
			out = append(out, Target{Name: r.IQN, Alias: r.Name, LUNs: l, CHAP: r.CHAP})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out
}

// Changer returns a library's changer (for tests and tools).
func (m *Manager) Changer(name string) (*changer.Changer, error) {
	l, err := m.runtime(name)
	if err != nil {
		return nil, err
	}
	return l.changer, nil
}

// Drives returns a library's drives.
func (m *Manager) Drives(name string) ([]*tape.Drive, error) {
	l, err := m.runtime(name)
	if err != nil {
		return nil, err
	}
	return l.drives, nil
}

package appliance

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/internal/dirlock"
)

// Errors callers can test for with errors.Is.
var (
	ErrNotFound       = errors.New("appliance: not found")
	ErrExists         = errors.New("appliance: already exists")
	ErrInvalid        = errors.New("appliance: invalid argument")
	ErrBadCredentials = errors.New("appliance: wrong user name or password")
	ErrLastAdmin      = errors.New("appliance: the last admin cannot be removed or demoted")
	ErrLocked         = errors.New("appliance: directory in use")
	ErrClosed         = errors.New("appliance: closed")
)

// File names inside the appliance directory.
const (
	configName  = "config.json"
	eventsName  = "events.jsonl"
	eventsOld   = "events.jsonl.1"
	lockName    = "lock"
	tempPattern = configName + ".tmp-*"
)

// configVersion is the format version written to config.json.
const configVersion = 1

// Options configure a State. Zero fields take the value DefaultOptions gives
// them.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Hash cost for new password hashes; tests use a cheap one. Zero value
	// = DefaultHashParams().
	Hash HashParams
	// MaxEvents kept in memory for Events (default 10000).
	MaxEvents int
	// HashConcurrency bounds how many password hashes run at once, so that
	// a burst of logins cannot take more than HashConcurrency × Hash.Memory
	// of memory (default 4).
	HashConcurrency int
	// MaxEventsFileBytes is the size at which events.jsonl is renamed to
	// events.jsonl.1 (replacing the previous one) and a new file started
	// (default 64 MiB).
	MaxEventsFileBytes int64
}

// DefaultOptions are the settings backstop ships with.
func DefaultOptions() Options {
	return Options{
		Now:                time.Now,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hash:               DefaultHashParams(),
		MaxEvents:          10000,
		HashConcurrency:    4,
		MaxEventsFileBytes: 64 << 20,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Hash == (HashParams{}) {
		o.Hash = d.Hash
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = d.MaxEvents
	}
	if o.HashConcurrency <= 0 {
		o.HashConcurrency = d.HashConcurrency
	}
	if o.MaxEventsFileBytes <= 0 {
		o.MaxEventsFileBytes = d.MaxEventsFileBytes
	}
	return o
}

// State is the appliance's own configuration (users, settings) and its event
// log, kept in memory and persisted in one directory. It is safe for
// concurrent use.
type State struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// hashSem bounds concurrent argon2 runs; hashes counts them (for tests).
	hashSem chan struct{}
	hashes  atomic.Int64

	mu       sync.Mutex // guards the fields below
	users    map[string]userRecord
	settings Settings
	closed   bool

	ev eventLog

	tok tokens // API tokens (token.go), in tokens.json

	subMu sync.RWMutex  // guards subs
	subs  []func(Event) // see Subscribe
}

// config is the content of config.json.
type config struct {
	Version  int          `json:"version"`
	Users    []userRecord `json:"users"`
	Settings Settings     `json:"settings"`
}

// userRecord is a User with its password hash, as config.json keeps it.
type userRecord struct {
	User
	PasswordHash string `json:"password_hash"`
	// NTHash is the hex MD4 of the UTF-16LE password, which NTLM (the
	// SMB server's authentication) needs; see docs/smb.md for the
	// trade-off. Empty for users whose password predates it.
	NTHash string `json:"nt_hash,omitempty"`
}

// Open opens the appliance state kept in dir (DATA/appliance), creating the
// directory (mode 0700) if it is missing. Only one State may have dir open
// at a time, in any process: a second Open gets ErrLocked.
func Open(dir string, opts Options) (*State, error) {
	opts = opts.withDefaults()
	if err := opts.Hash.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	lock, err := dirlock.Lock(dir, lockName)
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("%w: %v", ErrLocked, held)
	}
	if err != nil {
		return nil, err
	}
	s := &State{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger,
		lock:    lock,
		hashSem: make(chan struct{}, opts.HashConcurrency),
	}
	s.removeTemps()
	if err := s.loadConfig(); err != nil {
		lock.Close()
		return nil, err
	}
	if err := s.ev.open(dir, opts, s.log); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the event log and releases the directory. Calls after the
// first do nothing.
func (s *State) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.ev.close()
	if cerr := s.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("appliance: %w", cerr)
	}
	return err
}

// removeTemps deletes temporary files a crash left behind mid-save.
func (s *State) removeTemps() {
	names, _ := filepath.Glob(filepath.Join(s.dir, tempPattern))
	for _, name := range names {
		if err := os.Remove(name); err == nil {
			s.log.Info("appliance: removed leftover temporary file", "file", name)
		}
	}
}

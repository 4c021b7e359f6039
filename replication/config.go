package replication

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Errors of the replication service.
var (
	ErrNotFound = errors.New("replication: not found")
	ErrExists   = errors.New("replication: already exists")
	ErrInvalid  = errors.New("replication: invalid argument")
	// ErrState reports an action the object's state forbids (resume a
	// mapping whose store is still a replica, promote a promoted store).
	ErrState = errors.New("replication: not possible in this state")
	// ErrBlackout stops a pass when a blackout window begins.
	ErrBlackout = errors.New("replication: inside a blackout window")
)

// Mapping replicates a store (the items whose names start with Filter)
// of this appliance to a store of another.
type Mapping struct {
	Name        string `json:"name"`
	SourceStore string `json:"source_store"`
	// Filter keeps the items whose names start with it: a NAS share's
	// folder, a VTL library's cartridges. Empty is every item.
	Filter string `json:"filter"`
	// Target is the other appliance's replication address, host:port.
	Target string `json:"target"`
	// TargetFingerprint is the SHA-256 of the target's certificate
	// (its GET /api/v1/replication/identity): the source checks it.
	TargetFingerprint string `json:"target_fingerprint"`
	TargetStore       string `json:"target_store"`
	// Every is the schedule: empty replicates continuously (items soon
	// after they commit), else a Go duration between runs ("6h").
	Every string `json:"every"`
	// LimitBytesPerSec bounds the mapping's wire bandwidth; 0 is none.
	LimitBytesPerSec int64 `json:"limit_bytes_per_sec"`
	// LagAlertSeconds: an event warns when the oldest item not yet
	// replicated is older than that (default 3600).
	LagAlertSeconds int64 `json:"lag_alert_seconds"`
	Paused          bool  `json:"paused"`
	// Reversed: failback made the source store a replica of the old
	// target; the mapping waits until the store is promoted again.
	Reversed bool      `json:"reversed"`
	Created  time.Time `json:"created"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks a mapping.
func (m *Mapping) Validate() error {
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("%w: mapping name %q (letters, digits, '.', '_', '-'; at most 64)", ErrInvalid, m.Name)
	}
	if m.SourceStore == "" || m.TargetStore == "" {
		return fmt.Errorf("%w: source_store and target_store are required", ErrInvalid)
	}
	if _, _, err := net.SplitHostPort(m.Target); err != nil {
		return fmt.Errorf("%w: target %q is not host:port", ErrInvalid, m.Target)
	}
	fp, err := NormalizeFingerprint(m.TargetFingerprint)
	if err != nil {
		return err
	}
	m.TargetFingerprint = fp
	if m.Every != "" {
		d, err := time.ParseDuration(m.Every)
		if err != nil || d < time.Second {
			return fmt.Errorf("%w: every %q (a duration of at least 1s, or empty for continuous)", ErrInvalid, m.Every)
		}
	}
	if m.LimitBytesPerSec < 0 || m.LagAlertSeconds < 0 {
		return fmt.Errorf("%w: negative limit or lag threshold", ErrInvalid)
	}
	if m.LagAlertSeconds == 0 {
		m.LagAlertSeconds = 3600
	}
	return nil
}

func (m *Mapping) every() time.Duration {
	d, _ := time.ParseDuration(m.Every)
	return d
}

// Source is an appliance trusted to replicate into this one.
type Source struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Added       time.Time `json:"added"`
}

// Replica is a store of this appliance that a source replicates into.
type Replica struct {
	Store string `json:"store"`
	// SourceFingerprint is the certificate of the only appliance that may
	// write it.
	SourceFingerprint string    `json:"source_fingerprint"`
	Mapping           string    `json:"mapping"` // the source's mapping name
	SourceStore       string    `json:"source_store"`
	Domain            string    `json:"domain"`
	Promoted          bool      `json:"promoted"`
	Created           time.Time `json:"created"`
	LastReceived      time.Time `json:"last_received"`
	ItemsReceived     int64     `json:"items_received"`
}

// Settings are appliance-wide.
type Settings struct {
	// LimitBytesPerSec bounds all outgoing replication together; 0 is none.
	LimitBytesPerSec int64 `json:"limit_bytes_per_sec"`
}

// config is what DIR/replication/config.json holds.
type config struct {
	Settings Settings  `json:"settings"`
	Sources  []Source  `json:"sources"`
	Mappings []Mapping `json:"mappings"`
	Replicas []Replica `json:"replicas"`
}

// NormalizeFingerprint accepts a SHA-256 in hex, with or without colons
// or a "sha256:" prefix, and returns it as 64 lower-case hex digits.
func NormalizeFingerprint(s string) (string, error) {
	t := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"))
	t = strings.ReplaceAll(t, ":", "")
	if len(t) != 64 || strings.Trim(t, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: certificate fingerprint %q (want the SHA-256 in hex)", ErrInvalid, s)
	}
	return t, nil
}

func loadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("replication: %s: %w", path, err)
	}
	return nil
}

// saveJSON writes v to path atomically: a synced temporary file renamed
// over it, and the directory synced.
func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("replication: save %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replication: save %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

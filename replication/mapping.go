package replication

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// journal is a mapping's record of what the target holds, kept in
// DIR/replication/journal/NAME.json and rewritten atomically after every
// item: an item is replicated when its entry has the item's current
// version. It drives the passes; the target's own listing corrects it
// after any failure.
type journal struct {
	Items        map[string]journalEntry `json:"items"`
	LogicalBytes int64                   `json:"logical_bytes"` // sizes of the items sent
	WireBytes    int64                   `json:"wire_bytes"`    // bytes on the connection, both ways
	ChunksSent   int64                   `json:"chunks_sent"`
	StoredSent   int64                   `json:"stored_sent"` // chunk bytes sent, as stored
	ItemsSent    int64                   `json:"items_sent"`
	ItemsDeleted int64                   `json:"items_deleted"`
	LastSuccess  time.Time               `json:"last_success"`
}

type journalEntry struct {
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Digest   string    `json:"digest"`
	At       time.Time `json:"at"`
}

func (e journalEntry) is(it chunkstore.Item) bool {
	return e.Size == it.Size && e.Modified.Equal(it.Modified)
}

// run is a mapping's live state.
type run struct {
	pass     chan struct{} // one pass at a time: a token
	wake     chan struct{}
	stop     chan struct{}
	looping  bool
	needList bool // reconcile with the target's listing at the next pass
	j        *journal

	state               string
	lastError           string
	lastErrorAt         time.Time
	errors              int64
	lastBytes, lastWire int64
	lastDur             time.Duration
	alerted             bool
}

func newRun() *run {
	r := &run{pass: make(chan struct{}, 1), wake: make(chan struct{}, 1), stop: make(chan struct{}), needList: true, state: "idle"}
	r.pass <- struct{}{}
	return r
}

func (s *Service) journalPath(name string) string {
	return filepath.Join(s.opts.Dir, "journal", name+".json")
}

// journalLocked loads a mapping's journal once.
func (s *Service) journalLocked(name string) *journal {
	r := s.runs[name]
	if r.j == nil {
		j := &journal{}
		if err := loadJSON(s.journalPath(name), j); err != nil {
			s.log.Warn("replication: journal unreadable, the next pass compares with the target", "mapping", name, "err", err)
			j = &journal{}
		}
		if j.Items == nil {
			j.Items = map[string]journalEntry{}
		}
		r.j = j
	}
	return r.j
}

func (s *Service) saveJournalLocked(name string) error {
	return saveJSON(s.journalPath(name), s.journalLocked(name))
}

func (s *Service) mappingLocked(name string) (*Mapping, error) {
	i := slices.IndexFunc(s.cfg.Mappings, func(m Mapping) bool { return m.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%w: mapping %q", ErrNotFound, name)
	}
	return &s.cfg.Mappings[i], nil
}

// Mapping returns one mapping.
func (s *Service) Mapping(name string) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.mappingLocked(name)
	if err != nil {
		return Mapping{}, err
	}
	return *m, nil
}

// Mappings lists the mappings by name.
func (s *Service) Mappings() []Mapping {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.cfg.Mappings)
	slices.SortFunc(out, func(a, b Mapping) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CreateMapping adds a mapping and, once Start ran, starts it.
func (s *Service) CreateMapping(m Mapping) (Mapping, error) {
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	if appliance.Reserved(m.TargetStore) {
		// The target's share and library stores are reached only through
		// their share or library there; a replica is a store of its own.
		return Mapping{}, fmt.Errorf("%w: target_store %q: names beginning %q or %q are kept for the stores of shares and tape libraries",
			ErrInvalid, m.TargetStore, appliance.SharePrefix, appliance.LibraryPrefix)
	}
	if _, err := s.eng.Store(m.SourceStore); err != nil {
		return Mapping{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.mappingLocked(m.Name); err == nil {
		return Mapping{}, fmt.Errorf("%w: mapping %q", ErrExists, m.Name)
	}
	m.Created, m.Reversed = s.now().UTC(), false
	s.cfg.Mappings = append(s.cfg.Mappings, m)
	if err := s.saveLocked(); err != nil {
		s.cfg.Mappings = s.cfg.Mappings[:len(s.cfg.Mappings)-1]
		return Mapping{}, err
	}
	os.Remove(s.journalPath(m.Name)) // a stale journal of an older namesake
	s.runs[m.Name] = newRun()
	if s.started() {
		s.startLoop(m.Name)
	}
	return m, nil
}

// started reports whether Start ran.
func (s *Service) started() bool { return s.startedFlag }

// MappingUpdate changes what may change of a mapping; nil fields stay.
type MappingUpdate struct {
	Filter            *string `json:"filter"`
	Target            *string `json:"target"`
	TargetFingerprint *string `json:"target_fingerprint"`
	Every             *string `json:"every"`
	LimitBytesPerSec  *int64  `json:"limit_bytes_per_sec"`
	LagAlertSeconds   *int64  `json:"lag_alert_seconds"`
	Paused            *bool   `json:"paused"`
}

// UpdateMapping applies u.
func (s *Service) UpdateMapping(name string, u MappingUpdate) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp, err := s.mappingLocked(name)
	if err != nil {
		return Mapping{}, err
	}
	m := *mp
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&m.Filter, u.Filter)
	set(&m.Target, u.Target)
	set(&m.TargetFingerprint, u.TargetFingerprint)
	set(&m.Every, u.Every)
	if u.LimitBytesPerSec != nil {
		m.LimitBytesPerSec = *u.LimitBytesPerSec
	}
	if u.LagAlertSeconds != nil {
		m.LagAlertSeconds = *u.LagAlertSeconds
	}
	if u.Paused != nil {
		m.Paused = *u.Paused
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	old := *mp
	*mp = m
	if err := s.saveLocked(); err != nil {
		*mp = old
		return Mapping{}, err
	}
	r := s.runs[name]
	if old.Filter != m.Filter || old.Target != m.Target {
		r.needList = true
	}
	kick(r.wake)
	return m, nil
}

// DeleteMapping removes a mapping. The target keeps its replica, which
// it can promote.
func (s *Service) DeleteMapping(name string) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.cfg.Mappings, func(m Mapping) bool { return m.Name == name })
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("%w: mapping %q", ErrNotFound, name)
	}
	s.cfg.Mappings = slices.Delete(s.cfg.Mappings, i, i+1)
	err := s.saveLocked()
	r := s.runs[name]
	delete(s.runs, name)
	s.mu.Unlock()
	close(r.stop)
	<-r.pass // wait for a running pass to end
	os.Remove(s.journalPath(name))
	return err
}

// SyncNow wakes a mapping's loop for a pass at once.
func (s *Service) SyncNow(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.mappingLocked(name); err != nil {
		return err
	}
	kick(s.runs[name].wake)
	return nil
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Reverse is failback's first step, run on the old source after the old
// target was promoted: the mapping stops, and its source store becomes a
// read-only replica that the old target (by the mapping's target
// certificate) may write. The old target then replicates its store back
// with a mapping of its own, and sends only what differs.
func (s *Service) Reverse(name string) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.mappingLocked(name)
	if err != nil {
		return Mapping{}, err
	}
	if m.Reversed {
		return *m, fmt.Errorf("%w: mapping %q is already reversed", ErrState, name)
	}
	dom, err := s.eng.StoreDomain(m.SourceStore)
	if err != nil {
		return Mapping{}, err
	}
	if _, err := s.eng.SetReplica(m.SourceStore, true); err != nil {
		return Mapping{}, err
	}
	m.Reversed = true
	if !slices.ContainsFunc(s.cfg.Sources, func(src Source) bool { return src.Fingerprint == m.TargetFingerprint }) {
		s.cfg.Sources = append(s.cfg.Sources, Source{Name: "mapping-" + m.Name, Fingerprint: m.TargetFingerprint, Added: s.now().UTC()})
	}
	rec := Replica{Store: m.SourceStore, SourceFingerprint: m.TargetFingerprint, SourceStore: m.TargetStore,
		Domain: dom.Name, Created: s.now().UTC()}
	if i := slices.IndexFunc(s.cfg.Replicas, func(r Replica) bool { return r.Store == m.SourceStore }); i >= 0 {
		s.cfg.Replicas[i] = rec
	} else {
		s.cfg.Replicas = append(s.cfg.Replicas, rec)
	}
	s.runs[name].needList = true
	s.opts.State.Record(appliance.Event{Kind: appliance.KindSystem, Level: appliance.LevelWarning, Action: "replication.reverse",
		Object: name, Message: fmt.Sprintf("mapping %s reversed: store %s is now a read-only replica of %s", name, m.SourceStore, m.Target)})
	return *m, s.saveLocked()
}

// Resume ends a reversal once the source store was promoted back.
func (s *Service) Resume(name string) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.mappingLocked(name)
	if err != nil {
		return Mapping{}, err
	}
	if !m.Reversed {
		return *m, fmt.Errorf("%w: mapping %q is not reversed", ErrState, name)
	}
	if info, err := s.eng.Store(m.SourceStore); err != nil {
		return Mapping{}, err
	} else if info.Replica {
		return *m, fmt.Errorf("%w: store %q is still a replica: promote it first", ErrState, m.SourceStore)
	}
	m.Reversed = false
	r := s.runs[name]
	r.needList = true
	kick(r.wake)
	return *m, s.saveLocked()
}

// loop runs a mapping's passes: continuously (a pass when items are
// pending, looked for every Poll) or every Every, backing off after a
// failure, waiting out blackout windows.
func (s *Service) loop(ctx context.Context, name string, r *run) {
	retry := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-r.wake:
		case <-timer.C:
		}
		m, err := s.Mapping(name)
		if err != nil {
			return
		}
		wait := s.opts.Poll
		if m.Every != "" {
			wait = m.every()
		}
		if retry > 0 {
			wait = min(s.opts.RetryMax, s.opts.RetryMin<<min(retry-1, 20))
		}
		pending, _ := s.checkLag(ctx, m)
		switch {
		case m.Paused || m.Reversed:
		case s.opts.State.Settings().InBlackout(s.now()):
			s.setState(name, "blackout")
			wait = min(wait, time.Minute)
		case pending || s.needsList(name) || m.Every != "":
			if err := s.Sync(ctx, name); err != nil && ctx.Err() == nil {
				retry++
				wait = min(s.opts.RetryMax, s.opts.RetryMin<<min(retry-1, 20))
			} else {
				retry = 0
			}
		}
		timer.Reset(wait)
	}
}

func (s *Service) needsList(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[name]
	return ok && r.needList
}

func (s *Service) setState(name, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[name]; ok {
		r.state = state
	}
}

// checkLag reports whether items are pending and records an event when
// the lag crosses the mapping's threshold, either way.
func (s *Service) checkLag(ctx context.Context, m Mapping) (bool, error) {
	st, err := s.Status(ctx, m.Name)
	if err != nil {
		return false, err
	}
	over := st.LagSeconds > float64(m.LagAlertSeconds)
	s.mu.Lock()
	r, ok := s.runs[m.Name]
	if !ok || r.alerted == over {
		s.mu.Unlock()
		return st.ItemsPending > 0, nil
	}
	r.alerted = over
	s.mu.Unlock()
	if over {
		s.opts.State.Record(appliance.Event{Kind: appliance.KindSystem, Level: appliance.LevelWarning, Action: "replication.lag",
			Object: m.Name, Message: fmt.Sprintf("replication of %s to %s is %.0f s behind (threshold %d s): %d items, %d bytes pending",
				m.SourceStore, m.Target, st.LagSeconds, m.LagAlertSeconds, st.ItemsPending, st.BytesPending)})
	} else {
		s.opts.State.Record(appliance.Event{Kind: appliance.KindSystem, Level: appliance.LevelInfo, Action: "replication.lag",
			Object: m.Name, Message: fmt.Sprintf("replication of %s to %s caught up", m.SourceStore, m.Target)})
	}
	return st.ItemsPending > 0, nil
}

// Status is a mapping with its figures.
type Status struct {
	Mapping
	// State: idle, running, blackout, error, paused or reversed.
	State        string  `json:"state"`
	ItemsPending int     `json:"items_pending"`
	BytesPending int64   `json:"bytes_pending"`
	LagSeconds   float64 `json:"lag_seconds"` // age of the oldest item not yet replicated
	// ItemsReplicated are the items the target holds in their current
	// version.
	ItemsReplicated int       `json:"items_replicated"`
	LastSuccess     time.Time `json:"last_success"`
	LastError       string    `json:"last_error"`
	LastErrorAt     time.Time `json:"last_error_at"`
	Errors          int64     `json:"errors"`
	// Totals since the mapping was made.
	LogicalBytes int64 `json:"logical_bytes"`
	WireBytes    int64 `json:"wire_bytes"`
	StoredSent   int64 `json:"stored_bytes_sent"`
	ChunksSent   int64 `json:"chunks_sent"`
	ItemsSent    int64 `json:"items_sent"`
	ItemsDeleted int64 `json:"items_deleted"`
	// WireRatio is wire bytes per logical byte replicated.
	WireRatio float64 `json:"wire_ratio"`
	// Throughput of the last pass: logical and wire bytes per second.
	Throughput     float64 `json:"throughput_bytes_per_sec"`
	WireThroughput float64 `json:"wire_bytes_per_sec"`
}

// Status computes a mapping's figures: what is pending comes from the
// source store's listing against the journal.
func (s *Service) Status(ctx context.Context, name string) (Status, error) {
	m, err := s.Mapping(name)
	if err != nil {
		return Status{}, err
	}
	items, lerr := s.eng.ListItems(ctx, m.SourceStore, chunkstore.ListOptions{Prefix: m.Filter})
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[name]
	if !ok {
		return Status{}, fmt.Errorf("%w: mapping %q", ErrNotFound, name)
	}
	j := s.journalLocked(name)
	st := Status{Mapping: m, State: r.state, LastSuccess: j.LastSuccess, LastError: r.lastError, LastErrorAt: r.lastErrorAt,
		Errors: r.errors, LogicalBytes: j.LogicalBytes, WireBytes: j.WireBytes, StoredSent: j.StoredSent, ChunksSent: j.ChunksSent,
		ItemsSent: j.ItemsSent, ItemsDeleted: j.ItemsDeleted}
	switch {
	case m.Reversed:
		st.State = "reversed"
	case m.Paused:
		st.State = "paused"
	}
	if lerr != nil {
		if errors.Is(lerr, chunkstore.ErrNotFound) {
			st.State, st.LastError = "error", lerr.Error()
			return st, nil
		}
		return Status{}, lerr
	}
	var oldest time.Time
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		seen[it.Name] = true
		if e, ok := j.Items[it.Name]; ok && e.is(it) {
			st.ItemsReplicated++
			continue
		}
		st.ItemsPending++
		st.BytesPending += it.Size
		if oldest.IsZero() || it.Modified.Before(oldest) {
			oldest = it.Modified
		}
	}
	for n := range j.Items {
		if !seen[n] {
			st.ItemsPending++ // a deletion to replicate
		}
	}
	if !oldest.IsZero() && !m.Reversed {
		st.LagSeconds = s.now().Sub(oldest).Seconds()
	}
	if j.LogicalBytes > 0 {
		st.WireRatio = float64(j.WireBytes) / float64(j.LogicalBytes)
	}
	if r.lastDur > 0 {
		st.Throughput = float64(r.lastBytes) / r.lastDur.Seconds()
		st.WireThroughput = float64(r.lastWire) / r.lastDur.Seconds()
	}
	return st, nil
}

// Statuses lists every mapping's status.
func (s *Service) Statuses(ctx context.Context) ([]Status, error) {
	var out []Status
	for _, m := range s.Mappings() {
		st, err := s.Status(ctx, m.Name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

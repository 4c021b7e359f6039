package appliance

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// HealthState is how a part of the appliance is: OK, Warning (working,
// something to watch), Degraded (working, with something to look at) or
// Failed (not working).
type HealthState string

// Health states, from best to worst.
const (
	OK       HealthState = "ok"
	Warning  HealthState = "warning"
	Degraded HealthState = "degraded"
	Failed   HealthState = "failed"
)

// Rank orders states from best (0, OK) to worst (3, Failed): the value of
// the metric backstop_health_state.
func (s HealthState) Rank() int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	case Degraded:
		return 2
	}
	return 3
}

// Names of the appliance's parts in the health registry. Parts about one
// share, library or replication mapping are named by a prefix and its
// name ("share:backup").
const (
	ComponentEngine      = "engine"
	ComponentVerify      = "verify" // the last verify: degraded when it found damage
	ComponentCapacity    = "capacity"
	ComponentWeb         = "web"
	ComponentCatalyst    = "catalyst"
	ComponentSMB         = "smb"
	ComponentISCSI       = "iscsi"
	ComponentReplication = "replication"

	PartShare   = "share:"
	PartLibrary = "library:"
	PartMapping = "replication:"
)

// ActionHealthChange is the action of the system event recorded when a
// part's state changes.
const ActionHealthChange = "health.change"

// ComponentHealth is one part's state, why, and since when. Store is the
// store the part is about (a share's, a library's, a mapping's source),
// empty for parts of the whole appliance: who may not read it may not see
// the part.
type ComponentHealth struct {
	Name   string      `json:"name"`
	State  HealthState `json:"state"`
	Reason string      `json:"reason,omitempty"`
	Since  time.Time   `json:"since"`
	Store  string      `json:"store,omitempty"`
}

// HealthReport is the whole appliance's health: the worst of its parts'
// (OK with no parts), each part by name, and the damaged items the last
// verify found that still exist.
type HealthReport struct {
	State      HealthState       `json:"state"`
	Components []ComponentHealth `json:"components"`
	Damage     []DamagedItem     `json:"damage"`
}

// Worst is the worst state of parts, OK for none.
func Worst(parts []ComponentHealth) HealthState {
	w := OK
	for _, p := range parts {
		if p.State.Rank() > w.Rank() {
			w = p.State
		}
	}
	return w
}

// HealthOptions configure a Health. Zero fields: no persistence, no
// events, time.Now, a silent logger.
type HealthOptions struct {
	Now func() time.Time
	// Dir is where health.json is kept (DIR/appliance); "" keeps nothing.
	Dir string
	// Events records a system event at every change of a part's state.
	Events Recorder
	Logger *slog.Logger
}

// Health is the registry of the appliance's parts and their states. Whoever
// knows sets a part's state (serve when a service starts or fails, the
// verify job when a verify finds damage, the health monitor for capacity
// and replication); everyone else reads Report. The states, the verify
// part and its damage are kept in health.json, so a restart neither
// forgets damage nor announces again a state that did not change. It is
// safe for concurrent use.
type Health struct {
	opts HealthOptions

	mu     sync.Mutex
	parts  map[string]ComponentHealth
	last   map[string]ComponentHealth // states before the restart, not yet set again
	damage []DamagedItem
}

// NewHealth returns an empty registry whose times come from now, that
// keeps nothing and records no events.
func NewHealth(now func() time.Time) *Health {
	return OpenHealth(HealthOptions{Now: now})
}

// OpenHealth returns the registry kept in opts.Dir, loaded from its
// health.json: the verify part and its damage as they were, the other
// parts' last states to tell changes from repeats when they are set
// again. A health.json that cannot be read is logged and started afresh:
// health must never keep the appliance from starting.
func OpenHealth(opts HealthOptions) *Health {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Health{opts: opts, parts: map[string]ComponentHealth{}, last: map[string]ComponentHealth{}}
	if opts.Dir == "" {
		return h
	}
	doc, err := loadHealth(opts.Dir)
	if err != nil {
		opts.Logger.Error("health: starting afresh", "err", err)
		return h
	}
	for _, p := range doc.Parts {
		h.last[p.Name] = p
	}
	if v, ok := h.last[ComponentVerify]; ok {
		h.parts[ComponentVerify] = v
		delete(h.last, ComponentVerify)
	}
	h.damage = doc.Damage
	return h
}

// Set records the state of the part called name and why; Since changes only
// when the state does.
func (h *Health) Set(name string, state HealthState, reason string) {
	h.SetFor(name, "", state, reason)
}

// SetFor is Set for a part about store.
func (h *Health) SetFor(name, store string, state HealthState, reason string) {
	h.mu.Lock()
	ev, changed := h.setLocked(ComponentHealth{Name: name, Store: store, State: state, Reason: reason})
	if changed {
		h.saveLocked()
	}
	h.mu.Unlock()
	h.record(ev)
}

// setLocked sets a part and returns the event of its change, if any
// (nil Events: none), and whether the state changed. h.mu is held.
func (h *Health) setLocked(p ComponentHealth) (*Event, bool) {
	prev, ok := h.parts[p.Name]
	if !ok {
		prev, ok = h.last[p.Name]
		delete(h.last, p.Name)
	}
	p.Since = h.opts.Now().UTC()
	if ok && prev.State == p.State {
		p.Since = prev.Since
	}
	h.parts[p.Name] = p
	switch {
	case ok && prev.State == p.State:
		return nil, false
	case !ok && p.State == OK:
		return nil, true // a part that starts well is no news
	}
	e := Event{Kind: KindSystem, Action: ActionHealthChange, Object: p.Name, Level: LevelError,
		Message: fmt.Sprintf("%s is %s", p.Name, p.State)}
	switch p.State {
	case OK:
		e.Level = LevelInfo
		e.Message = fmt.Sprintf("%s is ok again (was %s)", p.Name, prev.State)
	case Warning:
		e.Level = LevelWarning
	}
	if p.Reason != "" {
		e.Message += ": " + p.Reason
	}
	return &e, true
}

// record records ev unless it is nil or there is no recorder.
func (h *Health) record(ev *Event) {
	if ev == nil || h.opts.Events == nil {
		return
	}
	ev.Time = h.opts.Now().UTC()
	h.opts.Events.Record(*ev)
}

// Remove forgets the part called name (a service that was turned off, a
// share that was deleted).
func (h *Health) Remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.parts[name]
	_, old := h.last[name]
	delete(h.parts, name)
	delete(h.last, name)
	if ok || old {
		h.saveLocked()
	}
}

// Report is the appliance's health now.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := HealthReport{Components: make([]ComponentHealth, 0, len(h.parts)), Damage: append([]DamagedItem{}, h.damage...)}
	for _, p := range h.parts {
		r.Components = append(r.Components, p)
	}
	r.State = Worst(r.Components)
	sort.Slice(r.Components, func(i, j int) bool { return r.Components[i].Name < r.Components[j].Name })
	return r
}

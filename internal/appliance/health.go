package appliance

import (
	"sort"
	"sync"
	"time"
)

// HealthState is how a part of the appliance is: OK, Degraded (working,
// with something to look at) or Failed (not working).
type HealthState string

// Health states, from best to worst.
const (
	OK       HealthState = "ok"
	Degraded HealthState = "degraded"
	Failed   HealthState = "failed"
)

// rank orders states from best (0) to worst.
func (s HealthState) rank() int {
	switch s {
	case OK:
		return 0
	case Degraded:
		return 1
	}
	return 2
}

// Names of the appliance's parts in the health registry. Front ends to
// come add their own.
const (
	ComponentEngine      = "engine"
	ComponentVerify      = "verify" // the last verify: degraded when it found damage
	ComponentWeb         = "web"
	ComponentCatalyst    = "catalyst"
	ComponentSMB         = "smb"
	ComponentISCSI       = "iscsi"
	ComponentReplication = "replication"
)

// ComponentHealth is one part's state, why, and since when.
type ComponentHealth struct {
	Name   string      `json:"name"`
	State  HealthState `json:"state"`
	Reason string      `json:"reason,omitempty"`
	Since  time.Time   `json:"since"`
}

// HealthReport is the whole appliance's health: the worst of its parts'
// (OK with no parts), and each part, by name.
type HealthReport struct {
	State      HealthState       `json:"state"`
	Components []ComponentHealth `json:"components"`
}

// Health is the registry of the appliance's parts and their states. Whoever
// knows sets a part's state (serve when a service starts or fails, the
// verify job when a verify finds damage); everyone else reads Report. It is
// safe for concurrent use.
type Health struct {
	now func() time.Time

	mu    sync.Mutex
	parts map[string]ComponentHealth
}

// NewHealth returns an empty registry whose times come from now.
func NewHealth(now func() time.Time) *Health {
	return &Health{now: now, parts: map[string]ComponentHealth{}}
}

// Set records the state of the part called name and why; Since changes only
// when the state does.
func (h *Health) Set(name string, state HealthState, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev, ok := h.parts[name]
	since := h.now().UTC()
	if ok && prev.State == state {
		since = prev.Since
	}
	h.parts[name] = ComponentHealth{Name: name, State: state, Reason: reason, Since: since}
}

// Remove forgets the part called name (a service that was turned off).
func (h *Health) Remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.parts, name)
}

// Report is the appliance's health now.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := HealthReport{State: OK, Components: make([]ComponentHealth, 0, len(h.parts))}
	for _, p := range h.parts {
		r.Components = append(r.Components, p)
		if p.State.rank() > r.State.rank() {
			r.State = p.State
		}
	}
	sort.Slice(r.Components, func(i, j int) bool { return r.Components[i].Name < r.Components[j].Name })
	return r
}

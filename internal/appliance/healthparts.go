package appliance

import (
	"fmt"
	"strings"
)

// Capacity thresholds: the share of the capacity used at which the
// capacity part is warning, degraded and failed.
const (
	CapacityWarning  = 0.80
	CapacityDegraded = 0.90
	CapacityFailed   = 0.95
)

// CapacityHealth is the capacity part's state for used bytes of capacity
// (the engine's stored and capacity figures); a capacity of 0 or less is
// not known: ok, saying so.
func CapacityHealth(used, capacity int64) (HealthState, string) {
	if capacity <= 0 {
		return OK, "capacity not known"
	}
	r := float64(used) / float64(capacity)
	why := fmt.Sprintf("%.1f%% of the capacity used (%d of %d bytes)", 100*r, used, capacity)
	switch {
	case r >= CapacityFailed:
		return Failed, why + ": new backups may be refused"
	case r >= CapacityDegraded:
		return Degraded, why
	case r >= CapacityWarning:
		return Warning, why
	}
	return OK, why
}

// MappingHealth is what the health needs of a replication mapping's
// status.
type MappingHealth struct {
	Name, Store string
	// State is the replication service's: idle, running, blackout,
	// error, paused or reversed.
	State     string
	LastError string
	// LagSeconds is the age of the oldest item not yet replicated;
	// LagAlertSeconds the mapping's threshold (0: none).
	LagSeconds      float64
	LagAlertSeconds int64
}

// lagDegraded is how many thresholds of lag make a mapping degraded
// rather than warning.
const lagDegraded = 4

// Health is the mapping's part: degraded on an error or a lag over
// lagDegraded times its threshold, warning over its threshold.
func (m MappingHealth) Health() (HealthState, string) {
	lag := m.LagSeconds
	limit := float64(m.LagAlertSeconds)
	switch {
	case m.State == "error":
		why := "replication failing"
		if m.LastError != "" {
			why += ": " + m.LastError
		}
		return Degraded, why
	case limit > 0 && lag > lagDegraded*limit:
		return Degraded, fmt.Sprintf("replication lag %.0f s, over %d times the threshold of %d s", lag, lagDegraded, m.LagAlertSeconds)
	case limit > 0 && lag > limit:
		return Warning, fmt.Sprintf("replication lag %.0f s, over the threshold of %d s", lag, m.LagAlertSeconds)
	}
	return OK, m.State
}

// SyncPrefix makes the parts whose names start with prefix exactly want:
// each set (SetFor), the others with that prefix removed. Serve uses it
// for the shares, libraries and mappings that come and go.
func (h *Health) SyncPrefix(prefix string, want []ComponentHealth) {
	keep := map[string]bool{}
	for _, p := range want {
		keep[p.Name] = true
		h.SetFor(p.Name, p.Store, p.State, p.Reason)
	}
	for _, p := range h.Report().Components {
		if strings.HasPrefix(p.Name, prefix) && !keep[p.Name] {
			h.Remove(p.Name)
		}
	}
}

package appliance

import "fmt"

// Bounds and defaults of automatic housekeeping.
const (
	DefaultHousekeepingInterval = 60          // minutes
	MaxHousekeepingInterval     = 7 * 24 * 60 // a week, in minutes
)

// Housekeeping is the automatic space reclamation setting: when Auto is on,
// the appliance runs a dry run every IntervalMinutes and starts
// housekeeping if it finds space to reclaim, outside blackout windows and
// never while verify runs. The zero value means the defaults: on, hourly.
type Housekeeping struct {
	Auto            bool `json:"auto"`
	IntervalMinutes int  `json:"interval_minutes"` // 1 to MaxHousekeepingInterval
}

// DefaultHousekeeping is automatic housekeeping every hour.
func DefaultHousekeeping() Housekeeping {
	return Housekeeping{Auto: true, IntervalMinutes: DefaultHousekeepingInterval}
}

// withDefaults turns the zero value into the defaults.
func (h Housekeeping) withDefaults() Housekeeping {
	if h == (Housekeeping{}) {
		return DefaultHousekeeping()
	}
	return h
}

// Validate checks the interval; the zero value (the defaults) is valid.
func (h Housekeeping) Validate() error {
	h = h.withDefaults()
	if h.IntervalMinutes < 1 || h.IntervalMinutes > MaxHousekeepingInterval {
		return fmt.Errorf("%w: housekeeping interval %d minutes: want 1 to %d", ErrInvalid, h.IntervalMinutes, MaxHousekeepingInterval)
	}
	return nil
}

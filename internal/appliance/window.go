package appliance

import (
	"fmt"
	"slices"
	"time"
)

// MaxWindows bounds the blackout windows in Settings.
const MaxWindows = 64

// Window is a recurring time range in which housekeeping and verify do not
// run. Days names the days on which the window starts; a window that wraps
// past midnight (End before Start) runs into the next day.
type Window struct {
	Days  []time.Weekday `json:"days"`  // empty = every day
	Start string         `json:"start"` // "HH:MM", local time
	End   string         `json:"end"`   // "HH:MM", or "24:00"; End < Start wraps past midnight
}

// parseClock turns "HH:MM" into minutes after midnight. "24:00" is allowed
// only when end is set.
func parseClock(s string, end bool) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, fmt.Errorf("%w: time %q: want HH:MM", ErrInvalid, s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if end && h == 24 && m == 0 {
		return 24 * 60, nil
	}
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%w: time %q: want 00:00 to 23:59", ErrInvalid, s)
	}
	return h*60 + m, nil
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Validate checks the times, that the window is not empty, and the days.
func (w Window) Validate() error {
	_, _, err := w.bounds()
	return err
}

func (w Window) bounds() (start, end int, err error) {
	if start, err = parseClock(w.Start, false); err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	if end, err = parseClock(w.End, true); err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	if start == end {
		return 0, 0, fmt.Errorf("%w: window %s-%s is empty; a whole day is 00:00-24:00", ErrInvalid, w.Start, w.End)
	}
	for i, d := range w.Days {
		if d < time.Sunday || d > time.Saturday {
			return 0, 0, fmt.Errorf("%w: day %d: want 0 (Sunday) to 6 (Saturday)", ErrInvalid, d)
		}
		if slices.Contains(w.Days[:i], d) {
			return 0, 0, fmt.Errorf("%w: day %s given twice", ErrInvalid, d)
		}
	}
	return start, end, nil
}

// Contains reports whether t, taken in its own location, falls in the
// window: from Start included to End excluded. An invalid window contains
// nothing.
func (w Window) Contains(t time.Time) bool {
	start, end, err := w.bounds()
	if err != nil {
		return false
	}
	h, m, _ := t.Clock()
	now := h*60 + m
	day := t.Weekday()
	if start < end {
		return start <= now && now < end && w.onDay(day)
	}
	// Wraps past midnight: the evening part starts today, the morning part
	// started yesterday.
	if now >= start {
		return w.onDay(day)
	}
	return now < end && w.onDay((day+6)%7)
}

func (w Window) onDay(d time.Weekday) bool {
	return len(w.Days) == 0 || slices.Contains(w.Days, d)
}

func (w Window) clone() Window {
	w.Days = append([]time.Weekday{}, w.Days...)
	return w
}

// Settings are the appliance-wide settings an administrator changes.
type Settings struct {
	Blackout     []Window       `json:"blackout"`
	Housekeeping Housekeeping   `json:"housekeeping"`
	Verify       VerifySchedule `json:"verify,omitzero"` // off when absent
	Alerts       Alerts         `json:"alerts,omitzero"` // secrets: web serves it only at /api/v1/alerts
}

// Validate checks every window.
func (st Settings) Validate() error {
	if len(st.Blackout) > MaxWindows {
		return fmt.Errorf("%w: %d blackout windows, at most %d", ErrInvalid, len(st.Blackout), MaxWindows)
	}
	for i, w := range st.Blackout {
		if err := w.Validate(); err != nil {
			return fmt.Errorf("blackout window %d: %w", i+1, err)
		}
	}
	if err := st.Housekeeping.Validate(); err != nil {
		return err
	}
	if err := st.Verify.Validate(); err != nil {
		return err
	}
	return st.Alerts.Validate()
}

// InBlackout reports whether t falls in any blackout window.
func (st Settings) InBlackout(t time.Time) bool {
	return slices.ContainsFunc(st.Blackout, func(w Window) bool { return w.Contains(t) })
}

// clone deep-copies st, with empty rather than nil slices so that JSON shows
// [] rather than null, and the defaults for a zero Housekeeping.
func (st Settings) clone() Settings {
	out := Settings{Blackout: make([]Window, 0, len(st.Blackout)), Housekeeping: st.Housekeeping.withDefaults(), Verify: st.Verify,
		Alerts: st.Alerts.clone()}
	for _, w := range st.Blackout {
		out.Blackout = append(out.Blackout, w.clone())
	}
	return out
}

// Settings returns the current settings.
func (s *State) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings.clone()
}

// SetSettings validates every window and replaces the settings.
func (s *State) SetSettings(st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit(func(_ map[string]userRecord, cur *Settings) error {
		*cur = st.clone()
		return nil
	})
}

package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHousekeepingSettings(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, testOptions(newClock()))
	if got := s.Settings().Housekeeping; got != DefaultHousekeeping() || !got.Auto || got.IntervalMinutes != 60 {
		t.Fatalf("new appliance housekeeping = %+v", got)
	}
	for _, tt := range []struct {
		name string
		h    Housekeeping
		ok   bool
	}{
		{"zero means the defaults", Housekeeping{}, true},
		{"off", Housekeeping{Auto: false, IntervalMinutes: 30}, true},
		{"a week", Housekeeping{Auto: true, IntervalMinutes: MaxHousekeepingInterval}, true},
		{"one minute", Housekeeping{Auto: true, IntervalMinutes: 1}, true},
		{"on without interval", Housekeeping{Auto: true}, false},
		{"negative", Housekeeping{Auto: true, IntervalMinutes: -5}, false},
		{"over a week", Housekeeping{Auto: true, IntervalMinutes: MaxHousekeepingInterval + 1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetSettings(Settings{Housekeeping: tt.h})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("SetSettings(%+v) = %v", tt.h, err)
			}
		})
	}
	if err := s.SetSettings(Settings{Housekeeping: Housekeeping{IntervalMinutes: 15}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, testOptions(newClock()))
	if got := s.Settings().Housekeeping; got != (Housekeeping{IntervalMinutes: 15}) {
		t.Fatalf("after reopen %+v", got)
	}
	s.Close()

	// A config.json written before the setting existed means the defaults.
	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, configName), []byte(`{"version":1,"users":[],"settings":{"blackout":[]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, old, testOptions(newClock()))
	if got := s.Settings().Housekeeping; got != DefaultHousekeeping() {
		t.Fatalf("old config housekeeping = %+v", got)
	}
}

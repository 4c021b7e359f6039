package appliance

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// at returns a time on the week of Monday 2025-03-10 in a zone east of UTC,
// so that a Contains that used UTC would get the day or hour wrong.
func at(day time.Weekday, hhmm string) time.Time {
	hm, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	zone := time.FixedZone("UTC+10", 10*3600)
	return time.Date(2025, 3, 9+int(day), hm.Hour(), hm.Minute(), 30, 0, zone)
}

func TestWindowContains(t *testing.T) {
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tests := []struct {
		name string
		w    Window
		t    time.Time
		want bool
	}{
		{"inside", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "12:00"), true},
		{"at start", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "08:00"), true},
		{"just before start", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "07:59"), false},
		{"last minute", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "17:59"), true},
		{"at end", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "18:00"), false},
		{"after", Window{Start: "08:00", End: "18:00"}, at(time.Wednesday, "23:00"), false},
		{"weekday filter in", Window{Days: weekdays, Start: "08:00", End: "18:00"}, at(time.Friday, "09:00"), true},
		{"weekday filter out", Window{Days: weekdays, Start: "08:00", End: "18:00"}, at(time.Saturday, "09:00"), false},
		{"sunday", Window{Days: []time.Weekday{time.Sunday}, Start: "00:00", End: "24:00"}, at(time.Sunday, "23:59"), true},
		{"whole day other day", Window{Days: []time.Weekday{time.Sunday}, Start: "00:00", End: "24:00"}, at(time.Monday, "00:00"), false},
		{"wrap evening", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "23:30"), true},
		{"wrap at start", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "22:00"), true},
		{"wrap midnight", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "00:00"), true},
		{"wrap morning", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "05:59"), true},
		{"wrap at end", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "06:00"), false},
		{"wrap midday", Window{Start: "22:00", End: "06:00"}, at(time.Tuesday, "12:00"), false},
		// Days name the day a window starts: Friday 22:00 to Saturday 06:00.
		{"wrap friday night", Window{Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00"}, at(time.Friday, "23:00"), true},
		{"wrap saturday morning", Window{Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00"}, at(time.Saturday, "03:00"), true},
		{"wrap friday morning", Window{Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00"}, at(time.Friday, "03:00"), false},
		{"wrap saturday night", Window{Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00"}, at(time.Saturday, "23:00"), false},
		{"wrap saturday into sunday", Window{Days: []time.Weekday{time.Saturday}, Start: "23:00", End: "01:00"}, at(time.Sunday, "00:30"), true},
		{"wrap sunday from saturday only", Window{Days: []time.Weekday{time.Sunday}, Start: "23:00", End: "01:00"}, at(time.Sunday, "00:30"), false},
		{"invalid window", Window{Start: "8:00", End: "18:00"}, at(time.Wednesday, "12:00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Contains(tt.t); got != tt.want {
				t.Errorf("%+v.Contains(%s) = %v, want %v", tt.w, tt.t.Format("Mon 15:04"), got, tt.want)
			}
		})
	}
}

func TestWindowValidate(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		ok   bool
	}{
		{"plain", Window{Start: "08:00", End: "18:00"}, true},
		{"wrap", Window{Start: "23:59", End: "00:00"}, true},
		{"whole day", Window{Start: "00:00", End: "24:00"}, true},
		{"all days", Window{Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: "01:00", End: "02:00"}, true},
		{"empty start", Window{Start: "", End: "18:00"}, false},
		{"empty end", Window{Start: "08:00", End: ""}, false},
		{"one digit hour", Window{Start: "8:00", End: "18:00"}, false},
		{"seconds", Window{Start: "08:00:00", End: "18:00"}, false},
		{"hour 24 start", Window{Start: "24:00", End: "18:00"}, false},
		{"24:01 end", Window{Start: "08:00", End: "24:01"}, false},
		{"hour 25", Window{Start: "08:00", End: "25:00"}, false},
		{"minute 60", Window{Start: "08:60", End: "18:00"}, false},
		{"dot", Window{Start: "08.00", End: "18:00"}, false},
		{"sign", Window{Start: "+8:00", End: "18:00"}, false},
		{"pm", Window{Start: "8pm", End: "18:00"}, false},
		{"empty window", Window{Start: "08:00", End: "08:00"}, false},
		{"day 7", Window{Days: []time.Weekday{7}, Start: "08:00", End: "18:00"}, false},
		{"day -1", Window{Days: []time.Weekday{-1}, Start: "08:00", End: "18:00"}, false},
		{"day twice", Window{Days: []time.Weekday{1, 2, 1}, Start: "08:00", End: "18:00"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Validate()
			if tt.ok && err != nil {
				t.Errorf("Validate = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, testOptions(newClock()))
	good := Settings{Blackout: []Window{
		{Days: []time.Weekday{time.Monday}, Start: "08:00", End: "18:00"},
		{Start: "22:00", End: "02:00"},
	}}
	tooMany := Settings{}
	for range MaxWindows + 1 {
		tooMany.Blackout = append(tooMany.Blackout, Window{Start: "01:00", End: "02:00"})
	}
	for _, tt := range []struct {
		name    string
		st      Settings
		wantErr string
	}{
		{"second window bad", Settings{Blackout: []Window{good.Blackout[0], {Start: "22:00", End: "22:00"}}}, "blackout window 2:"},
		{"too many", tooMany, "at most"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetSettings(tt.st)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SetSettings = %v, want ErrInvalid with %q", err, tt.wantErr)
			}
			if n := len(s.Settings().Blackout); n != 0 {
				t.Errorf("rejected settings stored: %d windows", n)
			}
		})
	}

	if err := s.SetSettings(good); err != nil {
		t.Fatal(err)
	}
	good.Blackout[0].Days[0] = time.Sunday // the caller's slices are not shared
	got := s.Settings()
	got.Blackout[0].Start = "09:00" // nor are the returned ones
	b, _ := json.Marshal(s.Settings())
	const want = `{"blackout":[{"days":[1],"start":"08:00","end":"18:00"},{"days":[],"start":"22:00","end":"02:00"}],"housekeeping":{"auto":true,"interval_minutes":60}}`
	if string(b) != want {
		t.Errorf("settings JSON\n got %s\nwant %s", b, want)
	}
	if !s.Settings().InBlackout(at(time.Monday, "09:00")) || s.Settings().InBlackout(at(time.Tuesday, "09:00")) ||
		!s.Settings().InBlackout(at(time.Tuesday, "01:00")) {
		t.Error("InBlackout wrong")
	}
	s.Close()
	s = openTest(t, dir, testOptions(newClock()))
	if b, _ := json.Marshal(s.Settings()); string(b) != want {
		t.Errorf("settings JSON after reopen\n got %s\nwant %s", b, want)
	}
	if err := s.SetSettings(Settings{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(s.Settings()); string(b) != `{"blackout":[],"housekeeping":{"auto":true,"interval_minutes":60}}` {
		t.Errorf("cleared settings JSON %s", b)
	}
}

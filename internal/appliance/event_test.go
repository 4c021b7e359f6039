package appliance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecord(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	o := testOptions(c)
	var logs bytes.Buffer
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	s := openTest(t, dir, o)

	stamp := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	e1 := s.Record(Event{Kind: KindAudit, Actor: "alice", Action: "store.create", Object: "s1", Message: "store s1 created", ID: 99})
	e2 := s.Record(Event{Level: LevelError, Action: "verify.damage", Message: "item x damaged", Time: stamp})
	if e1.ID != 1 || !e1.Time.Equal(c.now()) || e1.Level != LevelInfo || e1.Kind != KindAudit {
		t.Errorf("first event %+v", e1)
	}
	if e2.ID != 2 || !e2.Time.Equal(stamp) || e2.Kind != KindSystem {
		t.Errorf("second event %+v", e2)
	}
	for _, want := range []string{`"level":"INFO","msg":"store s1 created","event":1,"kind":"audit","actor":"alice"`, `"level":"ERROR","msg":"item x damaged"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("slog output lacks %s:\n%s", want, logs.String())
		}
	}

	path := filepath.Join(dir, eventsName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("events.jsonl mode %v", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("events.jsonl has %d lines:\n%s", len(lines), b)
	}
	var got Event
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got != e1 {
		t.Errorf("first line %s decodes to %+v, %v", lines[0], got, err)
	}

	s.Close()
	s = openTest(t, dir, o)
	if evs := s.Events(0, 0, ""); len(evs) != 2 || evs[0] != e1 || !evs[1].Time.Equal(e2.Time) {
		t.Errorf("replayed %+v", evs)
	}
	if e := s.Record(Event{Action: "x"}); e.ID != 3 {
		t.Errorf("ID after reopen %d, want 3", e.ID)
	}
}

func TestEventsReplayDamaged(t *testing.T) {
	line := func(id int) string {
		return fmt.Sprintf(`{"id":%d,"time":"2025-01-01T00:00:00Z","level":"info","kind":"system","action":"a%d","message":"m"}`+"\n", id, id)
	}
	tests := []struct {
		name    string
		content string
		ids     []int64
		keep    int // bytes of the file that stay
	}{
		{"clean", line(1) + line(2), []int64{1, 2}, -1},
		{"empty", "", nil, -1},
		{"torn json", line(1) + line(2) + `{"id":3,"ti`, []int64{1, 2}, len(line(1) + line(2))},
		{"complete json without newline", line(1) + strings.TrimSuffix(line(2), "\n"), []int64{1}, len(line(1))},
		{"zeros after crash", line(1) + "\x00\x00\x00\x00", []int64{1}, len(line(1))},
		{"garbage line in the middle", line(1) + "garbage\n" + line(3), []int64{1, 3}, -1},
		{"ids going back", line(1) + line(5) + line(4) + line(6), []int64{1, 5, 6}, -1},
		{"only torn", `{"id":1`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, eventsName)
			os.WriteFile(path, []byte(tt.content), 0o600)
			s := openTest(t, dir, testOptions(newClock()))
			var ids []int64
			for _, e := range s.Events(0, 100, "") {
				ids = append(ids, e.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
				t.Errorf("replayed IDs %v, want %v", ids, tt.ids)
			}
			keep := tt.keep
			if keep < 0 {
				keep = len(tt.content)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content[:keep] {
				t.Errorf("file after open:\n%q\nwant\n%q", b, tt.content[:keep])
			}
			// New events go on a line of their own and survive a reopen.
			var last int64
			if len(tt.ids) > 0 {
				last = tt.ids[len(tt.ids)-1]
			}
			e := s.Record(Event{Action: "after"})
			if e.ID != last+1 {
				t.Errorf("new event ID %d, want %d", e.ID, last+1)
			}
			s.Close()
			s = openTest(t, dir, testOptions(newClock()))
			evs := s.Events(0, 100, "")
			if len(evs) != len(tt.ids)+1 || evs[len(evs)-1].Action != "after" {
				t.Errorf("after reopen: %+v", evs)
			}
		})
	}
}

func TestEventsPaging(t *testing.T) {
	s := openTest(t, t.TempDir(), testOptions(newClock()))
	for i := 1; i <= 250; i++ {
		kind := KindSystem
		if i%3 == 0 {
			kind = KindAudit
		}
		s.Record(Event{Kind: kind, Action: fmt.Sprint("a", i)})
	}
	tests := []struct {
		name        string
		after       int64
		limit       int
		kind        string
		first, last int64
		n           int
	}{
		{"default limit", 0, 0, "", 1, 100, 100},
		{"negative limit", 0, -5, "", 1, 100, 100},
		{"small page", 10, 5, "", 11, 15, 5},
		{"next page", 15, 5, "", 16, 20, 5},
		{"big limit", 0, 1000, "", 1, 250, 250},
		{"tail", 245, 100, "", 246, 250, 5},
		{"past the end", 250, 10, "", 0, 0, 0},
		{"far past the end", 9999, 10, "", 0, 0, 0},
		{"negative after", -7, 3, "", 1, 3, 3},
		{"audit", 0, 3, KindAudit, 3, 9, 3},
		{"audit after", 9, 2, KindAudit, 12, 15, 2},
		{"audit all", 0, 1000, KindAudit, 3, 249, 83},
		{"system", 0, 4, KindSystem, 1, 5, 4},
		{"unknown kind", 0, 10, "nonsense", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := s.Events(tt.after, tt.limit, tt.kind)
			if evs == nil || len(evs) != tt.n {
				t.Fatalf("%d events (nil %v), want %d", len(evs), evs == nil, tt.n)
			}
			if tt.n == 0 {
				return
			}
			if evs[0].ID != tt.first || evs[len(evs)-1].ID != tt.last {
				t.Errorf("IDs %d..%d, want %d..%d", evs[0].ID, evs[len(evs)-1].ID, tt.first, tt.last)
			}
			for i, e := range evs {
				if tt.kind != "" && e.Kind != tt.kind || i > 0 && e.ID <= evs[i-1].ID {
					t.Fatalf("event %d: %+v", i, e)
				}
			}
		})
	}
}

func TestEventsMax(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(newClock())
	o.MaxEvents = 5
	s := openTest(t, dir, o)
	for range 23 {
		s.Record(Event{Action: "x"})
	}
	check := func(when string) {
		t.Helper()
		evs := s.Events(0, 100, "")
		if len(evs) != 5 || evs[0].ID != 19 || evs[4].ID != 23 {
			t.Errorf("%s: %d events, first %d", when, len(evs), evs[0].ID)
		}
	}
	check("live")
	s.Close()
	s = openTest(t, dir, o)
	check("replayed")
	if e := s.Record(Event{}); e.ID != 24 {
		t.Errorf("ID after reopen %d", e.ID)
	}
}

func TestEventsRotate(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(newClock())
	o.MaxEventsFileBytes = 1000
	s := openTest(t, dir, o)
	for range 40 {
		s.Record(Event{Action: "rotate.test", Message: strings.Repeat("m", 50)})
	}
	for _, name := range []string{eventsName, eventsOld} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", name, fi.Size(), fi.Mode().Perm())
		}
	}
	s.Close()
	s = openTest(t, dir, o)
	evs := s.Events(0, 100, "")
	if len(evs) < 8 || evs[len(evs)-1].ID != 40 {
		t.Fatalf("after reopen %d events, last %+v", len(evs), evs[len(evs)-1])
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID != evs[i-1].ID+1 {
			t.Fatalf("gap between %d and %d", evs[i-1].ID, evs[i].ID)
		}
	}
	if e := s.Record(Event{}); e.ID != 41 {
		t.Errorf("ID after reopen %d", e.ID)
	}
}

func TestRecordAfterClose(t *testing.T) {
	s := openTest(t, t.TempDir(), testOptions(newClock()))
	s.Close()
	if e := s.Record(Event{Action: "late"}); e.ID != 1 {
		t.Errorf("Record after Close = %+v", e)
	}
}

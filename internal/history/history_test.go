package history

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/testclock"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// small are tiers a test on disk can fill in a few hundred samples (a
// sample a second): 20 s of samples, 5 s for a minute, 15 s for 2
// minutes, a minute for 4 minutes.
var small = []Tier{{0, 20 * time.Second}, {5 * time.Second, time.Minute}, {15 * time.Second, 2 * time.Minute}, {time.Minute, 4 * time.Minute}}

func smallOptions(dir string) Options {
	o := DefaultOptions(dir)
	o.Interval, o.Tiers = time.Second, small
	return o
}

// feed adds n samples, one every step from clk's time on: stored grows
// by 1000 a sample, logical by 3000, the ingest rate is the sample's
// number.
func feed(t *testing.T, s *Store, clk *testclock.Clock, n int, step time.Duration, start int) {
	t.Helper()
	for i := start; i < start+n; i++ {
		clk.Advance(step)
		p := Point{Time: clk.Now(), StoredBytes: int64(i) * 1000, LogicalBytes: int64(i) * 3000, CapacityBytes: 1 << 40,
			IngestPerSec: float64(i)}
		if err := s.Add(p); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
}

func open(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestYear: a year of samples every 15 minutes, in memory: each tier
// keeps its bound, a coarser point sums up its bucket, and each range
// comes from the tier that covers it, with the newest part from finer
// ones.
func TestYear(t *testing.T) {
	o := DefaultOptions("")
	o.Interval = 15 * time.Minute
	s := open(t, o)
	clk := testclock.New(t0)
	n := 365 * 24 * 4
	feed(t, s, clk, n, 15*time.Minute, 0)
	for i, tr := range s.tiers {
		if len(tr.pts) > tr.keep {
			t.Errorf("tier %d keeps %d points, bound %d", i, len(tr.pts), tr.keep)
		}
	}
	if got := len(s.tiers[0].pts); got != 192 { // 48 h at 15 min
		t.Errorf("tier 0 keeps %d points, want 192", got)
	}
	// A daily point: the last sample of its UTC day and the mean rate of
	// the day's 96 samples.
	day := s.tiers[3].pts[10]
	first := int64(day.StoredBytes/1000) - 95
	if day.Time.Hour() != 23 || day.Time.Minute() != 45 || day.LogicalBytes != 3*day.StoredBytes ||
		day.IngestPerSec != float64(first)+47.5 {
		t.Errorf("daily point %+v", day)
	}
	now := clk.Now()
	for _, c := range []struct {
		span     time.Duration
		min, max int
		step     time.Duration // between the oldest points
	}{
		{24 * time.Hour, 96, 97, 15 * time.Minute},
		{7 * 24 * time.Hour, 7 * 96, 7*96 + 1, 15 * time.Minute},
		{30 * 24 * time.Hour, 360, 375, 2 * time.Hour},
		{365 * 24 * time.Hour, 364, 390, 24 * time.Hour},
	} {
		pts := s.Range(now.Add(-c.span), now)
		if len(pts) < c.min || len(pts) > c.max {
			t.Errorf("range %v: %d points, want %d to %d", c.span, len(pts), c.min, c.max)
			continue
		}
		if d := pts[1].Time.Sub(pts[0].Time); d != c.step {
			t.Errorf("range %v: points %v apart, want %v", c.span, d, c.step)
		}
		for i := 1; i < len(pts); i++ {
			if !pts[i].Time.After(pts[i-1].Time) {
				t.Fatalf("range %v: point %d at %v after %v", c.span, i, pts[i].Time, pts[i-1].Time)
			}
		}
		if last := pts[len(pts)-1]; !last.Time.Equal(now) {
			t.Errorf("range %v ends at %v, want the last sample %v", c.span, last.Time, now)
		}
	}
}

// TestBound: on disk, the files never pass MaxBytes, and the default
// bound is what doc.go says.
func TestBound(t *testing.T) {
	if got := DefaultOptions("").MaxBytes(); got != 579676 {
		t.Errorf("default bound %d bytes, doc.go says 579,676", got)
	}
	dir := t.TempDir()
	o := smallOptions(dir)
	s := open(t, o)
	clk := testclock.New(t0)
	biggest := int64(0)
	for range 20 {
		feed(t, s, clk, 30, time.Second, 0)
		var total int64
		for i := range small {
			fi, err := os.Stat(filepath.Join(dir, "tier-"+string(rune('0'+i))+".hist"))
			if err != nil {
				t.Fatal(err)
			}
			total += fi.Size()
		}
		biggest = max(biggest, total)
	}
	if biggest > o.MaxBytes() {
		t.Errorf("files reached %d bytes, bound %d", biggest, o.MaxBytes())
	}
	if biggest < o.MaxBytes()/2 {
		t.Errorf("files reached %d bytes only: the tiers never filled (bound %d)", biggest, o.MaxBytes())
	}
}

// TestRestart: a history closed and opened again has the same points, and
// the buckets the coarser tiers were filling go on as if it never
// stopped.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	clk, ref := testclock.New(t0), testclock.New(t0)
	mem := open(t, smallOptions(""))
	s, err := Open(smallOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, clk, 100, 1700*time.Millisecond, 0)
	feed(t, mem, ref, 100, 1700*time.Millisecond, 0)
	before := s.Range(t0, clk.Now())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Point{Time: clk.Now().Add(time.Hour)}); !errors.Is(err, ErrClosed) {
		t.Errorf("add after close: %v", err)
	}
	s = open(t, smallOptions(dir))
	if after := s.Range(t0, clk.Now()); !equal(before, after) {
		t.Fatalf("after reopening:\n%v\nbefore:\n%v", after, before)
	}
	feed(t, s, clk, 100, 1700*time.Millisecond, 100)
	feed(t, mem, ref, 100, 1700*time.Millisecond, 100)
	for i := range small {
		if !equal(s.tiers[i].pts, mem.tiers[i].pts) {
			t.Errorf("tier %d after a restart:\n%v\nwithout one:\n%v", i, s.tiers[i].pts, mem.tiers[i].pts)
		}
	}
}

// TestCrash: a torn record at the end of a file is cut off, and a coarser
// point lost between two appends is made again from the finer tier.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	clk := testclock.New(t0)
	s := open(t, smallOptions(dir))
	feed(t, s, clk, 17, time.Second, 0)
	want := [][]Point{append([]Point{}, s.tiers[0].pts...), append([]Point{}, s.tiers[1].pts...)}
	s.Close()
	f0, f1 := filepath.Join(dir, "tier-0.hist"), filepath.Join(dir, "tier-1.hist")
	fi, _ := os.Stat(f1)
	if err := os.Truncate(f1, fi.Size()-recordSize); err != nil { // the last 5 s point never written
		t.Fatal(err)
	}
	f, err := os.OpenFile(f0, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, recordSize/2)) // a torn append
	f.Close()
	s = open(t, smallOptions(dir))
	for i := range want {
		if !equal(s.tiers[i].pts, want[i]) {
			t.Errorf("tier %d after the crash:\n%v\nwant\n%v", i, s.tiers[i].pts, want[i])
		}
	}
	if fi, _ := os.Stat(f0); (fi.Size()-int64(len(magic)))%recordSize != 0 {
		t.Errorf("tier 0 is %d bytes: the torn record is still there", fi.Size())
	}
	os.WriteFile(filepath.Join(dir, "tier-2.hist"), []byte("not a history file"), 0o600)
	if _, err := Open(smallOptions(dir)); !errors.Is(err, ErrFormat) {
		t.Errorf("open over a foreign file: %v", err)
	}
}

func TestOutOfOrder(t *testing.T) {
	s := open(t, smallOptions(""))
	if err := s.Add(Point{Time: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Point{Time: t0}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("same time again: %v", err)
	}
	if err := s.Add(Point{Time: t0.Add(-time.Minute)}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("earlier: %v", err)
	}
	if p, ok := s.Latest(); !ok || !p.Time.Equal(t0) {
		t.Errorf("latest %v %v", p, ok)
	}
}

func TestProject(t *testing.T) {
	line := func(n int, step time.Duration, start, perStep, capacity int64) []Point {
		var pts []Point
		for i := range n {
			pts = append(pts, Point{Time: t0.Add(time.Duration(i) * step), StoredBytes: start + int64(i)*perStep, CapacityBytes: capacity})
		}
		return pts
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		name string
		pts  []Point
		ok   bool
		at   time.Time
	}{
		{"growing", line(30, day, 0, 10, 1000), true, t0.Add(100 * day)},
		{"flat", line(30, day, 500, 0, 1000), false, time.Time{}},
		{"shrinking", line(30, day, 500, -5, 1000), false, time.Time{}},
		{"one point", line(1, day, 0, 10, 1000), false, time.Time{}},
		{"no capacity", line(30, day, 0, 10, 0), false, time.Time{}},
		{"already full", line(30, day, 990, 10, 1000), true, t0.Add(29 * day)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, ok := Project(c.pts)
			if ok != c.ok || !p.FullAt.Equal(c.at) {
				t.Fatalf("projection %+v %v, want %v at %v", p, ok, c.ok, c.at)
			}
			if ok && c.name == "growing" && p.BytesPerDay != 10 {
				t.Errorf("growth %v a day, want 10", p.BytesPerDay)
			}
		})
	}
}

func equal(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Time.Equal(b[i].Time) || a[i].StoredBytes != b[i].StoredBytes || a[i].LogicalBytes != b[i].LogicalBytes ||
			a[i].CapacityBytes != b[i].CapacityBytes || a[i].IngestPerSec != b[i].IngestPerSec || a[i].RestorePerSec != b[i].RestorePerSec {
			return false
		}
	}
	return true
}

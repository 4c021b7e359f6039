package container

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// TestPolicySwitches: auto goes to zstd when the source keeps the stream
// waiting, holds between the thresholds, and goes back to s2 when the
// source is always ready; the next stream starts with the verdict.
func TestPolicySwitches(t *testing.T) {
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	var verdict atomic.Bool
	p := NewPolicy(true, Raw, &verdict, 0, clock)
	if got := p.Pick(); got != S2 {
		t.Fatalf("a new put picks %s, want s2", got)
	}
	// window reads one window of 64 KiB reads: each waits wait for the
	// source, then works for work.
	window := func(wait, work time.Duration) {
		t.Helper()
		r := p.Reader(readerFunc(func(b []byte) (int, error) {
			now = now.Add(wait)
			return len(b), nil
		}))
		buf := make([]byte, 64<<10)
		for range AutoWindow / len(buf) {
			now = now.Add(work)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []struct {
		wait, work time.Duration
		want       Codec
	}{
		{time.Millisecond, 0, Zstd},                    // all waiting
		{time.Millisecond, 5 * time.Millisecond, Zstd}, // 1/6: holds
		{0, time.Millisecond, S2},                      // never waiting
		{time.Millisecond, time.Millisecond, S2},       // 1/2: holds
		{2 * time.Millisecond, time.Millisecond, Zstd},
	} {
		window(step.wait, step.work)
		if got := p.Pick(); got != step.want {
			t.Fatalf("after a window waiting %v and working %v: %s, want %s", step.wait, step.work, got, step.want)
		}
	}
	if got := NewPolicy(true, Raw, &verdict, 0, clock).Pick(); got != Zstd {
		t.Fatalf("the next stream starts with %s, want the last verdict (zstd)", got)
	}
	// A fixed codec never changes nor wraps the source.
	fp := NewPolicy(false, S2, &verdict, 0, clock)
	src := bytes.NewReader(nil)
	if fp.Reader(src) != io.Reader(src) || fp.Pick() != S2 {
		t.Fatal("a fixed policy wraps its source or changes codec")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

package client

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// TestCodecPolicySwitches: auto goes to zstd when the source keeps the put
// waiting, holds between the thresholds, and goes back to s2 when the
// source is always ready; the Client's next put starts with the verdict.
func TestCodecPolicySwitches(t *testing.T) {
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	comp, err := parseCompression("")
	if err != nil {
		t.Fatal(err)
	}
	p := newCodecPolicy(comp, clock)
	if got := p.pick(); got != container.S2 {
		t.Fatalf("a new put picks %s, want s2", got)
	}
	// window reads one window of 64 KiB reads: each waits wait for the
	// source, then works for work.
	window := func(wait, work time.Duration) {
		t.Helper()
		r := p.reader(readerFunc(func(b []byte) (int, error) {
			now = now.Add(wait)
			return len(b), nil
		}))
		buf := make([]byte, 64<<10)
		for range autoWindow / len(buf) {
			now = now.Add(work)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []struct {
		wait, work time.Duration
		want       container.Codec
	}{
		{time.Millisecond, 0, container.Zstd},                    // all waiting
		{time.Millisecond, 5 * time.Millisecond, container.Zstd}, // 1/6: holds
		{0, time.Millisecond, container.S2},                      // never waiting
		{time.Millisecond, time.Millisecond, container.S2},       // 1/2: holds
		{2 * time.Millisecond, time.Millisecond, container.Zstd},
	} {
		window(step.wait, step.work)
		if got := p.pick(); got != step.want {
			t.Fatalf("after a window waiting %v and working %v: %s, want %s", step.wait, step.work, got, step.want)
		}
	}
	if got := newCodecPolicy(comp, clock).pick(); got != container.Zstd {
		t.Fatalf("the next put starts with %s, want the last verdict (zstd)", got)
	}
	// A fixed codec never changes nor wraps the source.
	fixed, err := parseCompression("s2")
	if err != nil {
		t.Fatal(err)
	}
	fp := newCodecPolicy(fixed, clock)
	src := bytes.NewReader(nil)
	if fp.reader(src) != io.Reader(src) || fp.pick() != container.S2 {
		t.Fatal("a fixed policy wraps its source or changes codec")
	}
	if _, err := parseCompression("lz4"); err == nil {
		t.Fatal("compression lz4 accepted")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

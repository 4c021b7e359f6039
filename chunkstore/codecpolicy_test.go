package chunkstore

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// fakeClock is a clock only the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slowSource hands out its bytes 64 KiB at a time, moving the clock on as
// a network source would keep the reader waiting.
type slowSource struct {
	r     io.Reader
	clock *fakeClock
	wait  time.Duration
}

func (s *slowSource) Read(b []byte) (int, error) {
	s.clock.advance(s.wait)
	return s.r.Read(b[:min(len(b), 64<<10)])
}

func TestCodecPolicySwitches(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	var verdict atomic.Bool
	p := &codecPolicy{auto: true, now: clock.now, verdict: &verdict, start: clock.now(), window: autoWindow}
	if got := p.pick(); got != container.S2 {
		t.Fatalf("a new stream picks %s, want s2", got)
	}
	buf := make([]byte, 64<<10)
	// A source that keeps the chunker waiting: zstd.
	r := p.reader(&slowSource{r: bytes.NewReader(make([]byte, 2*autoWindow)), clock: clock, wait: time.Millisecond})
	for range autoWindow / len(buf) {
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.pick(); got != container.Zstd || !verdict.Load() {
		t.Fatalf("a waiting stream picks %s (verdict %v), want zstd", got, verdict.Load())
	}
	// Some waiting, under autoToS2 of the time: zstd holds.
	r = p.reader(&slowSource{r: bytes.NewReader(make([]byte, 2*autoWindow)), clock: clock, wait: 200 * time.Microsecond})
	for range autoWindow / len(buf) {
		clock.advance(time.Millisecond) // the chunker's own work
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.pick(); got != container.Zstd {
		t.Fatalf("a stream waiting 1/6 of the time left zstd for %s", got)
	}
	// A source always ready while the stream works: back to s2.
	r = p.reader(bytes.NewReader(make([]byte, 2*autoWindow)))
	for range autoWindow / len(buf) {
		clock.advance(time.Millisecond)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.pick(); got != container.S2 || verdict.Load() {
		t.Fatalf("a CPU-bound stream picks %s (verdict %v), want s2", got, verdict.Load())
	}
	// A fixed codec never changes.
	fixed := &codecPolicy{fixed: container.S2}
	if fixed.reader(r) != r || fixed.pick() != container.S2 {
		t.Fatal("a fixed policy wraps its source or changes codec")
	}
}

// codecBytes sums the stored bytes of every chunk by codec.
func codecBytes(t *testing.T, e *Engine) map[container.Codec]int64 {
	t.Helper()
	out := map[container.Codec]int64{}
	e.mu.RLock()
	ids := make([]uint64, 0, len(e.containers))
	for id := range e.containers {
		ids = append(ids, id)
	}
	e.mu.RUnlock()
	for _, id := range ids {
		entries, err := e.readFooter(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			out[en.Codec] += int64(en.Stored)
		}
	}
	return out
}

// pacedSource hands out its bytes 64 KiB at a time, each after a pause,
// as a slow network client would.
type pacedSource struct {
	r     io.Reader
	pause time.Duration
}

func (s *pacedSource) Read(b []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(b[:min(len(b), 64<<10)])
}

// TestAutoCompressionSlowSource: by default, a stream whose source keeps
// it waiting is stored with zstd, and reads back intact. The source leaves
// the stream idle far beyond autoToZstd (64 KiB per 25 ms, about 1 ms of
// work), so the verdict does not depend on the machine's speed.
func TestAutoCompressionSlowSource(t *testing.T) {
	e := openTest(t, t.TempDir(), DefaultOptions())
	defer e.Close()
	e.autoWindow = 512 << 10
	ctx := context.Background()
	data := testData(7, 4<<20)
	w, err := e.Create(ctx, DefaultStore, "slow", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFrom(&pacedSource{r: bytes.NewReader(data), pause: 25 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	by := codecBytes(t, e)
	if by[container.Zstd] == 0 {
		t.Fatalf("a waiting stream stored nothing with zstd (%d bytes s2)", by[container.S2])
	}
	got := get(t, e, DefaultStore, "slow")
	if !bytes.Equal(got, data) {
		t.Fatal("item read back differs")
	}
}

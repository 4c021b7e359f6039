package chunkstore

import (
	"bytes"
	"context"
	"io"
	"sync"
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

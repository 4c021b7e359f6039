package catalyst_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/catalyst/client"
)

// words is n bytes of words from one vocabulary in the order of seed:
// zstd's fastest level stores them in about 0.6 of s2's bytes.
func words(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(1, 11))
	vocab := make([]string, 512)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("%x ", r.Uint64()>>r.IntN(48))
	}
	r = rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, 0, n+32)
	for len(b) < n {
		b = append(b, vocab[r.IntN(len(vocab))]...)
	}
	return b[:n]
}

// testClock is a clock only the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// pacedReader is a source the client waits for: each read of at most 64
// KiB moves the client's clock on by wait, as a slow network would.
type pacedReader struct {
	r     io.Reader
	clock *testClock
	wait  time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	p.clock.mu.Lock()
	p.clock.t = p.clock.t.Add(p.wait)
	p.clock.mu.Unlock()
	return p.r.Read(b[:min(len(b), 64<<10)])
}

// TestAutoCompressionFollowsTheSource: a low bandwidth put whose source
// keeps the client waiting sends zstd records after its first window, and
// the appliance stores them as sent; a source that is always ready stays
// on s2; the next put of the same client starts with the last verdict.
func TestAutoCompressionFollowsTheSource(t *testing.T) {
	f := setup(t)
	clock := &testClock{t: time.Unix(1e9, 0)}
	c, err := client.Dial(client.Options{Addr: f.addr, User: "op", Password: password, CAFile: f.ca, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	const n = 12 << 20

	// The test clock stands still while the source is ready: no wait.
	fast := putBytes(t, c, "default", "fast", words(1, n), client.PutOptions{Transfer: "low"})
	perByte := func(r client.PutResult) float64 { return float64(r.Item.NewBytes) / float64(r.Item.Size) }
	s2 := perByte(fast)
	slowData := words(2, n)
	slow, err := c.Put(ctx, "default", "slow", &pacedReader{r: bytes.NewReader(slowData), clock: clock, wait: 10 * time.Millisecond}, client.PutOptions{Transfer: "low"})
	if err != nil {
		t.Fatal(err)
	}
	// The first 4 MiB window is s2, the rest zstd: about 0.75 of s2.
	if got := perByte(slow); got > 0.85*s2 {
		t.Fatalf("a waiting source stored %.3f of its bytes, a ready one %.3f: zstd not used", got, s2)
	}
	if got := getBytes(t, c, "default", "slow", 0, 0); !bytes.Equal(got, slowData) {
		t.Fatal("the zstd records read back different")
	}
	// A short put inherits the verdict.
	short := putBytes(t, c, "default", "short", words(3, 1<<20), client.PutOptions{Transfer: "low"})
	if got := perByte(short); got > 0.75*s2 {
		t.Fatalf("a short put after a slow one stored %.3f of its bytes (s2: %.3f): it did not inherit zstd", got, s2)
	}

	// A fixed codec does not follow the source.
	s2c, err := client.Dial(client.Options{Addr: f.addr, User: "op", Password: password, CAFile: f.ca, Now: clock.now, Compression: client.CompressS2})
	if err != nil {
		t.Fatal(err)
	}
	defer s2c.Close()
	fixed, err := s2c.Put(ctx, "default", "fixed", &pacedReader{r: bytes.NewReader(words(4, n)), clock: clock, wait: 10 * time.Millisecond}, client.PutOptions{Transfer: "low"})
	if err != nil {
		t.Fatal(err)
	}
	if got := perByte(fixed); got < 0.95*s2 {
		t.Fatalf("compression s2 stored %.3f of its bytes, s2 %.3f: not s2", got, s2)
	}
	t.Logf("stored per byte: s2 %.3f, waiting source %.3f, short after it %.3f, fixed s2 %.3f", s2, perByte(slow), perByte(short), perByte(fixed))
	if _, err := client.Dial(client.Options{Addr: f.addr, Compression: "lz4"}); err == nil || !strings.Contains(err.Error(), "lz4") {
		t.Fatalf("compression lz4: %v", err)
	}
}

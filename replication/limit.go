package replication

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// bucket is a token bucket of bytes per second: a reservation takes
// tokens at once, going into debt, and says how long to wait for them.
// Rate 0 is unlimited.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate int64, now func() time.Time) *bucket {
	return &bucket{rate: float64(rate), now: now, last: now()}
}

func (b *bucket) setRate(rate int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rate = float64(rate)
	b.tokens = 0
	b.last = b.now()
}

// burst is what an idle bucket holds: a quarter second of traffic, at
// least 16 KiB.
func (b *bucket) burst() float64 { return max(b.rate/4, 16<<10) }

// reserve takes n bytes and returns how long to wait before sending them.
func (b *bucket) reserve(n int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return 0
	}
	t := b.now()
	b.tokens = min(b.burst(), b.tokens+t.Sub(b.last).Seconds()*b.rate)
	b.last = t
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// meteredConn counts the bytes a connection carries (TLS records, so the
// bytes on the wire less TCP/IP headers) and paces what it sends through
// token buckets: the mapping's and the appliance's.
type meteredConn struct {
	net.Conn
	limits       []*bucket
	sent, recvd  *atomic.Int64
	sleep        func(time.Duration)
	sendPieceLen int
}

func (c *meteredConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := min(len(p)-n, c.sendPieceLen)
		var wait time.Duration
		for _, b := range c.limits {
			wait = max(wait, b.reserve(k))
		}
		if wait > 0 {
			c.sleep(wait)
		}
		w, err := c.Conn.Write(p[n : n+k])
		n += w
		c.sent.Add(int64(w))
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.recvd.Add(int64(n))
	return n, err
}

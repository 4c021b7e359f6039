package container

import (
	"io"
	"sync/atomic"
	"time"
)

// The "auto" compression policy (docs/decisions.md, "Compression"): a
// stream compresses its new chunks with zstd while it is limited by its
// source, and with s2 while it is limited by its own CPU. It measures the
// share of the time the chunker waits for input, over windows of
// AutoWindow bytes:
//
//   - on s2, a stream that waits for input at least AutoToZstd of the time
//     switches to zstd: zstd's fastest level costs about three times what
//     s2 does per byte (hash included), so it keeps up only when s2 leaves
//     most of the time idle;
//   - on zstd, a stream that waits less than AutoToS2 of the time is the
//     bottleneck and goes back to s2.
//
// The engine runs it for each stream it writes; a Catalyst client runs it
// for each put, since client-side dedup spends the codec's CPU there.
const (
	AutoWindow = 4 << 20
	AutoToZstd = 0.6
	AutoToS2   = 0.1
)

// Policy picks the codec of each new chunk of one stream: a fixed codec,
// or auto. Read (through Reader) is called by the stream's chunker; Pick
// may be called from another goroutine.
type Policy struct {
	auto  bool
	fixed Codec
	now   func() time.Time
	// verdict is shared by the streams of one writer of streams (an
	// engine, a client): the last window's choice, with which a new stream
	// starts, so that short items (one file of an SMB copy) inherit it.
	verdict *atomic.Bool
	window  int64
	zstd    atomic.Bool

	start time.Time
	wait  time.Duration
	n     int64
}

// NewPolicy returns a stream's policy: auto when auto is true (starting
// from verdict, which it updates; window bytes per decision, AutoWindow
// when 0), else always fixed.
func NewPolicy(auto bool, fixed Codec, verdict *atomic.Bool, window int64, now func() time.Time) *Policy {
	if window == 0 {
		window = AutoWindow
	}
	p := &Policy{auto: auto, fixed: fixed, now: now, verdict: verdict, window: window}
	if auto {
		p.zstd.Store(verdict.Load())
		p.start = now()
	}
	return p
}

// Pick is the codec for the next new chunk.
func (p *Policy) Pick() Codec {
	switch {
	case !p.auto:
		return p.fixed
	case p.zstd.Load():
		return Zstd
	}
	return S2
}

// Reader wraps the stream's source so that the policy sees how long the
// chunker waits for it; a fixed policy returns r itself.
func (p *Policy) Reader(r io.Reader) io.Reader {
	if !p.auto {
		return r
	}
	return &policyReader{r: r, p: p}
}

type policyReader struct {
	r io.Reader
	p *Policy
}

func (pr *policyReader) Read(b []byte) (int, error) {
	p := pr.p
	t0 := p.now()
	n, err := pr.r.Read(b)
	t1 := p.now()
	p.wait += t1.Sub(t0)
	p.n += int64(n)
	if p.n >= p.window {
		p.decide(t1)
	}
	return n, err
}

// decide ends a window at now.
func (p *Policy) decide(now time.Time) {
	if elapsed := now.Sub(p.start); elapsed > 0 {
		share := float64(p.wait) / float64(elapsed)
		z := p.zstd.Load()
		switch {
		case !z && share >= AutoToZstd:
			z = true
		case z && share < AutoToS2:
			z = false
		}
		p.zstd.Store(z)
		p.verdict.Store(z)
	}
	p.start, p.wait, p.n = now, 0, 0
}

// Compressors are one worker's, one per codec a policy may pick (made on
// first use).
type Compressors [Zstd + 1]*Compressor

// Get returns the worker's compressor for codec.
func (cs *Compressors) Get(codec Codec) (*Compressor, error) {
	if cs[codec] == nil {
		c, err := NewCompressor(codec)
		if err != nil {
			return nil, err
		}
		cs[codec] = c
	}
	return cs[codec], nil
}

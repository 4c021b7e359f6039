package chunkstore

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// The "auto" compression policy (docs/decisions.md, "Compression"): a
// stream compresses its new chunks with zstd while it is limited by its
// source, and with s2 while it is limited by its own CPU. The chunker
// measures the share of the time it waits for input, over windows of
// autoWindow bytes:
//
//   - on s2, a stream that waits for input at least autoToZstd of the time
//     switches to zstd: zstd's fastest level costs the workers about three
//     times what s2 does per byte (hash included), so it keeps up only when
//     s2 leaves most of the time idle;
//   - on zstd, a stream that waits less than autoToS2 of the time is the
//     bottleneck and goes back to s2.
//
// A stream starts with the last verdict of any stream (Engine.autoZstd), so
// that short items (one file of an SMB copy) inherit it.
const (
	autoWindow = 4 << 20
	autoToZstd = 0.6
	autoToS2   = 0.1
)

// codecPolicy picks the codec of each new chunk of one stream. Only the
// chunker goroutine calls Read and pick; workers read the codec of their job.
type codecPolicy struct {
	auto  bool
	fixed container.Codec
	now   func() time.Time
	// verdict is shared by the engine's streams: the last window's choice.
	verdict *atomic.Bool

	window int64 // bytes per verdict (autoWindow)
	zstd   bool
	start  time.Time
	wait   time.Duration
	n      int64
}

func (e *Engine) newCodecPolicy() *codecPolicy {
	p := &codecPolicy{auto: e.auto, fixed: e.codec, now: e.opts.Now, verdict: &e.autoZstd, window: e.autoWindow}
	if p.auto {
		p.zstd = p.verdict.Load()
		p.start = p.now()
	}
	return p
}

// pick is the codec for the next new chunk.
func (p *codecPolicy) pick() container.Codec {
	switch {
	case !p.auto:
		return p.fixed
	case p.zstd:
		return container.Zstd
	}
	return container.S2
}

// reader wraps the stream's source so that the policy sees how long the
// chunker waits for it.
func (p *codecPolicy) reader(r io.Reader) io.Reader {
	if !p.auto {
		return r
	}
	return &policyReader{r: r, p: p}
}

type policyReader struct {
	r io.Reader
	p *codecPolicy
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
func (p *codecPolicy) decide(now time.Time) {
	elapsed := now.Sub(p.start)
	if elapsed > 0 {
		share := float64(p.wait) / float64(elapsed)
		switch {
		case !p.zstd && share >= autoToZstd:
			p.zstd = true
		case p.zstd && share < autoToS2:
			p.zstd = false
		}
		p.verdict.Store(p.zstd)
	}
	p.start, p.wait, p.n = now, 0, 0
}

// compressors are a worker's, one per codec the policy may pick (made on
// first use).
type compressors struct {
	by [container.Zstd + 1]*container.Compressor
}

func (c *compressors) get(codec container.Codec) (*container.Compressor, error) {
	if c.by[codec] == nil {
		comp, err := container.NewCompressor(codec)
		if err != nil {
			return nil, err
		}
		c.by[codec] = comp
	}
	return c.by[codec], nil
}

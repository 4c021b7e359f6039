package client

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// The "auto" compression of a low bandwidth put is the engine's policy
// (chunkstore/codecpolicy.go, docs/decisions.md "Compression") run on the
// client, where client-side dedup spends the codec's CPU: the producer
// measures the share of the time it waits for the source, over windows
// of autoWindow bytes; on s2, a put that waits at least autoToZstd of the
// time switches to zstd (zstd's fastest level costs about three times
// s2's CPU per byte, so it keeps up only when s2 leaves most of the time
// idle); on zstd, one that waits less than autoToS2 goes back to s2. A put
// starts with the last verdict of the Client's puts. Servers have taken
// zstd records since the first version of the protocol (the codec is per
// chunk message), so any server accepts what auto sends.
const (
	autoWindow = 4 << 20
	autoToZstd = 0.6
	autoToS2   = 0.1
)

// Compression policies of Options.Compression.
const (
	CompressAuto = "auto"
	CompressS2   = "s2"
	CompressZstd = "zstd"
	CompressNone = "none"
)

// compression is a Client's parsed Options.Compression.
type compression struct {
	auto  bool
	fixed container.Codec
	// zstd is the last verdict of auto, shared by the Client's puts.
	zstd atomic.Bool
}

func parseCompression(name string) (*compression, error) {
	if name == "" || name == CompressAuto {
		return &compression{auto: true}, nil
	}
	codec, err := container.ParseCodec(name)
	if err != nil {
		return nil, fmt.Errorf("catalyst client: compression %q (want auto, s2, zstd or none)", name)
	}
	return &compression{fixed: codec}, nil
}

// codecPolicy picks the codec of one put's chunks. The producer calls
// Read; the goroutine that compresses calls pick.
type codecPolicy struct {
	c   *compression
	now func() time.Time
	// zstd is this put's verdict, read by pick.
	zstd atomic.Bool

	start time.Time
	wait  time.Duration
	n     int64
}

func newCodecPolicy(c *compression, now func() time.Time) *codecPolicy {
	p := &codecPolicy{c: c, now: now}
	if c.auto {
		p.zstd.Store(c.zstd.Load())
		p.start = now()
	}
	return p
}

// pick is the codec of the next chunk sent.
func (p *codecPolicy) pick() container.Codec {
	switch {
	case !p.c.auto:
		return p.c.fixed
	case p.zstd.Load():
		return container.Zstd
	}
	return container.S2
}

// reader wraps the put's source so that the policy sees the waits.
func (p *codecPolicy) reader(r io.Reader) io.Reader {
	if !p.c.auto {
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
	if p.n >= autoWindow {
		p.decide(t1)
	}
	return n, err
}

// decide ends a window at now.
func (p *codecPolicy) decide(now time.Time) {
	if elapsed := now.Sub(p.start); elapsed > 0 {
		share := float64(p.wait) / float64(elapsed)
		z := p.zstd.Load()
		switch {
		case !z && share >= autoToZstd:
			z = true
		case z && share < autoToS2:
			z = false
		}
		p.zstd.Store(z)
		p.c.zstd.Store(z)
	}
	p.start, p.wait, p.n = now, 0, 0
}

// compressors are one worker's, one per codec (made on first use).
type compressors [container.Zstd + 1]*container.Compressor

func (cs *compressors) get(codec container.Codec) (*container.Compressor, error) {
	if cs[codec] == nil {
		c, err := container.NewCompressor(codec)
		if err != nil {
			return nil, err
		}
		cs[codec] = c
	}
	return cs[codec], nil
}

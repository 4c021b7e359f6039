package client

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// Compression policies of Options.Compression. "auto" is the engine's
// policy (container.Policy, docs/decisions.md "Compression") run on the
// client, where client-side dedup spends the codec's CPU. Servers have
// taken zstd records since the first version of the protocol (the codec is
// per chunk message), so any server accepts what auto sends.
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
	// verdict is the last verdict of auto, with which the Client's next
	// put starts.
	verdict atomic.Bool
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

// newCodecPolicy is one put's policy.
func newCodecPolicy(c *compression, now func() time.Time) *container.Policy {
	return container.NewPolicy(c.auto, c.fixed, &c.verdict, 0, now)
}

package chunker

import (
	"fmt"
	"io"

	"github.com/backstop-appliance/backstop/dedup"
)

// Algorithm names a chunking algorithm and the version of its boundary rule:
// dedup.ChunkerAlgorithm, recorded per dedup domain.
type Algorithm = dedup.ChunkerAlgorithm

const (
	// Gear is the default: a FastCDC-style gear-hash chunker with normalized
	// chunking. Version 1 of its boundary rule is pinned by testdata/.
	Gear = dedup.Gear
	// Rabin is github.com/restic/chunker's Rabin-fingerprint chunker.
	Rabin = dedup.Rabin
)

// ErrParams reports chunking parameters that no chunker accepts
// (dedup.ErrChunkerParams).
var ErrParams = dedup.ErrChunkerParams

// Params is everything that decides where boundaries fall: the
// dedup.ChunkerParams of a domain. Params.Validate checks them.
type Params = dedup.ChunkerParams

// Chunker splits a stream into content-defined chunks.
type Chunker interface {
	// Next returns the next chunk. The slice is valid only until the next
	// call. After the last chunk it returns io.EOF; a read error is returned
	// as is. An empty stream yields io.EOF at once.
	Next() ([]byte, error)
}

// New returns a chunker over r with the given parameters.
func New(r io.Reader, p Params) (Chunker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch p.Algorithm {
	case Gear:
		return newGear(r, p), nil
	case Rabin:
		return newRabin(r, p), nil
	}
	return nil, fmt.Errorf("%w: unknown algorithm %q", ErrParams, p.Algorithm)
}

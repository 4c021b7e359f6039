package chunker

import (
	"errors"
	"fmt"
	"io"
)

// Algorithm names a chunking algorithm and the version of its boundary rule.
// It is recorded per dedup domain: once a domain holds data, its algorithm and
// parameters never change, or equal data would stop deduplicating.
type Algorithm string

const (
	// Gear is the default: a FastCDC-style gear-hash chunker with normalized
	// chunking. Version 1 of its boundary rule is pinned by testdata/.
	Gear Algorithm = "gear-v1"
	// Rabin is github.com/restic/chunker's Rabin-fingerprint chunker.
	Rabin Algorithm = "rabin-v1"
)

// ErrParams reports chunking parameters that no chunker accepts.
var ErrParams = errors.New("chunker: invalid parameters")

// Params is everything that decides where boundaries fall.
type Params struct {
	Algorithm Algorithm `json:"algorithm"`
	Min       int       `json:"min"` // no chunk is shorter, except the last
	Avg       int       `json:"avg"` // target average, a power of two
	Max       int       `json:"max"` // no chunk is longer
	// Seed selects the gear table (Gear) or the irreducible polynomial
	// (Rabin, which needs a valid restic/chunker Pol). 0 means the default.
	Seed uint64 `json:"seed"`
}

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

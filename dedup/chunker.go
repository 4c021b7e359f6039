package dedup

import (
	"errors"
	"fmt"
)

// ErrChunkerParams reports chunking parameters that no chunker accepts.
// Package chunker re-exports it as chunker.ErrParams.
var ErrChunkerParams = errors.New("chunker: invalid parameters")

// ChunkerAlgorithm names a chunking algorithm and the version of its boundary
// rule. It is recorded per dedup domain: once a domain holds data, its
// algorithm and parameters never change, or equal data would stop
// deduplicating.
type ChunkerAlgorithm string

const (
	// Gear is the default: a FastCDC-style gear-hash chunker with normalized
	// chunking. Version 1 of its boundary rule is pinned by chunker's testdata/.
	Gear ChunkerAlgorithm = "gear-v1"
	// Rabin is github.com/restic/chunker's Rabin-fingerprint chunker.
	Rabin ChunkerAlgorithm = "rabin-v1"
)

// ChunkerParams is everything that decides where chunk boundaries fall.
// Package chunker calls it Params.
type ChunkerParams struct {
	Algorithm ChunkerAlgorithm `json:"algorithm"`
	Min       int              `json:"min"` // no chunk is shorter, except the last
	Avg       int              `json:"avg"` // target average, a power of two
	Max       int              `json:"max"` // no chunk is longer
	// Seed selects the gear table (Gear) or the irreducible polynomial
	// (Rabin, which needs a valid restic/chunker Pol). 0 means the default.
	Seed uint64 `json:"seed"`
}

// Limits enforced by ChunkerParams.Validate.
const (
	minAvg   = 1 << 10  // smallest accepted Avg
	maxAvg   = 8 << 20  // largest accepted Avg
	minMin   = 64       // smallest accepted Min: one hash window
	maxMax   = 64 << 20 // largest accepted Max
	rabinDeg = 53       // degree of every accepted Rabin polynomial
)

// Validate reports whether some chunker accepts p. Errors wrap
// ErrChunkerParams.
//
// Avg must be a power of two from 1 KiB to 8 MiB, and 64 <= Min < Avg < Max
// <= 64 MiB. For Rabin a nonzero Seed is the polynomial, which must be
// irreducible over GF(2) and of degree 53, as restic/chunker generates them.
func (p ChunkerParams) Validate() error {
	switch p.Algorithm {
	case Gear, Rabin:
	default:
		return fmt.Errorf("%w: unknown algorithm %q", ErrChunkerParams, p.Algorithm)
	}
	if p.Avg < minAvg || p.Avg > maxAvg || p.Avg&(p.Avg-1) != 0 {
		return fmt.Errorf("%w: avg %d is not a power of two from %d to %d",
			ErrChunkerParams, p.Avg, minAvg, maxAvg)
	}
	if p.Min < minMin || p.Min >= p.Avg {
		return fmt.Errorf("%w: min %d is not in [%d, avg %d)",
			ErrChunkerParams, p.Min, minMin, p.Avg)
	}
	if p.Max <= p.Avg || p.Max > maxMax {
		return fmt.Errorf("%w: max %d is not in (avg %d, %d]",
			ErrChunkerParams, p.Max, p.Avg, maxMax)
	}
	if p.Algorithm == Rabin && p.Seed != 0 {
		if polyDeg(p.Seed) != rabinDeg || !polyIrreducible(p.Seed) {
			return fmt.Errorf("%w: seed %#x is not an irreducible polynomial of degree %d",
				ErrChunkerParams, p.Seed, rabinDeg)
		}
	}
	return nil
}

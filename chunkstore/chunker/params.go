package chunker

import (
	"fmt"
	"math/bits"

	rchunker "github.com/restic/chunker"
)

// DefaultAvg is the target average chunk size of DefaultParams.
const DefaultAvg = 64 << 10

// Limits enforced by Params.Validate.
const (
	minAvg     = 1 << 10  // smallest accepted Avg
	maxAvg     = 8 << 20  // largest accepted Avg
	minMin     = 64       // smallest accepted Min: one hash window
	maxMax     = 64 << 20 // largest accepted Max
	rabinDeg   = 53       // degree of every accepted Rabin polynomial
	defaultPol = rchunker.Pol(0x3DA3358B4DC173)
)

// DefaultParams returns the parameters of new dedup domains: Gear with
// Avg = DefaultAvg, Min = Avg/4, Max = Avg*4 and the default gear table
// (Seed 0). With normalized chunking the mean chunk length comes out a little
// above Avg (about 1.15 * Avg on random data).
func DefaultParams() Params {
	return Params{
		Algorithm: Gear,
		Min:       DefaultAvg / 4,
		Avg:       DefaultAvg,
		Max:       DefaultAvg * 4,
		Seed:      0,
	}
}

// Validate reports whether some chunker accepts p. Errors wrap ErrParams.
//
// Avg must be a power of two from 1 KiB to 8 MiB, and 64 <= Min < Avg < Max
// <= 64 MiB. For Rabin a nonzero Seed is the polynomial, which must be
// irreducible over GF(2) and of degree 53, as restic/chunker generates them.
func (p Params) Validate() error {
	switch p.Algorithm {
	case Gear, Rabin:
	default:
		return fmt.Errorf("%w: unknown algorithm %q", ErrParams, p.Algorithm)
	}
	if p.Avg < minAvg || p.Avg > maxAvg || p.Avg&(p.Avg-1) != 0 {
		return fmt.Errorf("%w: avg %d is not a power of two from %d to %d",
			ErrParams, p.Avg, minAvg, maxAvg)
	}
	if p.Min < minMin || p.Min >= p.Avg {
		return fmt.Errorf("%w: min %d is not in [%d, avg %d)",
			ErrParams, p.Min, minMin, p.Avg)
	}
	if p.Max <= p.Avg || p.Max > maxMax {
		return fmt.Errorf("%w: max %d is not in (avg %d, %d]",
			ErrParams, p.Max, p.Avg, maxMax)
	}
	if p.Algorithm == Rabin && p.Seed != 0 {
		pol := rchunker.Pol(p.Seed)
		if pol.Deg() != rabinDeg || !pol.Irreducible() {
			return fmt.Errorf("%w: seed %#x is not an irreducible polynomial of degree %d",
				ErrParams, p.Seed, rabinDeg)
		}
	}
	return nil
}

// avgBits returns log2(Avg) for a validated Avg.
func avgBits(avg int) int {
	return bits.TrailingZeros(uint(avg))
}

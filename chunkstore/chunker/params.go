package chunker

import (
	"math/bits"

	rchunker "github.com/restic/chunker"
)

// DefaultAvg is the target average chunk size of DefaultParams.
const DefaultAvg = 64 << 10

// Limits that Params.Validate (dedup.ChunkerParams.Validate) enforces, as
// the tests need them, and the default Rabin polynomial.
const (
	minMin     = 64 // smallest accepted Min: one hash window
	rabinDeg   = 53 // degree of every accepted Rabin polynomial
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

// avgBits returns log2(Avg) for a validated Avg.
func avgBits(avg int) int {
	return bits.TrailingZeros(uint(avg))
}

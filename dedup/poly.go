package dedup

import "math/bits"

// Polynomials over GF(2) in a uint64, bit i the coefficient of x^i, as
// github.com/restic/chunker's Pol. Only what ChunkerParams.Validate needs to
// check a Rabin seed without importing restic/chunker; chunker's tests check
// that it agrees with restic's Pol.Irreducible.

// polyDeg is the degree of f; -1 for the zero polynomial.
func polyDeg(f uint64) int { return bits.Len64(f) - 1 }

// polyMod is a mod m, m nonzero.
func polyMod(a, m uint64) uint64 {
	dm := polyDeg(m)
	for d := polyDeg(a); d >= dm; d = polyDeg(a) {
		a ^= m << uint(d-dm)
	}
	return a
}

// polyMulMod is a*b mod f for a and b of lower degree than f, deg f <= 62.
func polyMulMod(a, b, f uint64) uint64 {
	d := polyDeg(f)
	var r uint64
	for i := polyDeg(b); i >= 0; i-- {
		r <<= 1
		if r>>uint(d)&1 != 0 {
			r ^= f
		}
		if b>>uint(i)&1 != 0 {
			r ^= a
		}
	}
	return r
}

// polyGCD is the greatest common divisor of a and b.
func polyGCD(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, polyMod(a, b)
	}
	return a
}

// polyIrreducible reports whether f, of degree 1 to 62, is irreducible: by
// Ben-Or's test, gcd(x^(2^i) - x mod f, f) = 1 for every i up to deg f / 2.
func polyIrreducible(f uint64) bool {
	d := polyDeg(f)
	if d < 1 || d > 62 {
		return false
	}
	if d == 1 {
		return true
	}
	const x = 2
	r := uint64(x) // x^(2^i) mod f, for i = 0 now
	for i := 1; i <= d/2; i++ {
		r = polyMulMod(r, r, f)
		if polyGCD(f, r^x) != 1 {
			return false
		}
	}
	return true
}

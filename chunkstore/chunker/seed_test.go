package chunker

import (
	"math/rand/v2"
	"testing"

	rchunker "github.com/restic/chunker"
)

// TestRabinSeedMatchesRestic checks that Params.Validate, which lives in
// package dedup and checks Rabin seeds without restic/chunker, accepts
// exactly the polynomials restic/chunker calls irreducible of degree 53.
func TestRabinSeedMatchesRestic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var seeds []uint64
	// Random degree-53 candidates, as DerivePolynomial draws them: about
	// one in 53 is irreducible.
	for range 400 {
		seeds = append(seeds, rng.Uint64()&(1<<54-1)|1<<53|1)
	}
	// Irreducible ones derived by restic itself, and some that are not of
	// degree 53 or are even.
	for i := range 10 {
		pol, err := rchunker.DerivePolynomial(rand.NewChaCha8([32]byte{byte(i)}))
		if err != nil {
			t.Fatalf("DerivePolynomial: %v", err)
		}
		seeds = append(seeds, uint64(pol), uint64(pol)^1, uint64(pol)<<1, uint64(pol)>>1)
	}
	seeds = append(seeds, uint64(defaultPol), 1<<53|1, 1<<53|1<<1|1, 1<<62|1, 3)
	accepted := 0
	for _, seed := range seeds {
		pol := rchunker.Pol(seed)
		want := pol.Deg() == rabinDeg && pol.Irreducible()
		p := Params{Algorithm: Rabin, Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10, Seed: seed}
		if got := p.Validate() == nil; got != want {
			t.Errorf("seed %#x: Validate accepts it = %v, restic irreducible of degree 53 = %v", seed, got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < 15 {
		t.Fatalf("only %d irreducible seeds among %d: the test checks too little", accepted, len(seeds))
	}
}

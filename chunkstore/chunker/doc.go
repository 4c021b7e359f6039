// Package chunker splits byte streams into content-defined chunks for
// deduplication.
//
// Where a boundary falls depends only on the bytes of the stream and on
// Params, never on how the reader splits its reads. A boundary rule, once
// released under an Algorithm name, never changes: golden vectors in
// testdata/ (chunk lengths and BLAKE3-256 hashes of a fixed 8 MiB input for
// several Params per algorithm) pin both rules, and a change that alters them
// needs a new Algorithm version.
//
// # Gear boundary rule
//
// Gear (gear-v1) is FastCDC (Xia et al., USENIX ATC 2016) with normalized
// chunking at normalization level 2.
//
// The gear table G holds 256 uint64 values: the first 256 outputs of
// SplitMix64 (Steele, Lea and Flood; state += 0x9e3779b97f4a7c15, then the
// usual mix with 0xbf58476d1ce4e5b9 and 0x94d049bb133111eb), started from
// the state 0x6261636b73746f70 ("backstop") XOR Params.Seed. G[0] is the
// first output.
//
// The fingerprint after byte x[i] is fp(i) = fp(i-1)<<1 + G[x[i]] modulo
// 2^64. Since each term is shifted out after 64 more bytes, fp(i) is a
// function of the 64 bytes x[i-63..i] only:
//
//	fp(i) = sum over k in 0..63 of G[x[i-k]] << k   (mod 2^64)
//
// With b = log2(Avg), the two masks are the top bits of the word:
//
//	strict = the top b+2 bits set (^0 << (64-(b+2)))
//	loose  = the top b-2 bits set (^0 << (64-(b-2)))
//
// Each chunk starts where the previous one ended (the first at the start of
// the stream). With x[j] the j-th byte from the chunk's start, the chunk's
// length is the smallest n such that
//
//	n == Max, or
//	Min <= n < Avg and fp(n-1) & strict == 0, or
//	Avg <= n < Max and fp(n-1) & loose == 0,
//
// or the number of bytes left in the stream if that is smaller. The
// fingerprint is not computed for the first Min-64 bytes of a chunk; it
// starts from zero at x[Min-64], so every tested fingerprint covers a full
// 64-byte window inside the chunk, and whether x[i] ends a chunk is decided
// by the 64 bytes x[i-63..i] and the chunk length i+1 alone. (Plain FastCDC
// starts hashing at x[Min], so its first 63 tests see a partial window.)
// Chunks are thus in [Min, Max], except that the last one may be shorter.
//
// The strict mask below Avg and the loose mask above it pull chunk lengths
// towards Avg. On random data the mean chunk length with Min = Avg/4 and
// Max = 4*Avg is about 1.15*Avg, and very few chunks reach Max. A run of one
// repeated byte value c has the constant fingerprint -G[c]; with the default
// table and Avg >= 2 KiB, runs of every byte value (zeros included) are cut
// at Max. (With Avg = 1 KiB, runs of 0x3a are cut at Avg.)
//
// # Rabin
//
// Rabin (rabin-v1) is github.com/restic/chunker v0.4.0: a Rabin fingerprint
// over a 64-byte sliding window, modulo an irreducible polynomial of degree
// 53 over GF(2). The polynomial is Params.Seed, or 0x3DA3358B4DC173 when Seed
// is 0. A chunk of length n is cut when n == Max, or when n >= Min and the
// low log2(Avg) bits of the fingerprint of the window ending at byte n-1 are
// all zero. restic starts hashing 64 bytes before Min, so each tested
// fingerprint covers exactly the 64 bytes ending at the candidate byte.
// There is no normalization, so the mean chunk length on random data is
// about Min + Avg. Sixty-four zero bytes have a zero fingerprint, so Rabin
// cuts long runs of zeros at Min.
package chunker

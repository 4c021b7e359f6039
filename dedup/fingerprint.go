package dedup

import "encoding/hex"

// FingerprintSize is the length of a Fingerprint in bytes.
const FingerprintSize = 32

// Fingerprint is a keyed BLAKE3-256 digest of a raw chunk; the key is the
// chunk's dedup domain's, so equal data in two domains gets two
// fingerprints.
type Fingerprint [FingerprintSize]byte

// String returns the fingerprint in hex.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// RecipeEntry is one chunk of an item, in order: an item's bytes are its
// recipe's chunks back to back.
type RecipeEntry struct {
	FP  Fingerprint
	Len uint32 // raw length of the chunk
}

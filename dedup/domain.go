package dedup

import "time"

// Domain is a dedup domain: its key makes its fingerprints, so equal data
// in two domains never shares a chunk. It is stored as JSON in the index.
type Domain struct {
	ID      uint32        `json:"id"`
	Name    string        `json:"name"`
	Key     []byte        `json:"key"`
	Chunker ChunkerParams `json:"chunker"`
	Created time.Time     `json:"created"`
	// Encryption, when set, says the domain's containers are sealed
	// (encryption at rest, chunkstore/crypt.go). Nil: plain containers.
	Encryption *Encryption `json:"encryption,omitempty"`
}

// Encryption describes where a domain's encryption key is; the key itself
// is never in the index. It is not the fingerprint Key above: that one is
// in the index, beside the data it would protect.
type Encryption struct {
	// KeyFile is the key's file; "" is keys/domain-ID.key in the data
	// directory.
	KeyFile string `json:"keyFile,omitempty"`
	// KeyID names the key (container.KeyID) so that a wrong key is told
	// from the right one.
	KeyID string `json:"keyID"`
}

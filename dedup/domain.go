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
}

package index

import (
	"encoding/binary"
	"math/bits"
	"sync"

	"github.com/backstop-appliance/backstop/dedup"
)

const (
	filterProbes      = 7
	filterBitsPerItem = 10
	filterMinItems    = 1 << 16
)

// Filter is a scalable Bloom filter over fingerprints. It is safe for
// concurrent use. MayContain never answers false for a fingerprint that was
// added.
type Filter struct {
	mu     sync.RWMutex
	layers []*bloom
}

type bloom struct {
	words []uint64
	mask  uint64 // number of bits - 1
	cap   int
	n     int
}

func newBloom(items int) *bloom {
	nbits := uint64(1) << bits.Len64(uint64(items*filterBitsPerItem-1))
	return &bloom{words: make([]uint64, nbits/64), mask: nbits - 1, cap: items}
}

func probes(fp *dedup.Fingerprint) (h1, h2 uint64) {
	return binary.LittleEndian.Uint64(fp[0:8]), binary.LittleEndian.Uint64(fp[8:16]) | 1
}

func (b *bloom) add(fp *dedup.Fingerprint) {
	h1, h2 := probes(fp)
	for i := uint64(0); i < filterProbes; i++ {
		bit := (h1 + i*h2) & b.mask
		b.words[bit/64] |= 1 << (bit % 64)
	}
	b.n++
}

func (b *bloom) has(fp *dedup.Fingerprint) bool {
	h1, h2 := probes(fp)
	for i := uint64(0); i < filterProbes; i++ {
		bit := (h1 + i*h2) & b.mask
		if b.words[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// NewFilter returns a filter sized for about expected fingerprints.
func NewFilter(expected int) *Filter {
	return &Filter{layers: []*bloom{newBloom(max(expected, filterMinItems))}}
}

// Add records fp.
func (f *Filter) Add(fp dedup.Fingerprint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.layers[len(f.layers)-1]
	if last.n >= last.cap {
		last = newBloom(last.cap * 2)
		f.layers = append(f.layers, last)
	}
	last.add(&fp)
}

// MayContain reports whether fp may have been added.
func (f *Filter) MayContain(fp dedup.Fingerprint) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, l := range f.layers {
		if l.has(&fp) {
			return true
		}
	}
	return false
}

// Bytes is the memory the filter's bit arrays take.
func (f *Filter) Bytes() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, l := range f.layers {
		n += len(l.words) * 8
	}
	return n
}

// Count is how many fingerprints were added.
func (f *Filter) Count() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, l := range f.layers {
		n += l.n
	}
	return n
}

package vfs

import (
	"math"
	"sort"
)

// Range is the byte range [Off, Off+Len) of a file.
type Range struct{ Off, Len int64 }

// Sparser is a File that keeps the holes of sparse files ([MS-FSA]
// 2.1.5.10.22, 2.1.5.10.36): ranges of a file with AttrSparse that read
// as zeros and hold no data. It is optional; the SMB layer reports every
// byte of a file allocated, and zeroes ranges by writing zeros, when a
// File lacks it.
//
// The rules are NTFS's: a file without AttrSparse has no holes (every
// byte up to its size is allocated); setting the attribute keeps the
// bytes allocated, clearing it fills the holes. While a file is sparse,
// the bytes between its end and a write or a truncate past it are a
// hole, and PunchHole makes one.
type Sparser interface {
	// PunchHole makes [off, off+n) read as zeros without changing the
	// size (the part past the end is ignored); in a sparse file the
	// range becomes a hole.
	PunchHole(off, n int64) error
	// DataRanges returns the allocated parts of [off, off+n), clipped
	// to it and to the size, in order and merged.
	DataRanges(off, n int64) ([]Range, error)
}

// Holes is the hole map of a sparse file, for filesystems implementing
// Sparser: sorted, disjoint, merged ranges [Start, End).
type Holes []Hole

// Hole is the range [Start, End).
type Hole struct{ Start, End int64 }

// Add marks [a, b) as a hole.
func (h *Holes) Add(a, b int64) {
	if a >= b {
		return
	}
	s := *h
	i := sort.Search(len(s), func(i int) bool { return s[i].End >= a })
	j := i
	for j < len(s) && s[j].Start <= b {
		a, b = min(a, s[j].Start), max(b, s[j].End)
		j++
	}
	out := make(Holes, 0, len(s)-(j-i)+1)
	out = append(out, s[:i]...)
	out = append(out, Hole{a, b})
	*h = append(out, s[j:]...)
}

// Remove marks [a, b) as data.
func (h *Holes) Remove(a, b int64) {
	if a >= b || len(*h) == 0 {
		return
	}
	out := make(Holes, 0, len(*h)+1)
	for _, e := range *h {
		if e.End <= a || e.Start >= b {
			out = append(out, e)
			continue
		}
		if e.Start < a {
			out = append(out, Hole{e.Start, a})
		}
		if e.End > b {
			out = append(out, Hole{b, e.End})
		}
	}
	*h = out
}

// Wrote notes a write of [off, end) to a file whose size was size:
// the range is data, and in a sparse file the gap from the old end to
// off is a hole.
func (h *Holes) Wrote(size, off, end int64, sparse bool) {
	if sparse && off > size {
		h.Add(size, off)
	}
	h.Remove(off, end)
}

// Resized notes a size change from size to to: a shrink drops the holes
// past the new end, a growth of a sparse file adds one.
func (h *Holes) Resized(size, to int64, sparse bool) {
	switch {
	case to < size:
		h.Remove(to, math.MaxInt64)
	case sparse:
		h.Add(size, to)
	}
}

// Data returns the parts of [a, b) that are not holes, in order.
func (h Holes) Data(a, b int64) []Range {
	var out []Range
	i := sort.Search(len(h), func(i int) bool { return h[i].End > a })
	for p := a; p < b; i++ {
		if i >= len(h) || h[i].Start >= b {
			out = append(out, Range{p, b - p})
			break
		}
		if h[i].Start > p {
			out = append(out, Range{p, h[i].Start - p})
		}
		p = h[i].End
	}
	return out
}

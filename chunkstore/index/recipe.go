package index

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/backstop-appliance/backstop/dedup"
)

// SegmentLen is the most entries a recipe segment holds.
const SegmentLen = 1024

// ErrCorrupt reports a value in the index that does not decode.
var ErrCorrupt = errors.New("index: corrupt value")

// EncodeSegment appends the encoding of entries to dst.
func EncodeSegment(dst []byte, entries []dedup.RecipeEntry) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for _, e := range entries {
		dst = append(dst, e.FP[:]...)
		dst = binary.AppendUvarint(dst, uint64(e.Len))
	}
	return dst
}

// DecodeSegment decodes a recipe segment, appending to dst.
func DecodeSegment(dst []dedup.RecipeEntry, b []byte) ([]dedup.RecipeEntry, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > SegmentLen {
		return dst, fmt.Errorf("%w: recipe segment count", ErrCorrupt)
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		if len(b) < 33 {
			return dst, fmt.Errorf("%w: recipe segment truncated at entry %d", ErrCorrupt, i)
		}
		var e dedup.RecipeEntry
		copy(e.FP[:], b[:32])
		l, k := binary.Uvarint(b[32:])
		if k <= 0 || l == 0 || l > 1<<31 {
			return dst, fmt.Errorf("%w: recipe entry %d length", ErrCorrupt, i)
		}
		e.Len = uint32(l)
		dst = append(dst, e)
		b = b[32+k:]
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes after recipe segment", ErrCorrupt, len(b))
	}
	return dst, nil
}

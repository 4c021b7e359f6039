package cartridge

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// segment is one item of a cartridge: a stretch of its data stream.
type segment struct {
	seq  uint64
	size int64 // data bytes (the item also holds the trailer after them)
}

// SegmentName is the item name of a cartridge's segment seq.
func SegmentName(barcode string, seq uint64) string {
	return fmt.Sprintf("%s/%08d", barcode, seq)
}

// segmentSeq parses an item name of barcode's segments.
func segmentSeq(barcode, item string) (uint64, bool) {
	rest, ok := strings.CutPrefix(item, barcode+"/")
	if !ok || rest == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// segments lists the items of a cartridge by sequence number.
func segments(ctx context.Context, eng Engine, store, barcode string) ([]chunkstore.Item, []uint64, error) {
	items, err := eng.List(ctx, store, barcode+"/")
	if err != nil {
		return nil, nil, err
	}
	var out []chunkstore.Item
	var seqs []uint64
	for _, it := range items {
		if seq, ok := segmentSeq(barcode, it.Name); ok {
			out = append(out, it)
			seqs = append(seqs, seq)
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return seqs[idx[a]] < seqs[idx[b]] })
	sortedItems, sortedSeqs := make([]chunkstore.Item, len(out)), make([]uint64, len(out))
	for i, j := range idx {
		sortedItems[i], sortedSeqs[i] = out[j], seqs[j]
	}
	return sortedItems, sortedSeqs, nil
}

// Usage is what a cartridge's items hold: their bytes (record data and
// trailers) and what storing them added to the volumes.
func Usage(ctx context.Context, eng Engine, store, barcode string) (size, newBytes int64, err error) {
	items, _, err := segments(ctx, eng, store, barcode)
	for _, it := range items {
		size += it.Size
		newBytes += it.NewBytes
	}
	return size, newBytes, err
}

// Delete removes every item of a cartridge.
func Delete(ctx context.Context, eng Engine, store, barcode string) error {
	items, _, err := segments(ctx, eng, store, barcode)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := eng.Delete(ctx, store, it.Name); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
			return err
		}
	}
	return nil
}

// encodeTrailer is the map and the segment table written after a
// segment's data, then the footer.
func encodeTrailer(m *Map, segs []segment, dataLen int64) []byte {
	b, _ := m.MarshalBinary()
	b = binary.AppendUvarint(b, uint64(len(segs)))
	for _, s := range segs {
		b = binary.AppendUvarint(b, s.seq)
		b = binary.AppendUvarint(b, uint64(s.size))
	}
	out := append([]byte(nil), b...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
	out = binary.BigEndian.AppendUint64(out, uint64(dataLen))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(b, castagnoli))
	return append(out, magic...)
}

// readTrailer reads the map and segment table at the end of a segment.
func readTrailer(ctx context.Context, eng Engine, store, name string) (*Map, []segment, int64, error) {
	r, err := eng.OpenItem(ctx, store, name)
	if err != nil {
		return nil, nil, 0, err
	}
	defer r.Close()
	size := r.Size()
	if size < footerLen {
		return nil, nil, 0, fmt.Errorf("%w: item %s is %d bytes", ErrFormat, name, size)
	}
	f := make([]byte, footerLen)
	if _, err := r.ReadAt(f, size-footerLen); err != nil {
		return nil, nil, 0, err
	}
	payLen, dataLen, sum, err := parseFooter(f)
	if err != nil {
		return nil, nil, 0, err
	}
	if int64(payLen)+dataLen+footerLen != size {
		return nil, nil, 0, fmt.Errorf("%w: %s: lengths do not add up", ErrFormat, name)
	}
	b := make([]byte, payLen)
	if _, err := r.ReadAt(b, dataLen); err != nil {
		return nil, nil, 0, err
	}
	if crc32.Checksum(b, castagnoli) != sum {
		return nil, nil, 0, fmt.Errorf("%w: %s: checksum", ErrFormat, name)
	}
	m := &Map{}
	n, err := m.decode(b)
	if err != nil {
		return nil, nil, 0, err
	}
	b = b[n:]
	cnt, k := binary.Uvarint(b)
	if k <= 0 || cnt > uint64(len(b)) {
		return nil, nil, 0, fmt.Errorf("%w: %s: segment count", ErrFormat, name)
	}
	b = b[k:]
	segs := make([]segment, 0, cnt)
	var total int64
	for i := uint64(0); i < cnt; i++ {
		seq, k1 := binary.Uvarint(b)
		if k1 <= 0 {
			return nil, nil, 0, fmt.Errorf("%w: %s: segment %d", ErrFormat, name, i)
		}
		sz, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 || sz > 1<<50 {
			return nil, nil, 0, fmt.Errorf("%w: %s: segment %d", ErrFormat, name, i)
		}
		b = b[k1+k2:]
		segs = append(segs, segment{seq: seq, size: int64(sz)})
		total += int64(sz)
	}
	if len(b) != 0 {
		return nil, nil, 0, fmt.Errorf("%w: %s: trailing bytes", ErrFormat, name)
	}
	if total != m.Bytes() || len(segs) == 0 || segs[len(segs)-1].size != dataLen {
		return nil, nil, 0, fmt.Errorf("%w: %s: segments cover %d bytes, the map %d", ErrFormat, name, total, m.Bytes())
	}
	return m, segs, dataLen, nil
}

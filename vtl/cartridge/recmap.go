package cartridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Run is a run of equal objects on the tape: Count records of Size
// bytes, or Count filemarks.
type Run struct {
	Filemark bool
	Count    uint64
	Size     uint32
}

// Map is the record map of a cartridge: the runs in tape order with the
// object number and byte offset where each starts. An object is a record
// or a filemark; object numbers are the drive's logical block addresses.
type Map struct {
	runs  []Run
	objs  []uint64 // first object number of each run
	bytes []int64  // byte offset in the data stream of each run
	fms   []int    // indices of the filemark runs
	nObj  uint64
	nByte int64
}

// Objects is the number of records and filemarks: the EOD position.
func (m *Map) Objects() uint64 { return m.nObj }

// Bytes is the length of the data stream.
func (m *Map) Bytes() int64 { return m.nByte }

// Runs returns the runs (not to be modified).
func (m *Map) Runs() []Run { return m.runs }

func (m *Map) push(r Run) {
	if n := len(m.runs); n > 0 {
		last := &m.runs[n-1]
		if last.Filemark == r.Filemark && last.Size == r.Size {
			last.Count += r.Count
			m.nObj += r.Count
			m.nByte += int64(r.Count) * int64(r.Size)
			return
		}
	}
	if r.Filemark {
		m.fms = append(m.fms, len(m.runs))
	}
	m.runs = append(m.runs, r)
	m.objs = append(m.objs, m.nObj)
	m.bytes = append(m.bytes, m.nByte)
	m.nObj += r.Count
	m.nByte += int64(r.Count) * int64(r.Size)
}

// AppendRecord adds a record of size bytes at the end.
func (m *Map) AppendRecord(size uint32) { m.push(Run{Count: 1, Size: size}) }

// AppendFilemarks adds n filemarks at the end.
func (m *Map) AppendFilemarks(n uint64) {
	if n > 0 {
		m.push(Run{Filemark: true, Count: n})
	}
}

// run returns the index of the run holding object obj (obj < Objects).
func (m *Map) run(obj uint64) int {
	return sort.Search(len(m.objs), func(i int) bool { return m.objs[i] > obj }) - 1
}

// Object describes object obj: a filemark, or a record's size and byte
// offset. ok is false at or beyond EOD.
func (m *Map) Object(obj uint64) (filemark bool, size uint32, off int64, ok bool) {
	if obj >= m.nObj {
		return false, 0, m.nByte, false
	}
	i := m.run(obj)
	r := m.runs[i]
	if r.Filemark {
		return true, 0, m.bytes[i], true
	}
	return false, r.Size, m.bytes[i] + int64(obj-m.objs[i])*int64(r.Size), true
}

// Offset is the byte offset in the data stream where object obj starts
// (the data length at EOD and beyond).
func (m *Map) Offset(obj uint64) int64 {
	_, _, off, _ := m.Object(obj)
	return off
}

// NextFilemark is the object number of the first filemark at or after
// obj, or Objects() when there is none.
func (m *Map) NextFilemark(obj uint64) uint64 {
	if obj >= m.nObj {
		return m.nObj
	}
	ri := m.run(obj)
	k := sort.SearchInts(m.fms, ri)
	if k == len(m.fms) {
		return m.nObj
	}
	if m.fms[k] == ri {
		return obj
	}
	return m.objs[m.fms[k]]
}

// PrevFilemark is the object number of the last filemark before obj, or
// -1 when there is none.
func (m *Map) PrevFilemark(obj uint64) int64 {
	if obj == 0 {
		return -1
	}
	if obj > m.nObj {
		obj = m.nObj
	}
	ri := m.run(obj - 1)
	k := sort.SearchInts(m.fms, ri+1) - 1
	if k < 0 {
		return -1
	}
	if m.fms[k] == ri {
		return int64(obj - 1)
	}
	fi := m.fms[k]
	return int64(m.objs[fi] + m.runs[fi].Count - 1)
}

// FilemarksBefore counts the filemarks before object obj.
func (m *Map) FilemarksBefore(obj uint64) uint64 {
	var n uint64
	for _, fi := range m.fms {
		s := m.objs[fi]
		if s >= obj {
			break
		}
		n += min(m.runs[fi].Count, obj-s)
	}
	return n
}

// Truncate drops every object from obj on: what writing at obj does.
func (m *Map) Truncate(obj uint64) {
	if obj >= m.nObj {
		return
	}
	i := m.run(obj)
	keep := obj - m.objs[i]
	m.runs, m.objs, m.bytes = m.runs[:i+1], m.objs[:i+1], m.bytes[:i+1]
	m.runs[i].Count = keep
	if keep == 0 {
		m.runs, m.objs, m.bytes = m.runs[:i], m.objs[:i], m.bytes[:i]
	}
	for len(m.fms) > 0 && m.fms[len(m.fms)-1] >= len(m.runs) {
		m.fms = m.fms[:len(m.fms)-1]
	}
	m.nObj = obj
	if len(m.runs) == 0 {
		m.nByte = 0
		return
	}
	last := len(m.runs) - 1
	m.nByte = m.bytes[last] + int64(m.runs[last].Count)*int64(m.runs[last].Size)
}

// Clone returns an independent copy.
func (m *Map) Clone() *Map {
	c := &Map{}
	for _, r := range m.runs {
		c.push(r)
	}
	return c
}

// Format of the trailer written after the data stream (see doc.go).
const (
	mapVersion = 1
	footerLen  = 24
	magic      = "BSTAPE\x00\x02"
)

// ErrFormat: the item does not end in a valid record map.
var ErrFormat = errors.New("cartridge: bad record map")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the map: a version byte, the run count, then per
// run uvarint(count<<1 | filemark) and, for records, uvarint(size).
func (m *Map) MarshalBinary() ([]byte, error) {
	b := []byte{mapVersion}
	b = binary.AppendUvarint(b, uint64(len(m.runs)))
	for _, r := range m.runs {
		v := r.Count << 1
		if r.Filemark {
			v |= 1
		}
		b = binary.AppendUvarint(b, v)
		if !r.Filemark {
			b = binary.AppendUvarint(b, uint64(r.Size))
		}
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (m *Map) UnmarshalBinary(b []byte) error {
	n, err := m.decode(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("%w: trailing bytes", ErrFormat)
	}
	return err
}

// decode reads a map at the start of b and returns its length.
func (m *Map) decode(b []byte) (int, error) {
	*m = Map{}
	all := len(b)
	if len(b) < 1 || b[0] != mapVersion {
		return 0, fmt.Errorf("%w: version", ErrFormat)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return 0, fmt.Errorf("%w: run count", ErrFormat)
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		v, k := binary.Uvarint(b)
		if k <= 0 || v>>1 == 0 {
			return 0, fmt.Errorf("%w: run %d", ErrFormat, i)
		}
		b = b[k:]
		r := Run{Filemark: v&1 != 0, Count: v >> 1}
		if !r.Filemark {
			s, k := binary.Uvarint(b)
			if k <= 0 || s == 0 || s > 1<<24 {
				return 0, fmt.Errorf("%w: run %d size", ErrFormat, i)
			}
			b = b[k:]
			r.Size = uint32(s)
		}
		if r.Count > 1<<40 || m.nByte+int64(r.Count)*int64(r.Size) > 1<<50 {
			return 0, fmt.Errorf("%w: run %d too long", ErrFormat, i)
		}
		m.push(r)
		// push merges equal neighbours: the merged run must obey the same
		// bound, or the map would not decode again once encoded.
		if m.runs[len(m.runs)-1].Count > 1<<40 {
			return 0, fmt.Errorf("%w: run %d too long", ErrFormat, i)
		}
	}
	return all - len(b), nil
}

// parseFooter returns the trailer length and data length from the last
// 24 bytes of an item.
func parseFooter(f []byte) (payLen int, dataLen int64, sum uint32, err error) {
	if len(f) != footerLen || string(f[16:]) != magic {
		return 0, 0, 0, fmt.Errorf("%w: footer", ErrFormat)
	}
	return int(binary.BigEndian.Uint32(f)), int64(binary.BigEndian.Uint64(f[4:])), binary.BigEndian.Uint32(f[12:]), nil
}

package cartridge

import (
	"bytes"
	"testing"
)

// FuzzRecordMap feeds arbitrary bytes to the record map decoder: it must
// refuse or decode to a map that encodes back to the same bytes, with
// consistent positions.
func FuzzRecordMap(f *testing.F) {
	m := &Map{}
	for i := 0; i < 5; i++ {
		m.AppendRecord(10240)
	}
	m.AppendFilemarks(2)
	m.AppendRecord(7)
	seed, _ := m.MarshalBinary()
	f.Add(seed)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Map
		if err := m.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := m.MarshalBinary()
		if !bytes.Equal(again, b) {
			// equal runs next to each other merge: decode and encode again must be stable
			var m2 Map
			if err := m2.UnmarshalBinary(again); err != nil {
				t.Fatalf("re-encoded map does not decode: %v", err)
			}
			third, _ := m2.MarshalBinary()
			if !bytes.Equal(third, again) || m2.Objects() != m.Objects() || m2.Bytes() != m.Bytes() {
				t.Fatalf("unstable encoding")
			}
		}
		var objs uint64
		var size int64
		for _, r := range m.Runs() {
			objs += r.Count
			size += int64(r.Count) * int64(r.Size)
		}
		if objs != m.Objects() || size != m.Bytes() {
			t.Fatalf("map totals %d/%d, runs say %d/%d", m.Objects(), m.Bytes(), objs, size)
		}
		if m.Objects() > 0 {
			last := m.Objects() - 1
			if fm, sz, off, ok := m.Object(last); !ok || (!fm && off+int64(sz) != m.Bytes()) {
				t.Fatalf("last object: %v %d %d %v", fm, sz, off, ok)
			}
			if nf := m.NextFilemark(0); nf > m.Objects() {
				t.Fatalf("next filemark %d beyond %d", nf, m.Objects())
			}
		}
	})
}

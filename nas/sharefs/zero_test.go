package sharefs

import (
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestZeroRangeStorage: zeroing a range (what FSCTL_SET_ZERO_DATA does
// through the SMB server) stores next to nothing: zeros deduplicate to
// one chunk, whatever the range's length.
func TestZeroRangeStorage(t *testing.T) {
	e := newEnv(t)
	data := randBytes(5, 16<<20)
	e.writeFile("f.bin", data)
	before := e.eng.Stats().StoredBytes
	f := e.create("f.bin")
	zero := make([]byte, 1<<20)
	for off := 4 << 20; off < 12<<20; off += len(zero) {
		if _, err := f.WriteAt(zero, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copy(data[4<<20:12<<20], make([]byte, 8<<20))
	e.checkFile("f.bin", data)
	grew := e.eng.Stats().StoredBytes - before
	t.Logf("8 MiB zeroed: %d bytes stored", grew)
	if grew > 1<<20 {
		t.Fatalf("zeroing 8 MiB stored %d bytes", grew)
	}
}

// TestPunchHoleStorage: FSCTL_SET_ZERO_DATA on a sparse file (PunchHole)
// stores next to nothing, and the range is a hole after a reopen.
func TestPunchHoleStorage(t *testing.T) {
	e := newEnv(t)
	data := randBytes(6, 16<<20)
	e.writeFile("s.bin", data)
	before := e.eng.Stats().StoredBytes
	f := e.create("s.bin")
	a := uint32(vfs.AttrSparse)
	if err := f.SetAttr(vfs.SetAttr{Attributes: &a}); err != nil {
		t.Fatal(err)
	}
	if err := f.(vfs.Sparser).PunchHole(4<<20, 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copy(data[4<<20:12<<20], make([]byte, 8<<20))
	e.checkFile("s.bin", data)
	grew := e.eng.Stats().StoredBytes - before
	t.Logf("8 MiB punched: %d bytes stored", grew)
	if grew > 1<<20 {
		t.Fatalf("punching 8 MiB stored %d bytes", grew)
	}
	f = e.create("s.bin")
	defer f.Close()
	got, err := f.(vfs.Sparser).DataRanges(0, 1<<30)
	want := []vfs.Range{{Off: 0, Len: 4 << 20}, {Off: 12 << 20, Len: 4 << 20}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("data ranges %v, %v; want %v", got, err, want)
	}
}

package sharefs

import (
	"testing"
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

package sharefs

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestFailedSyncIsNotRetriedWithHoles: when the commit of streamed
// bytes fails (the store is full), those bytes are gone from the node; a
// second Sync must fail too rather than commit the file with zeros (or
// the previous version) where they were, and Close reports the loss.
func TestFailedSyncIsNotRetriedWithHoles(t *testing.T) {
	e := &testEnv{t: t, dir: t.TempDir()}
	eo := chunkstore.DefaultOptions()
	eo.Create, eo.Capacity, eo.Reserve = true, 1<<20, 0
	eng, err := chunkstore.Open(context.Background(), filepath.Join(e.dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	if _, err := e.eng.CreateStore(testStore, chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	t.Cleanup(e.close)

	data := randBytes(31, 3<<20)
	f := e.create("a.bin")
	var werr error
	for off := 0; off < len(data) && werr == nil; off += 64 << 10 {
		_, werr = f.WriteAt(data[off:off+64<<10], int64(off))
	}
	serr := f.Sync()
	if werr == nil && !errors.Is(serr, vfs.ErrNoSpace) {
		t.Fatalf("sync of %d bytes on a 1 MiB store: %v, want ErrNoSpace", len(data), serr)
	}
	if err := f.Sync(); err == nil {
		info, _ := f.Stat()
		t.Fatalf("a second sync after the loss succeeded: the file is committed as %d bytes that were never written", info.Size)
	}
	if err := f.Close(); err == nil {
		t.Fatal("close after the loss reported success")
	}
	// Nothing of the lost bytes is visible: the file is empty or holds
	// exactly what was written, never zeros in their place.
	g, err := e.fs.Open(context.Background(), "a.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, g)
	g.Close()
	if len(got) != 0 && !bytes.Equal(got, data) {
		t.Fatalf("a.bin after the failed commit: %d bytes, not what was written", len(got))
	}
}

package appliance

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// TestAutoHousekeepingDoesNotRecompress: automatic housekeeping runs
// beside backups, where recompression lost acknowledged chunks
// (chunkstore's TestRecompressConcurrentWriters); until that is fixed it
// reclaims space only, and recompression is the offline command's.
func TestAutoHousekeepingDoesNotRecompress(t *testing.T) {
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve, eo.Compression = 1<<30, 0, "s2"
	eng, err := chunkstore.Open(ctx, filepath.Join(t.TempDir(), "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c, _ := newTestCore(t, eng)
	for i, name := range []string{"keep", "drop"} {
		w, err := eng.Create(ctx, "default", name, chunkstore.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k := range 1 << 14 {
			fmt.Fprintf(w, "item %d line %d: backstop stores backups densely %d\n", i, k, k*k%977)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Delete(ctx, "default", "drop"); err != nil {
		t.Fatal(err)
	}
	if !c.AutoHousekeeping(ctx) {
		t.Fatal("no dry run")
	}
	waitState(t, func() string { return c.Housekeeping().Status().State }, JobDone)
	st := c.Housekeeping().Status()
	if st.Report == nil || st.Report.ReclaimedBytes == 0 {
		t.Fatalf("automatic run reclaimed nothing: %+v", st.Report)
	}
	if st.Report.Recompressed != 0 {
		t.Fatalf("automatic run recompressed %d containers", st.Report.Recompressed)
	}
}

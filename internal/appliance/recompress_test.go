package appliance

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// TestAutoHousekeepingRecompresses: an automatic housekeeping run also
// recompresses what streams stored with s2.
func TestAutoHousekeepingRecompresses(t *testing.T) {
	// With an item deleted the dry run finds space to reclaim; with none,
	// it finds only s2 containers to recompress, which must be enough to
	// start a run (a store that never deletes would otherwise stay s2).
	for _, drop := range []bool{true, false} {
		t.Run(fmt.Sprintf("delete=%v", drop), func(t *testing.T) {
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
			if drop {
				if err := eng.Delete(ctx, "default", "drop"); err != nil {
					t.Fatal(err)
				}
			}
			if !c.AutoHousekeeping(ctx) {
				t.Fatal("no dry run")
			}
			waitState(t, func() string { return c.Housekeeping().Status().State }, JobDone)
			st := c.Housekeeping().Status()
			if st.Report == nil || st.Report.Recompressed == 0 || st.Report.RecompressedBytes == 0 {
				t.Fatalf("automatic run did not recompress: %+v", st.Report)
			}
			plan, err := eng.PlanHousekeeping(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Recompress != 0 || plan.ReclaimBytes != 0 {
				t.Fatalf("after the run the dry run still finds work: %+v", plan)
			}
		})
	}
}

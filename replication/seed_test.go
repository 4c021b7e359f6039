package replication

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSeed: a store exported to a directory and imported at the target
// leaves replication little to send.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	base := testData(61, 6<<20)
	a.put("default", "full", base)
	a.put("default", "incr", mutate(base, 5, 3, 8<<10))
	seedDir := filepath.Join(t.TempDir(), "seed")
	sd, err := Export(ctx, a.eng, "default", "", seedDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.Items) != 2 || sd.Chunks == 0 {
		t.Fatalf("seed %+v", sd)
	}
	if _, n, err := ImportSeed(ctx, b.eng, seedDir, "copy"); err != nil || n != 2 {
		t.Fatalf("import of the seed: %d items, %v", n, err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	// After the seed, a new backup; replication sends it only.
	fri := a.put("default", "fri", mutate(base, 6, 3, 8<<10))
	a.mapTo(b, "m", "default", "copy", "")
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	st := wireOf(t, a, "m")
	if st.ItemsSent != 1 || st.WireBytes > fri.NewBytes+fri.NewBytes/10+fri.Chunks*40+32<<10 {
		t.Fatalf("after the seed: %d items, %d wire bytes for %d new stored bytes (seed held %d)", st.ItemsSent, st.WireBytes, fri.NewBytes, sd.StoredBytes)
	}
	t.Logf("seed: %d chunks, %d stored bytes; then %d wire bytes", sd.Chunks, sd.StoredBytes, st.WireBytes)
}

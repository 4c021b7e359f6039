package replication

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
)

// TestCommitFailsOnTarget: an item whose commit fails on the target (no
// space) is reported to the source with the target's code (errors.Is
// chunkstore.ErrFull on the source too), logged and counted on the
// target, never counted as replicated, and sent again by the next pass,
// which succeeds once there is room.
func TestCommitFailsOnTarget(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "small", testData(51, 256<<10))
	big := a.put("default", "zbig", testData(52, 6<<20))
	bdir := t.TempDir()
	eo := engineOptions()
	eo.Capacity = 2 << 20
	var failures dedup.CommitFailures
	withFailures := func(o *Options) { o.Failures = &failures }
	b := newNodeWith(t, bdir, eo, withFailures)
	a.mapTo(b, "m", "default", "copy", "")
	for pass := 1; pass <= 2; pass++ {
		err := a.svc.Sync(ctx, "m")
		if !errors.Is(err, chunkstore.ErrFull) || !errors.Is(err, ErrRemote) {
			t.Fatalf("pass %d into a full target: %v, want the target's full error", pass, err)
		}
		st, err := a.svc.Status(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		if st.ItemsSent != 1 || st.ItemsPending != 1 || st.LogicalBytes >= big.Size || st.State != "error" ||
			!strings.Contains(st.LastError, "full") {
			t.Fatalf("pass %d: status %+v, want zbig pending and not counted", pass, st)
		}
		if got := failures.Counts(); len(got) != 1 || got[0] != (dedup.FailureCount{FailureKey: dedup.FailureKey{Protocol: "replication", Reason: dedup.ReasonFull}, Count: int64(pass)}) {
			t.Fatalf("pass %d: target counted %+v", pass, got)
		}
		if _, err := b.eng.Stat(ctx, "copy", "zbig"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("pass %d: the item that failed is visible on the target: %v", pass, err)
		}
	}
	b.close()
	eo.Capacity = 0
	b = newNodeWith(t, bdir, eo, withFailures)
	if _, err := a.svc.UpdateMapping("m", MappingUpdate{Target: &b.addr}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatalf("pass with room: %v", err)
	}
	st, err := a.svc.Status(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if st.ItemsSent != 2 || st.ItemsPending != 0 {
		t.Fatalf("after the retry: %+v", st)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
}

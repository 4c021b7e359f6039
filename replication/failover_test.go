package replication

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestFailoverFailback: the target is promoted and written; the old
// source becomes its replica and receives only what differs; then the
// roles go back.
func TestFailoverFailback(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	base := testData(21, 6<<20)
	a.put("default", "mon", base)
	a.put("default", "tue", mutate(base, 1, 4, 8<<10))
	a.mapTo(b, "m", "default", "copy", "")
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}

	// Failover: site A is lost; B's copy is promoted and takes backups.
	if _, err := b.svc.Promote("copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Promote("copy"); !errors.Is(err, ErrState) {
		t.Fatalf("second promote: %v", err)
	}
	wed := b.put("copy", "wed", mutate(base, 2, 4, 8<<10))
	if err := b.eng.Delete(ctx, "copy", "mon"); err != nil {
		t.Fatal(err)
	}
	// A still tries to replicate: refused, the copy is no longer a replica.
	var re *RemoteError
	if err := a.svc.Sync(ctx, "m"); !errors.As(err, &re) || re.Code != codeReadOnly {
		t.Fatalf("replication into a promoted store: %v", err)
	}

	// Failback: A's store becomes the replica of B's, B sends what differs.
	if _, err := a.svc.Reverse("m"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Create(ctx, "default", "x", chunkstore.WriteOptions{}); !errors.Is(err, chunkstore.ErrReadOnly) {
		t.Fatalf("write into the reversed source: %v", err)
	}
	if _, err := b.svc.CreateMapping(Mapping{Name: "back", SourceStore: "copy", Target: a.addr, TargetFingerprint: a.fp(), TargetStore: "default"}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Sync(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, b.eng, "copy", a.eng, "default")
	st := wireOf(t, b, "back")
	if st.ItemsSent != 1 || st.ItemsDeleted != 1 {
		t.Fatalf("failback sent %d items and %d deletions, want 1 and 1", st.ItemsSent, st.ItemsDeleted)
	}
	if st.WireBytes > wed.NewBytes+wed.NewBytes/10+wed.Chunks*40+32<<10 {
		t.Fatalf("failback: %d wire bytes for an item with %d new stored bytes", st.WireBytes, wed.NewBytes)
	}
	t.Logf("failback: %d wire bytes for %d logical (new stored bytes %d)", st.WireBytes, st.LogicalBytes, wed.NewBytes)

	// Back to normal: A promoted, B's copy a replica again, A resumes.
	if _, err := a.svc.Resume("m"); !errors.Is(err, ErrState) {
		t.Fatalf("resume before promotion: %v", err)
	}
	if _, err := a.svc.Promote("default"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Reverse("back"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Resume("m"); err != nil {
		t.Fatal(err)
	}
	thu := a.put("default", "thu", mutate(base, 3, 2, 8<<10))
	before := wireOf(t, a, "m").WireBytes
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	if d := wireOf(t, a, "m").WireBytes - before; d > thu.NewBytes+thu.NewBytes/10+thu.Chunks*40+32<<10 {
		t.Fatalf("after failback, %d wire bytes for an item with %d new stored bytes", d, thu.NewBytes)
	}
}

// TestContinuous runs the loops: items replicate soon after they commit;
// nothing moves inside a blackout window; a lag past the threshold raises
// an event.
func TestContinuous(t *testing.T) {
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	a.mapTo(b, "m", "default", "copy", "")
	a.svc.StartLoops()
	a.put("default", "one", testData(31, 1<<20))
	waitFor(t, "first item replicated", func() bool {
		_, err := b.eng.Stat(context.Background(), "copy", "one")
		return err == nil
	})

	// A blackout window over the whole day: nothing is sent.
	if err := a.state.SetSettings(appliance.Settings{Blackout: []appliance.Window{{Start: "00:00", End: "24:00"}}}); err != nil {
		t.Fatal(err)
	}
	a.put("default", "two", testData(32, 1<<20))
	waitFor(t, "blackout state", func() bool { return wireOf(t, a, "m").State == "blackout" })
	if _, err := b.eng.Stat(context.Background(), "copy", "two"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("an item replicated inside a blackout window: %v", err)
	}
	// Two hours later, still blacked out: the lag alert fires.
	if _, err := a.svc.UpdateMapping("m", MappingUpdate{LagAlertSeconds: ptr(int64(3600))}); err != nil {
		t.Fatal(err)
	}
	a.clock.Store(int64(2 * time.Hour))
	waitFor(t, "lag event", func() bool { return hasEvent(a.state, "replication.lag", "behind") })
	if st := wireOf(t, a, "m"); st.ItemsPending != 1 || st.LagSeconds < 3600 {
		t.Fatalf("status in the blackout: %+v", st)
	}
	if err := a.state.SetSettings(appliance.Settings{Blackout: []appliance.Window{}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second item replicated", func() bool { return wireOf(t, a, "m").ItemsPending == 0 })
	waitFor(t, "caught-up event", func() bool { return hasEvent(a.state, "replication.lag", "caught up") })
	sameItems(t, a.eng, "default", b.eng, "copy")
}

func ptr[T any](v T) *T { return &v }

func hasEvent(st *appliance.State, action, text string) bool {
	for _, e := range st.Events(0, 1000, "") {
		if e.Action == action && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds; the deadline only bounds a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFullTarget: a target out of space refuses the item and keeps
// nothing half-way; with room again, replication resumes.
func TestFullTarget(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "small", testData(41, 256<<10))
	a.put("default", "zbig", testData(42, 6<<20))
	bdir := t.TempDir()
	eo := engineOptions()
	eo.Capacity = 2 << 20
	b := newNode(t, bdir, eo)
	a.mapTo(b, "m", "default", "copy", "")
	var re *RemoteError
	if err := a.svc.Sync(ctx, "m"); !errors.As(err, &re) || re.Code != codeFull {
		t.Fatalf("replication into a full target: %v", err)
	}
	items := mustList(t, b.eng, "copy")
	if len(items) != 1 || items[0].Name != "small" {
		t.Fatalf("full target holds %+v, want only the item that fit", items)
	}
	// More room: restart the target with a larger capacity.
	b.close()
	eo.Capacity = 0
	b = newNode(t, bdir, eo)
	if _, err := a.svc.UpdateMapping("m", MappingUpdate{Target: &b.addr}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
}

// TestLimit paces the wire with a token bucket on a simulated clock.
func TestLimit(t *testing.T) {
	cases := []struct {
		rate  int64
		bytes int
	}{{1 << 20, 8 << 20}, {100 << 10, 1 << 20}, {0, 4 << 20}}
	for _, c := range cases {
		var now time.Time
		clock := func() time.Time { return now }
		var sent, recvd atomicInt
		mc := &meteredConn{Conn: discardConn{}, limits: []*bucket{newBucket(c.rate, clock), newBucket(0, clock)},
			sent: &sent.Int64, recvd: &recvd.Int64, sleep: func(d time.Duration) { now = now.Add(d) }, sendPieceLen: 16 << 10}
		buf := make([]byte, 100<<10)
		for n := 0; n < c.bytes; n += len(buf) {
			mc.Write(buf)
		}
		elapsed := now.Sub(time.Time{}).Seconds()
		if sent.Load() != int64(c.bytes+(len(buf)-c.bytes%len(buf))%len(buf)) {
			t.Fatalf("rate %d: counted %d bytes", c.rate, sent.Load())
		}
		if c.rate == 0 {
			if elapsed != 0 {
				t.Fatalf("unlimited bucket slept %.2fs", elapsed)
			}
			continue
		}
		want := float64(sent.Load())/float64(c.rate) - max(float64(c.rate)/4, 16<<10)/float64(c.rate)
		if elapsed < want*0.98 || elapsed > want*1.02+0.1 {
			t.Fatalf("rate %d B/s: %d bytes took %.3f simulated seconds, want %.3f", c.rate, sent.Load(), elapsed, want)
		}
	}
}

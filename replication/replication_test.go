package replication

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
)

func wireOf(t testing.TB, n *node, mapping string) Status {
	t.Helper()
	st, err := n.svc.Status(context.Background(), mapping)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReplicate: a first copy byte-identical; a second backup of nearly
// the same data costs on the wire about the compressed size of its new
// chunks; deletions and metadata replicate; the copy is read-only.
func TestReplicate(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	base := testData(1, 6<<20)
	a.put("default", "mon", base)
	a.put("default", "small", testData(2, 100))
	a.put("default", "other", testData(3, 3<<20))
	a.mapTo(b, "m", "default", "copy", "")
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	st := wireOf(t, a, "m")
	if st.ItemsPending != 0 || st.ItemsReplicated != 3 || st.LastSuccess.IsZero() || st.State != "idle" {
		t.Fatalf("status after the first pass: %+v", st)
	}
	// The first copy costs about the compressed bytes of the data.
	var stored int64
	for _, it := range mustList(t, a.eng, "default") {
		stored += it.NewBytes
	}
	if st.StoredSent != stored || st.WireBytes < stored || float64(st.WireBytes) > float64(stored)*1.05+64<<10 {
		t.Fatalf("first copy: %d stored bytes, %d sent as stored, %d on the wire", stored, st.StoredSent, st.WireBytes)
	}
	t.Logf("first copy: %d logical, %d stored, %d wire bytes (%.3f wire/logical)", st.LogicalBytes, stored, st.WireBytes, st.WireRatio)

	// Second backup: 1% changed.
	tue := a.put("default", "tue", mutate(base, 9, 6, 10<<10))
	before := st.WireBytes
	if st := wireOf(t, a, "m"); st.ItemsPending != 1 || st.BytesPending != tue.Size {
		t.Fatalf("pending before the second pass: %+v", st)
	}
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	wire := wireOf(t, a, "m").WireBytes - before
	// The recipe costs 36 bytes per chunk each way at most, plus the
	// session (TLS handshake, hello, framing).
	overhead := tue.Chunks*(36+4) + 16<<10
	if wire < tue.NewBytes || wire > tue.NewBytes+tue.NewBytes/20+overhead {
		t.Fatalf("second backup: %d new stored bytes, %d on the wire (allowed overhead %d)", tue.NewBytes, wire, overhead)
	}
	t.Logf("second backup: %d logical, %d new stored, %d wire bytes (%.4f wire/logical)", tue.Size, tue.NewBytes, wire, float64(wire)/float64(tue.Size))

	// Deletion, replacement with new metadata.
	if err := a.eng.Delete(ctx, "default", "small"); err != nil {
		t.Fatal(err)
	}
	a.put("default", "other", testData(4, 1<<20))
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")

	// The copy is read-only to everything but replication.
	if _, err := b.eng.Create(ctx, "copy", "x", chunkstore.WriteOptions{}); !errors.Is(err, chunkstore.ErrReadOnly) {
		t.Fatalf("write into the replica: %v", err)
	}
	if err := b.eng.Delete(ctx, "copy", "mon"); !errors.Is(err, chunkstore.ErrReadOnly) {
		t.Fatalf("delete from the replica: %v", err)
	}
	// Nothing to do: a pass sends only hello.
	before = wireOf(t, a, "m").WireBytes
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if d := wireOf(t, a, "m").WireBytes - before; d > 16<<10 {
		t.Fatalf("an idle pass cost %d bytes", d)
	}
}

func mustList(t testing.TB, eng *chunkstore.Engine, store string) []chunkstore.Item {
	t.Helper()
	items, err := eng.List(context.Background(), store, "")
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestTrust: an unpaired source and a wrong target fingerprint are
// refused, and a replica store stays bound to its source.
func TestTrust(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	c := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "x", testData(1, 1<<20))
	c.put("default", "y", testData(2, 1<<20))
	if _, err := a.svc.CreateMapping(Mapping{Name: "m", SourceStore: "default", Target: b.addr, TargetFingerprint: b.fp(), TargetStore: "copy"}); err != nil {
		t.Fatal(err)
	}
	var re *RemoteError
	if err := a.svc.Sync(ctx, "m"); !errors.As(err, &re) || re.Code != codeDenied {
		t.Fatalf("unpaired source: %v", err)
	}
	if _, err := b.svc.AddSource("a", a.fp()); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	// c, paired too, may not write a's replica.
	c.mapTo(b, "m", "default", "copy", "")
	if err := c.svc.Sync(ctx, "m"); !errors.As(err, &re) || re.Code != codeReadOnly {
		t.Fatalf("second source into a bound replica: %v", err)
	}
	// A mapping that names the wrong target certificate never talks.
	if _, err := a.svc.CreateMapping(Mapping{Name: "wrong", SourceStore: "default", Target: b.addr, TargetFingerprint: c.fp(), TargetStore: "copy2"}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "wrong"); err == nil {
		t.Fatal("a target with another certificate was accepted")
	}
	// A target store that is not a replica is never written.
	if _, err := a.svc.CreateMapping(Mapping{Name: "own", SourceStore: "default", Target: b.addr, TargetFingerprint: b.fp(), TargetStore: "default"}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "own"); !errors.As(err, &re) || re.Code != codeReadOnly {
		t.Fatalf("replication into an ordinary store: %v", err)
	}
}

// TestCutLink cuts the connection at random points many times; every
// pass leaves the target with whole items only, and it converges.
func TestCutLink(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	for i := range 4 {
		a.put("default", fmt.Sprintf("item-%d", i), testData(uint64(i+10), 2<<20))
	}
	p := newCutProxy(t, b.addr, 2<<10, 640<<10, 42)
	a.mapTo(b, "m", "default", "copy", p.addr())
	var fails int
	for pass := 0; ; pass++ {
		if pass > 500 {
			t.Fatal("no convergence after 500 passes")
		}
		err := a.svc.Sync(ctx, "m")
		if err == nil {
			break
		}
		if fails++; fails%4 != 0 {
			continue
		}
		// Whatever the target holds is whole and equal to the source.
		for _, it := range mustList(t, b.eng, "copy") {
			if string(readItem(t, b.eng, "copy", it.Name)) != string(readItem(t, a.eng, "default", it.Name)) {
				t.Fatalf("after cut %d, %s on the target is not the source's", fails, it.Name)
			}
		}
	}
	if fails < 10 {
		t.Fatalf("only %d cuts: the test did not test much", fails)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	st := wireOf(t, a, "m")
	t.Logf("%d cuts, %d passes; %d stored bytes sent for %d logical, %d wire bytes", p.cuts.Load(), fails+1, st.StoredSent, st.LogicalBytes, st.WireBytes)
	// Resumed imports did not resend much: the chunks sent add up to
	// little more than the data, compressed.
	var stored int64
	for _, it := range mustList(t, a.eng, "default") {
		stored += it.NewBytes
	}
	if st.StoredSent > stored {
		t.Logf("note: %d stored bytes sent for %d committed (resends of chunks not yet flushed at a cut)", st.StoredSent, stored)
	}
	rep, err := b.eng.Verify(ctx, nil)
	if err != nil || len(rep.Damage) > 0 {
		t.Fatalf("verify of the target: %v %+v", err, rep.Damage)
	}
}

// TestIsolation: the replica is in a domain of its own on the target; the
// target's own store holding the same data does not make the source send
// less, and its chunks are not reachable from the replica's domain.
func TestIsolation(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	data := testData(5, 4<<20)
	src := a.put("default", "x", data)
	b.put("default", "local", data) // the same bytes in the target's own domain
	a.mapTo(b, "m", "default", "copy", "")
	if err := a.svc.Sync(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	if st := wireOf(t, a, "m"); st.StoredSent != src.NewBytes {
		t.Fatalf("sent %d stored bytes, the item has %d: the target's own domain leaked into the replica's", st.StoredSent, src.NewBytes)
	}
	rep, _ := b.eng.Store("copy")
	own, _ := b.eng.Store("default")
	if rep.Domain == own.Domain || !rep.Replica {
		t.Fatalf("replica store %+v, own store %+v", rep, own)
	}
	rd, _ := b.eng.StoreDomain("copy")
	ad, _ := a.eng.StoreDomain("default")
	od, _ := b.eng.StoreDomain("default")
	if string(rd.Key) != string(ad.Key) || string(rd.Key) == string(od.Key) {
		t.Fatal("replica domain key is not the source's, or is the target's own")
	}
	// The replica's chunks are missing as far as the target's own domain
	// knows: an import there asks for every one.
	rr, err := a.eng.OpenRecipe(ctx, "default", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	im, err := b.eng.Import(ctx, "default", "probe", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Abort()
	err = rr.Segments(ctx, func(entries []dedup.RecipeEntry) error {
		fps := make([]dedup.Fingerprint, len(entries))
		for i, en := range entries {
			fps[i] = en.FP
		}
		missing, err := im.Missing(fps)
		if err == nil && len(missing) != len(fps) {
			err = fmt.Errorf("the target's own domain knows %d of %d replica chunks", len(fps)-len(missing), len(fps))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFanIn: two sources whose domains share a key (the second made from
// the first's exported key) replicate into one target; the second sends
// little.
func TestFanIn(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	tg := newNode(t, t.TempDir(), engineOptions())
	ad, err := a.eng.Domain("default")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.eng.ImportDomain("shared", ad.Key, ad.Chunker); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.CreateStore("site-b", "shared"); err != nil {
		t.Fatal(err)
	}
	data := testData(6, 6<<20)
	a.put("default", "img", data)
	b.put("site-b", "img", mutate(data, 3, 4, 16<<10))
	a.mapTo(tg, "a", "default", "from-a", "")
	b.mapTo(tg, "b", "site-b", "from-b", "")
	if err := a.svc.Sync(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Sync(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	sameItems(t, a.eng, "default", tg.eng, "from-a")
	sameItems(t, b.eng, "site-b", tg.eng, "from-b")
	sa, sb := wireOf(t, a, "a"), wireOf(t, b, "b")
	t.Logf("fan-in: first source %d wire bytes, second %d (%.1f%%)", sa.WireBytes, sb.WireBytes, 100*float64(sb.WireBytes)/float64(sa.WireBytes))
	if sb.WireBytes*10 > sa.WireBytes {
		t.Fatalf("second source sent %d bytes, first %d: no fan-in dedup", sb.WireBytes, sa.WireBytes)
	}
	ra, _ := tg.eng.Store("from-a")
	rb, _ := tg.eng.Store("from-b")
	if ra.Domain != rb.Domain {
		t.Fatalf("replicas of a shared key in domains %s and %s", ra.Domain, rb.Domain)
	}
}

// TestFanOut: one store to two targets, each complete.
func TestFanOut(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	c := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "x", testData(71, 2<<20))
	a.put("default", "y", testData(72, 1<<20))
	a.mapTo(b, "to-b", "default", "copy", "")
	a.mapTo(c, "to-c", "default", "copy", "")
	for _, m := range []string{"to-b", "to-c"} {
		if err := a.svc.Sync(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	sameItems(t, a.eng, "default", b.eng, "copy")
	sameItems(t, a.eng, "default", c.eng, "copy")
}

// TestReplicaNotReserved: a paired source that skips its own check (a
// peer running other code) cannot make the target create or write a
// share's or library's store.
func TestReplicaNotReserved(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "x", testData(3, 1<<20))
	a.mapTo(b, "m", "default", "copy", "")
	a.svc.mu.Lock()
	for i := range a.svc.cfg.Mappings {
		a.svc.cfg.Mappings[i].TargetStore = "nas.secret" // what CreateMapping refuses
	}
	a.svc.mu.Unlock()
	var re *RemoteError
	if err := a.svc.Sync(ctx, "m"); !errors.As(err, &re) || re.Code != codeInvalid {
		t.Fatalf("replication into a share's store: %v", err)
	}
	if _, err := b.eng.Store("nas.secret"); err == nil {
		t.Fatal("the target created store nas.secret for a source")
	}
}

package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// s2Store writes n items of compressible data with s2 and returns them.
func s2Store(t *testing.T, dir string, o Options, n int) map[string][]byte {
	t.Helper()
	o.Compression = "s2"
	e := openTest(t, dir, o)
	defer e.Close()
	items := map[string][]byte{}
	for i := range n {
		name := fmt.Sprint("item-", i)
		items[name] = testData(uint64(100+i), 2<<20)
		put(t, e, DefaultStore, name, items[name])
	}
	return items
}

func checkItems(t *testing.T, e *Engine, items map[string][]byte) {
	t.Helper()
	for name, want := range items {
		if got := get(t, e, DefaultStore, name); !bytes.Equal(got, want) {
			t.Fatalf("%s reads back different", name)
		}
	}
}

// TestRecompress: housekeeping rewrites s2 containers with zstd, within
// its budget, and the data reads back the same.
func TestRecompress(t *testing.T) {
	dir := t.TempDir()
	items := s2Store(t, dir, testOptions(), 3)
	e := openTest(t, dir, testOptions())
	defer e.Close()
	ctx := context.Background()
	before := codecBytes(t, e)
	if before[container.Zstd] != 0 || before[container.S2] == 0 {
		t.Fatalf("s2 store holds %v", before)
	}
	// Without Recompress, housekeeping leaves them alone.
	rep, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true})
	if err != nil || rep.Recompressed != 0 || rep.Rewritten != 0 {
		t.Fatalf("plain housekeeping: %+v, %v", rep, err)
	}
	// A budget of one container recompresses one.
	one := int64(0)
	for _, rec := range e.containers {
		one = max(one, rec.Size)
	}
	rep, err = e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Recompress: one})
	if err != nil || rep.Recompressed != 1 {
		t.Fatalf("one container's budget: recompressed %d, %v", rep.Recompressed, err)
	}
	rep, err = e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Recompress: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	after := codecBytes(t, e)
	t.Logf("before %v after %v; %+v", before, after, rep)
	if rep.Recompressed == 0 || rep.StoredAfter >= rep.StoredBefore {
		t.Fatalf("recompression did not shrink the store: %+v", rep)
	}
	if 2*after[container.S2] > before[container.S2] {
		t.Fatalf("after recompression %d bytes s2, %d zstd", after[container.S2], after[container.Zstd])
	}
	checkItems(t, e, items)
	// Nothing is left to recompress.
	rep, err = e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Recompress: 1 << 40})
	if err != nil || rep.Recompressed != 0 {
		t.Fatalf("second run recompressed %d, %v", rep.Recompressed, err)
	}
}

// TestRecompressCold: containers not read for ColdAfter are recompressed
// at the cold level once; a read keeps a container warm; the records
// survive a reopen.
func TestRecompressCold(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Unix(1.8e9, 0)}
	o := testOptions()
	o.Now = clock.now
	items := s2Store(t, dir, o, 2)
	ctx := context.Background()
	e := openTest(t, dir, o)
	hk := func(cold time.Duration) HousekeepingReport {
		t.Helper()
		rep, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Recompress: 1 << 40, ColdAfter: cold})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := hk(0); rep.Recompressed == 0 || rep.Cold != 0 {
		t.Fatalf("fastest pass: %+v", rep)
	}
	fast := e.Stats().StoredBytes
	clock.advance(10 * day)
	get(t, e, DefaultStore, "item-0") // item-0's containers are read today
	clock.advance(3 * day)
	rep := hk(7 * day)
	if rep.Cold == 0 || rep.Cold != rep.Recompressed {
		t.Fatalf("cold pass: %+v", rep)
	}
	if e.Stats().StoredBytes >= fast {
		t.Fatalf("cold level stored %d bytes, fastest %d", e.Stats().StoredBytes, fast)
	}
	for id := range e.containers {
		if l := e.containerLevel(id); l != DefaultColdLevel && l != container.LevelFastest {
			t.Fatalf("container %d at level %d", id, l)
		}
	}
	// item-0's containers stayed warm: a later pass finds them cold.
	clock.advance(10 * day)
	if rep := hk(7 * day); rep.Cold == 0 {
		t.Fatalf("containers read 13 days ago were not cold: %+v", rep)
	}
	checkItems(t, e, items)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openTest(t, dir, o)
	defer e.Close()
	clock.advance(30 * day)
	if rep := hk(7 * day); rep.Cold != 0 {
		t.Fatalf("containers already at the cold level recompressed again after reopen: %+v", rep)
	}
	checkItems(t, e, items)
}

// TestRecompressIdleOnly: containers picked for recompression alone wait
// while a backup is being written, and go once it is done.
func TestRecompressIdleOnly(t *testing.T) {
	dir := t.TempDir()
	items := s2Store(t, dir, testOptions(), 2)
	e := openTest(t, dir, testOptions())
	defer e.Close()
	ctx := context.Background()
	w, err := e.Create(ctx, DefaultStore, "busy", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(testData(300, 1<<20)); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Housekeep(ctx, HousekeepingOptions{Recompress: 1 << 40})
	if err != nil || rep.Recompressed != 0 || rep.RecompressDeferred == 0 {
		t.Fatalf("recompression beside a backup: %+v, %v", rep, err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err = e.Housekeep(ctx, HousekeepingOptions{Recompress: 1 << 40})
	if err != nil || rep.Recompressed == 0 || rep.RecompressDeferred != 0 {
		t.Fatalf("recompression at idle: %+v, %v", rep, err)
	}
	checkItems(t, e, items)
}

package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// hkGenerations writes 20 generations of a changing data set (the newest
// keeps most of the previous one, rewrites some of it and grows) and
// returns them.
func hkGenerations(t testing.TB, e *Engine, size int) [][]byte {
	t.Helper()
	gens := make([][]byte, 20)
	d := testData(7, size)
	r := rand.New(rand.NewPCG(1, 2))
	for g := range gens {
		if g > 0 {
			d = append([]byte(nil), d...)
			for range 6 {
				off := r.IntN(len(d) - 64<<10)
				copy(d[off:], testData(uint64(g*100+off), 16<<10+r.IntN(48<<10)))
			}
			d = append(d, testData(uint64(5000+g), 64<<10)...)
		}
		gens[g] = d
		put(t, e, DefaultStore, fmt.Sprint("gen", g), d)
	}
	return gens
}

// TestHousekeepingGenerations: after deleting 15 of 20 generations, housekeeping
// brings the stored bytes to within 10% of what the 5 survivors cost
// alone, and every survivor reads back byte-identical.
func TestHousekeepingGenerations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	gens := hkGenerations(t, e, 4<<20)
	survivors := []int{3, 7, 11, 15, 19}
	keep := map[int]bool{}
	for _, g := range survivors {
		keep[g] = true
	}
	for g := range gens {
		if !keep[g] {
			if err := e.Delete(ctx, DefaultStore, fmt.Sprint("gen", g)); err != nil {
				t.Fatal(err)
			}
		}
	}
	allocBefore, _ := e.vols.Allocated()
	var phases []string
	rep, err := e.Housekeep(ctx, HousekeepingOptions{Progress: func(p HousekeepingProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gc: %+v", rep)
	if fmt.Sprint(phases) != "[mark sweep]" {
		t.Errorf("progress phases %v", phases)
	}
	if rep.ReclaimedBytes <= 0 || rep.StoredAfter >= rep.StoredBefore || rep.Dropped+rep.Rewritten == 0 {
		t.Fatalf("nothing reclaimed: %+v", rep)
	}
	if got := e.Stats().StoredBytes; got != rep.StoredAfter {
		t.Errorf("stats say %d stored, the report %d", got, rep.StoredAfter)
	}
	allocAfter, _ := e.vols.Allocated()
	if allocAfter >= allocBefore {
		t.Errorf("the file system holds %d bytes after, %d before", allocAfter, allocBefore)
	}

	// What the survivors cost alone.
	alone := openTest(t, t.TempDir(), testOptions())
	for _, g := range survivors {
		put(t, alone, DefaultStore, fmt.Sprint("gen", g), gens[g])
	}
	want := alone.Stats().StoredBytes
	alone.Close()
	t.Logf("stored %d before, %d after; the survivors alone: %d (%.1f%% more)", rep.StoredBefore, rep.StoredAfter, want, 100*(float64(rep.StoredAfter)/float64(want)-1))
	if float64(rep.StoredAfter) > 1.10*float64(want) {
		t.Errorf("stored %d after housekeeping, more than 10%% over the survivors alone (%d)", rep.StoredAfter, want)
	}
	check := func(e *Engine) {
		t.Helper()
		for _, g := range survivors {
			if !bytes.Equal(get(t, e, DefaultStore, fmt.Sprint("gen", g)), gens[g]) {
				t.Fatalf("gen %d differs after housekeeping", g)
			}
		}
		vr, err := e.Verify(ctx, nil)
		if err != nil || len(vr.Damage) != 0 {
			t.Fatalf("verify: %v %+v", err, vr.Damage)
		}
	}
	check(e)
	// A second run finds little left to do.
	rep2, err := e.Housekeep(ctx, HousekeepingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.ReclaimedBytes > rep.ReclaimedBytes/10 {
		t.Errorf("second run reclaimed %d after the first reclaimed %d", rep2.ReclaimedBytes, rep.ReclaimedBytes)
	}
	stored := e.Stats().StoredBytes
	e.Close()
	e = openTest(t, dir, testOptions())
	defer e.Close()
	if got := e.Stats().StoredBytes; got != stored {
		t.Errorf("stored %d after reopening, %d before", got, stored)
	}
	if used := e.vols.Used(); used != stored {
		t.Errorf("volumes count %d bytes used, containers hold %d", used, stored)
	}
	check(e)
}

// TestHousekeepingConcurrent runs housekeeping over and over while writers store
// new generations (some of them repeating deleted ones, whose chunks
// housekeeping is about to drop) and readers read; run it with -race.
func TestHousekeepingConcurrent(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := func(i int) []byte {
		d := testData(11, 1<<20)
		return append(d, testData(uint64(100+i), 256<<10)...)
	}
	const items = 12
	for i := range items {
		put(t, e, DefaultStore, fmt.Sprint("item", i), data(i))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	// Housekeeping, as often as it can.
	runs := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Threshold: 0.9}); err != nil {
				errs <- fmt.Errorf("gc: %w", err)
				return
			}
			runs++
		}
	}()
	// Writers delete an item and write it again, so that the chunks they
	// dedup against are dead in the middle of a run.
	for wr := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(wr), 9))
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				i := wr + 2*r.IntN(items/2)
				name := fmt.Sprint("item", i)
				if err := e.Delete(ctx, DefaultStore, name); err != nil && !errors.Is(err, ErrNotFound) {
					errs <- err
					return
				}
				w, err := e.Create(ctx, DefaultStore, name, WriteOptions{Replace: true})
				if err != nil {
					errs <- err
					return
				}
				w.Write(data(i))
				if _, err := w.Commit(ctx); err != nil {
					errs <- fmt.Errorf("commit %s: %w", name, err)
					return
				}
			}
		}()
	}
	// Readers check the items as they go.
	for rd := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				i := (k*2 + rd) % items
				r, err := e.OpenItem(ctx, DefaultStore, fmt.Sprint("item", i))
				if errors.Is(err, ErrNotFound) {
					continue // deleted and not yet written again
				}
				if err != nil {
					errs <- err
					return
				}
				var buf bytes.Buffer
				_, err = r.WriteTo(&buf)
				r.Close()
				if errors.Is(err, ErrNotFound) {
					continue // its recipe went with a replace while reading
				}
				if err != nil || !bytes.Equal(buf.Bytes(), data(i)) {
					errs <- fmt.Errorf("read item%d during housekeeping: %v (equal %v)", i, err, bytes.Equal(buf.Bytes(), data(i)))
					return
				}
			}
		}()
	}
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if runs == 0 {
		t.Fatal("housekeeping never completed a run")
	}
	t.Logf("%d housekeeping runs", runs)
	if _, err := e.Housekeep(ctx, HousekeepingOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if !bytes.Equal(get(t, e, DefaultStore, fmt.Sprint("item", i)), data(i)) {
			t.Fatalf("item%d differs after concurrent housekeeping", i)
		}
	}
	vr, err := e.Verify(ctx, nil)
	if err != nil || len(vr.Damage) != 0 {
		t.Fatalf("verify: %v %+v", err, vr.Damage)
	}
}

// TestHousekeepingReaderFollowsMove: a reader opened before housekeeping moves its
// chunks reads on from their new places.
func TestHousekeepingReaderFollowsMove(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	// Interleave two items so that each container holds chunks of both.
	a, b := testData(1, 1<<20), testData(2, 1<<20)
	w1, _ := e.Create(ctx, DefaultStore, "a", WriteOptions{})
	w1.Write(a)
	w1.Commit(ctx)
	w2, _ := e.Create(ctx, DefaultStore, "b", WriteOptions{})
	w2.Write(b)
	w2.Commit(ctx)
	mixed := append(append([]byte(nil), a[:512<<10]...), b[:512<<10]...)
	put(t, e, DefaultStore, "mixed", mixed)
	r, err := e.OpenItem(ctx, DefaultStore, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first := make([]byte, 4096)
	if _, err := r.ReadAt(first, 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if err := e.Delete(ctx, DefaultStore, n); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.Housekeep(ctx, HousekeepingOptions{Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rewritten == 0 {
		t.Fatalf("nothing was moved: %+v", rep)
	}
	got := make([]byte, len(mixed))
	if _, err := r.ReadAt(got, 0); err != nil {
		t.Fatalf("read after housekeeping moved the chunks: %v", err)
	}
	if !bytes.Equal(got, mixed) {
		t.Fatal("wrong bytes after the move")
	}
}

// TestHousekeepingFull: with the capacity all used, housekeeping still frees the
// containers nothing uses (it needs no space for them), and a rewrite that
// does not fit fails cleanly with nothing lost.
func TestHousekeepingFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := testOptions()
	o.Capacity = 6 << 20
	e := openTest(t, dir, o)
	defer e.Close()
	keepData := testData(1, 2<<20)
	put(t, e, DefaultStore, "keep", keepData)
	w, _ := e.Create(ctx, DefaultStore, "big", WriteOptions{})
	w.Write(testData(2, 8<<20))
	if _, err := w.Commit(ctx); !errors.Is(err, ErrFull) {
		t.Fatalf("commit past capacity: %v", err)
	}
	// Fill what is left with an item, then delete it.
	for i := 0; ; i++ {
		w, _ := e.Create(ctx, DefaultStore, fmt.Sprint("fill", i), WriteOptions{})
		w.Write(testData(uint64(10+i), 512<<10))
		if _, err := w.Commit(ctx); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
		if err := e.Delete(ctx, DefaultStore, fmt.Sprint("fill", i)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.Housekeep(ctx, HousekeepingOptions{})
	if err != nil {
		t.Fatalf("housekeeping on a full data directory: %v", err)
	}
	if rep.ReclaimedBytes <= 0 {
		t.Fatalf("nothing reclaimed on a full data directory: %+v", rep)
	}
	if !bytes.Equal(get(t, e, DefaultStore, "keep"), keepData) {
		t.Fatal("keep damaged")
	}
	// The space is usable again.
	put(t, e, DefaultStore, "after", testData(3, 1<<20))
}

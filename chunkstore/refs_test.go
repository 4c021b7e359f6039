package chunkstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// storeRefs are the live reference keys of a store: fingerprint -> items.
func storeRefs(t testing.TB, e *Engine, store string) map[dedup.Fingerprint][]uint64 {
	t.Helper()
	s, _, err := e.store(store)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := e.idx.Refs(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[dedup.Fingerprint][]uint64{}
	for _, r := range refs {
		if r.Item != index.ReceivedItem {
			out[r.FP] = append(out[r.FP], r.Item)
		}
	}
	return out
}

// wantRefs are the reference keys the recipes of a store's items call for.
func wantRefs(t testing.TB, e *Engine, store string) map[dedup.Fingerprint][]uint64 {
	t.Helper()
	s, _, err := e.store(store)
	if err != nil {
		t.Fatal(err)
	}
	items, err := e.idx.Items(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b index.Item) int { return int(a.ID - b.ID) })
	out := map[dedup.Fingerprint][]uint64{}
	for _, it := range items {
		err := e.idx.Segments(it.ID, func(_ int64, entries []dedup.RecipeEntry) error {
			for _, en := range entries {
				if ids := out[en.FP]; len(ids) == 0 || ids[len(ids)-1] != it.ID {
					out[en.FP] = append(ids, it.ID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func checkRefs(t testing.TB, e *Engine, stores ...string) {
	t.Helper()
	for _, s := range stores {
		got, want := storeRefs(t, e, s), wantRefs(t, e, s)
		if len(got) != len(want) {
			t.Fatalf("store %s: reference keys name %d chunks, its recipes %d", s, len(got), len(want))
		}
		for fp, ids := range want {
			if !slices.Equal(got[fp], ids) {
				t.Fatalf("store %s: chunk %s referenced by %v, its recipes say %v", s, fp, got[fp], ids)
			}
		}
	}
}

func referencedBy(t testing.TB, e *Engine, store string, fps []dedup.Fingerprint) int {
	t.Helper()
	s, _, err := e.store(store)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bool, len(fps))
	if err := e.referenced(s.ID, fps, out); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range out {
		if b {
			n++
		}
	}
	return n
}

func fpsOf(ents []dedup.RecipeEntry) []dedup.Fingerprint {
	out := make([]dedup.Fingerprint, len(ents))
	for i, en := range ents {
		out[i] = en.FP
	}
	return out
}

// TestRefsFollowTheRecipes: writes, imports, copies, replaces and deletes
// keep each store's reference set equal to what its live recipes name.
func TestRefsFollowTheRecipes(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	for _, s := range []string{"a", "b"} {
		if _, err := e.CreateStore(s, DefaultDomain); err != nil {
			t.Fatal(err)
		}
	}
	d1, d2 := testData(21, 3<<20), testData(22, 1<<20)
	steps := []struct {
		name string
		run  func() error
	}{
		{"write", func() error { put(t, e, "a", "x", d1); return nil }},
		{"import", func() error { _, _, err := importData(t, e, "a", "y", d2, 0); return err }},
		{"copy", func() error { _, err := e.CopyItem(ctx, "a", "x", "b", "x", false); return err }},
		{"replace", func() error { put(t, e, "b", "x", d2); return nil }},
		{"cut import", func() error { _, _, err := importData(t, e, "b", "z", d1, 7); return err }},
		{"delete", func() error { return e.Delete(ctx, "a", "x") }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		checkRefs(t, e, "a", "b", DefaultStore)
	}
	ents1, _ := clientChunks(t, e, "a", d1)
	ents2, _ := clientChunks(t, e, "a", d2)
	if n := referencedBy(t, e, "a", fpsOf(ents1)); n != 0 {
		t.Fatalf("store a references %d chunks of a deleted item", n)
	}
	if n := referencedBy(t, e, "a", fpsOf(ents2)); n != len(ents2) {
		t.Fatalf("store a references %d of the %d chunks of its item y", n, len(ents2))
	}
	if n := referencedBy(t, e, DefaultStore, fpsOf(ents2)); n != 0 {
		t.Fatalf("store default references %d chunks it never held", n)
	}
}

// TestRefsBuiltForOldDataDirectories: a data directory written before
// reference sets existed gets them, equal to what writing them as we go
// gives, on its first open.
func TestRefsBuiltForOldDataDirectories(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	if _, err := e.CreateStore("a", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	put(t, e, "a", "x", testData(31, 2<<20))
	put(t, e, DefaultStore, "x", testData(31, 2<<20))
	if _, _, err := importData(t, e, "a", "y", testData(32, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	put(t, e, "a", "gone", testData(33, 1<<20))
	if err := e.Delete(ctx, "a", "gone"); err != nil {
		t.Fatal(err)
	}
	before := map[string]map[dedup.Fingerprint][]uint64{"a": storeRefs(t, e, "a"), DefaultStore: storeRefs(t, e, DefaultStore)}
	e.Close()

	// What the code before reference sets left: no 'R' keys, no mark.
	idx, err := index.Open(filepath.Join(dir, "index"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.DropRefs(); err != nil {
		t.Fatal(err)
	}
	if built, err := idx.RefsBuilt(); err != nil || built {
		t.Fatalf("refs built %v, %v after dropping them", built, err)
	}
	idx.Close()

	var logs bytes.Buffer
	o := testOptions()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	e = openTest(t, dir, o)
	defer e.Close()
	if !bytes.Contains(logs.Bytes(), []byte("reference sets built")) {
		t.Fatalf("open did not say it built the reference sets:\n%s", logs.String())
	}
	for store, want := range before {
		got := storeRefs(t, e, store)
		if len(got) != len(want) {
			t.Fatalf("store %s: %d chunks referenced after the build, %d before", store, len(got), len(want))
		}
		for fp, ids := range want {
			if !slices.Equal(got[fp], ids) {
				t.Fatalf("store %s: chunk %s referenced by %v after the build, %v before", store, fp, got[fp], ids)
			}
		}
	}
	checkRefs(t, e, "a", DefaultStore)
	if built, err := e.idx.RefsBuilt(); err != nil || !built {
		t.Fatalf("refs built %v, %v after open", built, err)
	}
}

// TestImportProbeLearnsNothing: a client of store b asking about the
// chunks only store a holds gets the answers it gets for random
// fingerprints, and cannot commit a recipe naming them.
func TestImportProbeLearnsNothing(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	for _, s := range []string{"a", "b"} {
		if _, err := e.CreateStore(s, DefaultDomain); err != nil {
			t.Fatal(err)
		}
	}
	secret := testData(41, 1<<20)
	put(t, e, "a", "secret", secret)
	ents, _ := clientChunks(t, e, "a", secret)
	random := make([]dedup.Fingerprint, len(ents))
	for i := range random {
		rand.Read(random[i][:])
	}
	im, err := e.Import(ctx, "b", "probe", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Abort()
	for name, fps := range map[string][]dedup.Fingerprint{"a's chunks": fpsOf(ents), "random": random} {
		missing, err := im.Missing(fps)
		if err != nil || len(missing) != len(fps) {
			t.Fatalf("%s: %d of %d missing, %v", name, len(missing), len(fps), err)
		}
	}
	missing, err := im.Append(ents)
	if err != nil || len(missing) != len(ents) {
		t.Fatalf("append of a's recipe: %d of %d missing, %v", len(missing), len(ents), err)
	}
	// A wrong length is not checked for a chunk b may not use either.
	im2, err := e.Import(ctx, "b", "probe2", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Abort()
	if _, err := im2.Append([]dedup.RecipeEntry{{FP: ents[0].FP, Len: ents[0].Len + 1}}); err != nil {
		t.Fatalf("a wrong length of a chunk only a holds: %v", err)
	}
	if _, err := im.Commit(ctx); !errors.Is(err, ErrMissingChunk) {
		t.Fatalf("commit naming a's chunks without them: %v", err)
	}
	if got := get(t, e, "a", "secret"); !bytes.Equal(got, secret) {
		t.Fatal("a's item reads back different")
	}
	// The domain-wide option (for a trusted peer) does see them.
	im3, err := e.Import(ctx, "b", "peer", WriteOptions{DomainWide: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im3.Abort()
	if missing, err := im3.Missing(fpsOf(ents)); err != nil || len(missing) != 0 {
		t.Fatalf("domain-wide: %d missing, %v", len(missing), err)
	}
}

// TestCrossStoreDedupOnTheServer: the same data put into two stores of a
// domain is stored once, and each store's figures count it in full.
func TestCrossStoreDedupOnTheServer(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	for _, s := range []string{"a", "b", "c"} {
		if _, err := e.CreateStore(s, DefaultDomain); err != nil {
			t.Fatal(err)
		}
	}
	data := testData(51, 4<<20)
	ia := put(t, e, "a", "x", data)
	st1 := e.Stats().StoredBytes
	ib := put(t, e, "b", "x", data)
	st2 := e.Stats().StoredBytes
	if _, _, err := importData(t, e, "c", "x", data, 0); err != nil {
		t.Fatal(err)
	}
	st3 := e.Stats().StoredBytes
	ic, err := e.Stat(context.Background(), "c", "x")
	if err != nil {
		t.Fatal(err)
	}
	if st2 != st1 || st3 != st1 {
		t.Fatalf("stored bytes %d after a, %d after b, %d after c: the copies were stored again", st1, st2, st3)
	}
	if ia.NewBytes <= 0 || ib.NewBytes != ia.NewBytes {
		t.Fatalf("new bytes: a %d, b %d: b's must not depend on a's data", ia.NewBytes, ib.NewBytes)
	}
	if ic.NewBytes < ia.NewBytes*9/10 {
		t.Fatalf("new bytes of c's import %d, of a's write %d", ic.NewBytes, ia.NewBytes)
	}
	// A second copy in the same store is new to nobody.
	if again := put(t, e, "b", "y", data); again.NewBytes != 0 {
		t.Fatalf("second copy in store b: %d new bytes", again.NewBytes)
	}
	for _, ss := range e.Stats().Stores {
		if ss.Name != DefaultStore && ss.StoredBytes < ia.NewBytes*9/10 {
			t.Fatalf("store %s: stored bytes %d", ss.Name, ss.StoredBytes)
		}
	}
}

// TestDeletedStoreLeavesNoRefs: a store created with the id of a deleted
// one inherits none of its references, not even those of a cut import.
func TestDeletedStoreLeavesNoRefs(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	if _, err := e.CreateStore("a", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	data := testData(71, 1<<20)
	put(t, e, DefaultStore, "x", data) // the pool keeps the chunks
	if _, _, err := importData(t, e, "a", "cut", data, 5); err != nil {
		t.Fatal(err)
	}
	ents, _ := clientChunks(t, e, "a", data)
	if n := referencedBy(t, e, "a", fpsOf(ents)); n == 0 {
		t.Fatal("a cut import's chunks are not remembered for its retry")
	}
	if err := e.DeleteStore("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateStore("newcomer", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if n := referencedBy(t, e, "newcomer", fpsOf(ents)); n != 0 {
		t.Fatalf("a new store inherits %d references of a deleted one", n)
	}
}

package chunkstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// TestItemUsageMatchesUsage: the per-item figure read from the reference
// keys is the one Usage computes from every recipe, across stores of one
// domain, with shared, deleted, pinned and pending items about.
func TestItemUsageMatchesUsage(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	if _, err := e.CreateDomain("other", testOptions().Chunker); err != nil {
		t.Fatal(err)
	}
	for s, d := range map[string]string{"a": DefaultDomain, "b": DefaultDomain, "c": "other"} {
		if _, err := e.CreateStore(s, d); err != nil {
			t.Fatal(err)
		}
	}
	x, y, z := testData(1, 1<<20), testData(2, 1<<20), testData(3, 1<<20)
	unique := put(t, e, "a", "unique", testData(4, 1<<20))
	put(t, e, "a", "x", x)
	put(t, e, "a", "xy", append(append([]byte{}, x[:512<<10]...), y...))
	put(t, e, "b", "yz", append(append([]byte{}, y[512<<10:]...), z...))
	put(t, e, "c", "z", z) // another domain: shares nothing
	put(t, e, "a", "gone", z)
	r, err := e.OpenItem(ctx, "a", "gone")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := e.Delete(ctx, "a", "gone"); err != nil { // pinned: recipe kept, not counted
		t.Fatal(err)
	}
	w, err := e.Create(ctx, "b", "pending", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{"a", "b", "c"} {
		want, err := e.Usage(ctx, store)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.ItemUsage(ctx, store, append(slices.Collect(maps.Keys(want)), "missing"))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("store %s: ItemUsage %v, Usage %v", store, got, want)
		}
	}
	got, err := e.ItemUsage(ctx, "a", []string{"unique", "x", "xy"})
	if err != nil {
		t.Fatal(err)
	}
	if got["unique"] != unique.NewBytes || got["x"] <= 0 || got["x"] >= got["unique"] {
		t.Fatalf("alone bytes %v; unique item's new bytes %d", got, unique.NewBytes)
	}
}

// TestListPage: pages concatenate to the whole listing, by name, with a
// prefix and an after cursor.
func TestListPage(t *testing.T) {
	ctx := context.Background()
	o := testOptions()
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 256, Avg: 1 << 10, Max: 4 << 10}
	e := openTest(t, t.TempDir(), o)
	defer e.Close()
	for i := range 25 {
		put(t, e, DefaultStore, fmt.Sprintf("p/%02d", i), testData(uint64(i), 100))
		put(t, e, DefaultStore, fmt.Sprintf("q/%02d", i), testData(uint64(i), 100))
	}
	for _, prefix := range []string{"", "p/", "q/1", "zz"} {
		all, err := e.List(ctx, DefaultStore, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var names, paged []string
		for _, it := range all {
			names = append(names, it.Name)
		}
		after := ""
		for range 100 {
			page, more, err := e.ListPage(ctx, DefaultStore, prefix, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page {
				paged = append(paged, it.Name)
			}
			if !more {
				break
			}
			after = page[len(page)-1].Name
		}
		if !slices.Equal(paged, names) {
			t.Fatalf("prefix %q: pages %v, list %v", prefix, paged, names)
		}
	}
	page, _, err := e.ListPage(ctx, DefaultStore, "q/", "a", 2) // a cursor before the prefix
	if err != nil || len(page) != 2 || page[0].Name != "q/00" {
		t.Fatalf("page %v, %v", page, err)
	}
	if _, _, err := e.ListPage(ctx, DefaultStore, "", "", 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
}

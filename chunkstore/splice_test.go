package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestSplice(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	src := testData(1, 2<<20)
	put(t, e, DefaultStore, "src", src)
	other := testData(2, 100<<10)
	tests := []struct {
		name   string
		head   []byte // written before the splice
		off, n int64
		tail   []byte // written after
	}{
		{"whole item", nil, 0, int64(len(src)), nil},
		{"middle range", nil, 12345, 1 << 20, nil},
		{"after bytes", other, 777, 900 << 10, other[:5000]},
		{"inside one chunk", other[:10], 100, 50, other},
		{"empty", other, 5, 0, nil},
		{"to the end", nil, int64(len(src)) - 300000, 300000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.OpenItem(ctx, DefaultStore, "src")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			before := e.Stats()
			w, err := e.Create(ctx, DefaultStore, "dst", WriteOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tt.head); err != nil {
				t.Fatal(err)
			}
			if err := w.Splice(ctx, r, tt.off, tt.n); err != nil {
				t.Fatalf("splice: %v", err)
			}
			if _, err := w.Write(tt.tail); err != nil {
				t.Fatal(err)
			}
			it, err := w.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append(append([]byte(nil), tt.head...), src[tt.off:tt.off+tt.n]...), tt.tail...)
			if got := get(t, e, DefaultStore, "dst"); !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes, want %d (equal prefix: %v)", len(got), len(want), len(got) > 0 && got[0] == want[0])
			}
			if it.Size != int64(len(want)) {
				t.Errorf("item of %d bytes, want %d", it.Size, len(want))
			}
			after := e.Stats()
			// Whole chunks only: nothing new stored; otherwise at most
			// the edges (two chunks of at most 32 KiB, plus container
			// overhead) are.
			limit := int64(96 << 10)
			if tt.off == 0 && tt.n == int64(len(src)) {
				limit = 0
			}
			if tt.head == nil && tt.tail == nil && after.StoredBytes-before.StoredBytes > limit {
				t.Errorf("a splice stored %d new bytes, want at most %d", after.StoredBytes-before.StoredBytes, limit)
			}
		})
	}
}

func TestSpliceBadInput(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	put(t, e, DefaultStore, "src", testData(3, 100<<10))
	if _, err := e.CreateStore("other", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	r, err := e.OpenItem(ctx, DefaultStore, "src")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tt := range []struct {
		name   string
		store  string
		off, n int64
	}{
		{"past the end", DefaultStore, 50 << 10, 60 << 10},
		{"negative", DefaultStore, -1, 10},
		{"other store", "other", 0, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := e.Create(ctx, tt.store, "dst", WriteOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Splice(ctx, r, tt.off, tt.n); !errors.Is(err, ErrInvalid) {
				t.Fatalf("splice: %v, want ErrInvalid", err)
			}
		})
	}
}

// An aborted Writer with a splice behind it ends cleanly.
func TestSpliceAbort(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	put(t, e, DefaultStore, "src", testData(4, 1<<20))
	r, err := e.OpenItem(ctx, DefaultStore, "src")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := e.Create(ctx, DefaultStore, "dst", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Splice(ctx, r, 10, 500<<10); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := e.Stat(ctx, DefaultStore, "dst"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("aborted item: %v", err)
	}
}

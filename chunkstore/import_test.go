package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// clientChunks chunks and fingerprints data the way a client does, with
// the store's domain.
func clientChunks(t testing.TB, e *Engine, store string, data []byte) ([]dedup.RecipeEntry, [][]byte) {
	t.Helper()
	dom, err := e.StoreDomain(store)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := chunker.New(bytes.NewReader(data), dom.Chunker)
	if err != nil {
		t.Fatal(err)
	}
	var ents []dedup.RecipeEntry
	var chunks [][]byte
	for {
		c, err := ch.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h, _ := blake3.NewKeyed(dom.Key)
		h.Write(c)
		var fp dedup.Fingerprint
		h.Sum(fp[:0])
		ents = append(ents, dedup.RecipeEntry{FP: fp, Len: uint32(len(c))})
		chunks = append(chunks, append([]byte(nil), c...))
	}
	return ents, chunks
}

// importData imports data as name and returns how many chunks it had to
// send; stop (if > 0) aborts after sending that many.
func importData(t testing.TB, e *Engine, store, name string, data []byte, stop int) (int, Item, error) {
	t.Helper()
	ents, chunks := clientChunks(t, e, store, data)
	im, err := e.Import(context.Background(), store, name, WriteOptions{Replace: true, Meta: map[string]string{"app": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	comp, _ := container.NewCompressor(container.S2)
	sent := 0
	for i := 0; i < len(ents); i += 100 {
		batch := ents[i:min(i+100, len(ents))]
		missing, err := im.Append(batch)
		if err != nil {
			im.Abort()
			return sent, Item{}, err
		}
		for _, k := range missing {
			c := chunks[i+k]
			stored, codec := comp.Compress(nil, c)
			if err := im.Put(batch[k].FP, codec, stored, len(c)); err != nil {
				im.Abort()
				return sent, Item{}, err
			}
			if sent++; stop > 0 && sent == stop {
				return sent, Item{}, im.Abort()
			}
		}
	}
	it, err := im.Commit(context.Background())
	return sent, it, err
}

func TestImportRoundTrip(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := testData(1, 3<<20)
	sent, it, err := importData(t, e, DefaultStore, "a", data, 0)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := clientChunks(t, e, DefaultStore, data)
	if sent == 0 || it.Size != int64(len(data)) || it.Chunks != int64(len(ents)) || it.Meta["app"] != "test" {
		t.Fatalf("sent %d, item %+v", sent, it)
	}
	// The importer forgets the chunks whose containers reached the index.
	im, err := e.Import(context.Background(), DefaultStore, "held", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := testData(11, 3<<20)
	fents, fchunks := clientChunks(t, e, DefaultStore, fresh)
	missing, err := im.Append(fents)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range missing {
		if err := im.Put(fents[k].FP, container.Raw, fchunks[k], len(fchunks[k])); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range im.sealed { // wait for the flusher to land them
		testwait.Recv(t, f.done)
	}
	im.Append(nil)
	if st := im.Stats(); st.Put != len(missing) || st.Held >= len(missing)/2 {
		t.Fatalf("importer holds %d of %d supplied chunks after its containers were flushed", st.Held, st.Put)
	}
	if _, err := im.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := get(t, e, DefaultStore, "held"); !bytes.Equal(got, fresh) {
		t.Fatal("item reads back different")
	}
	if got := get(t, e, DefaultStore, "a"); !bytes.Equal(got, data) {
		t.Fatal("imported item reads back different")
	}
	// A second import of the same data sends nothing; a Writer dedups.
	if sent, _, err := importData(t, e, DefaultStore, "b", data, 0); err != nil || sent != 0 {
		t.Fatalf("second import sent %d chunks, err %v", sent, err)
	}
	if it := put(t, e, DefaultStore, "c", data); it.NewBytes != 0 {
		t.Fatalf("writer stored %d new bytes of imported data", it.NewBytes)
	}
	// 1% changed: only the chunks around the change are sent.
	changed := append([]byte(nil), data...)
	for i := 0; i < len(changed); i += len(changed) / 4 {
		copy(changed[i:], testData(9, 8000))
	}
	sent2, _, err := importData(t, e, DefaultStore, "d", changed, 0)
	if err != nil || sent2 == 0 || sent2 > 12 {
		t.Fatalf("changed import sent %d of %d chunks, err %v", sent2, sent, err)
	}
}

func TestImportRefusesLies(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := testData(2, 1<<20)
	ents, chunks := clientChunks(t, e, DefaultStore, data)
	cases := []struct {
		name string
		run  func(im *Importer) error
		want error
	}{
		{"wrong bytes", func(im *Importer) error {
			im.Append(ents[:2])
			return im.Put(ents[0].FP, container.Raw, chunks[1], len(chunks[1]))
		}, ErrFingerprint},
		{"wrong length", func(im *Importer) error {
			im.Append([]dedup.RecipeEntry{{FP: ents[0].FP, Len: ents[0].Len + 1}})
			return im.Put(ents[0].FP, container.Raw, chunks[0], len(chunks[0]))
		}, ErrFingerprint},
		{"bad compression", func(im *Importer) error {
			im.Append(ents[:1])
			return im.Put(ents[0].FP, container.S2, chunks[0], len(chunks[0]))
		}, ErrFingerprint},
		{"never sent", func(im *Importer) error {
			_, err := im.Append(ents)
			return err
		}, ErrMissingChunk},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im, err := e.Import(context.Background(), DefaultStore, "lie", WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = c.run(im)
			if _, cerr := im.Commit(context.Background()); err == nil {
				err = cerr
			} else if cerr == nil {
				t.Fatal("commit after a refused chunk succeeded")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if _, err := e.Stat(context.Background(), DefaultStore, "lie"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("item exists after a refused import: %v", err)
			}
			if st := e.Stats(); st.Containers != 0 || st.Items != 0 {
				t.Fatalf("a refused import stored %d containers, %d items", st.Containers, st.Items)
			}
		})
	}
}

func TestImportResumesAfterAbort(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := testData(3, 2<<20)
	ents, _ := clientChunks(t, e, DefaultStore, data)
	sent, _, err := importData(t, e, DefaultStore, "r", data, len(ents)/2)
	if err != nil {
		t.Fatal(err)
	}
	sent2, it, err := importData(t, e, DefaultStore, "r", data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sent+sent2 != len(ents) || it.Size != int64(len(data)) {
		t.Fatalf("first try sent %d, retry %d, of %d chunks", sent, sent2, len(ents))
	}
	if got := get(t, e, DefaultStore, "r"); !bytes.Equal(got, data) {
		t.Fatal("resumed item reads back different")
	}
}

func TestImportDomainsDoNotLeak(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	if _, err := e.CreateDomain("other", testOptions().Chunker); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateStore("b", "other"); err != nil {
		t.Fatal(err)
	}
	data := testData(4, 1<<20)
	if _, _, err := importData(t, e, DefaultStore, "x", data, 0); err != nil {
		t.Fatal(err)
	}
	// Fingerprints of domain default asked of store b: all missing.
	entsA, chunksA := clientChunks(t, e, DefaultStore, data)
	im, err := e.Import(context.Background(), "b", "x", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fps := make([]dedup.Fingerprint, len(entsA))
	for i, en := range entsA {
		fps[i] = en.FP
	}
	missing, err := im.Missing(fps)
	if err != nil || len(missing) != len(fps) {
		t.Fatalf("store b sees %d of %d chunks of another domain as present (err %v)", len(fps)-len(missing), len(fps), err)
	}
	// Nor can a client claim them by naming them.
	if missing, err := im.Append(entsA); err != nil || len(missing) != len(entsA) {
		t.Fatalf("append of another domain's chunks: %d missing, err %v", len(missing), err)
	}
	if err := im.Put(entsA[0].FP, container.Raw, chunksA[0], len(chunksA[0])); !errors.Is(err, ErrFingerprint) {
		t.Fatalf("put with another domain's fingerprint: %v", err)
	}
	im.Abort()
	if _, err := e.CopyItem(context.Background(), DefaultStore, "x", "b", "x", false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("copy across domains: %v", err)
	}
}

func TestCopyAndListMeta(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	if _, err := e.CreateStore("second", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	data := testData(5, 1<<20)
	if _, _, err := importData(t, e, DefaultStore, "x", data, 0); err != nil {
		t.Fatal(err)
	}
	put(t, e, DefaultStore, "y", data[:1000])
	before := e.Stats().StoredBytes
	it, err := e.CopyItem(context.Background(), DefaultStore, "x", "second", "x2", false)
	if err != nil {
		t.Fatal(err)
	}
	if it.Size != int64(len(data)) || it.NewBytes != 0 || it.Meta["app"] != "test" || e.Stats().StoredBytes != before {
		t.Fatalf("copy: %+v, stored %d -> %d", it, before, e.Stats().StoredBytes)
	}
	if got := get(t, e, "second", "x2"); !bytes.Equal(got, data) {
		t.Fatal("copy reads back different")
	}
	if _, err := e.CopyItem(context.Background(), DefaultStore, "x", "second", "x2", false); !errors.Is(err, ErrExists) {
		t.Fatalf("copy onto an existing item: %v", err)
	}
	items, err := e.ListItems(context.Background(), DefaultStore, ListOptions{Meta: map[string]string{"app": "test"}})
	if err != nil || len(items) != 1 || items[0].Name != "x" {
		t.Fatalf("meta filter: %+v, %v", items, err)
	}
}

func TestImmutability(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := testOptions()
	o.Now = func() time.Time { return now }
	e := openTest(t, t.TempDir(), o)
	defer e.Close()
	if _, err := e.CreateStore("locked", DefaultDomain); err != nil {
		t.Fatal(err)
	}
	info, err := e.SetStoreOptions("locked", StoreOptions{Transfer: TransferHigh, ImmutableDays: 2, Clients: []string{"bob"}})
	if err != nil || info.ImmutableDays != 2 || info.Transfer != TransferHigh || !info.Allows("bob") || info.Allows("eve") {
		t.Fatalf("options: %+v, %v", info, err)
	}
	data := testData(6, 100<<10)
	put(t, e, "locked", "keep", data)
	ctx := context.Background()
	if err := e.Delete(ctx, "locked", "keep"); !errors.Is(err, ErrImmutable) {
		t.Fatalf("delete of an immutable item: %v", err)
	}
	w, _ := e.Create(ctx, "locked", "keep", WriteOptions{Replace: true})
	w.Write([]byte("overwrite"))
	if _, err := w.Commit(ctx); !errors.Is(err, ErrImmutable) {
		t.Fatalf("replace of an immutable item: %v", err)
	}
	if _, _, err := importData(t, e, "locked", "keep", data[:5000], 0); !errors.Is(err, ErrImmutable) {
		t.Fatalf("import over an immutable item: %v", err)
	}
	if _, err := e.CopyItem(ctx, "locked", "keep", "locked", "keep", true); !errors.Is(err, ErrImmutable) {
		t.Fatalf("copy over an immutable item: %v", err)
	}
	if err := e.DeleteStore("locked"); err == nil {
		t.Fatal("store holding an immutable item deleted")
	}
	if _, err := e.SetStoreOptions("locked", StoreOptions{ImmutableDays: 1}); !errors.Is(err, ErrImmutable) {
		t.Fatalf("shortened immutability: %v", err)
	}
	if got := get(t, e, "locked", "keep"); !bytes.Equal(got, data) {
		t.Fatal("immutable item changed")
	}
	now = now.Add(49 * time.Hour)
	if err := e.Delete(ctx, "locked", "keep"); err != nil {
		t.Fatalf("delete after the period: %v", err)
	}
	// Options persist.
	e.Close()
	e = openTest(t, e.Dir(), o)
	defer e.Close()
	if info, err := e.Store("locked"); err != nil || info.ImmutableDays != 2 || info.Clients[0] != "bob" {
		t.Fatalf("after reopen: %+v, %v", info, err)
	}
	if info, _ := e.Store(DefaultStore); info.Transfer != TransferLow {
		t.Fatalf("default store transfer %q", info.Transfer)
	}
}

// TestImportDuringHousekeeping: chunks an import found present (its recipe names
// them, its commit is still to come) survive a housekeeping run that finds
// no committed item using them; chunks a cut import left behind do not.
func TestImportDuringHousekeeping(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	ctx := context.Background()
	data := testData(12, 2<<20)
	if _, _, err := importData(t, e, DefaultStore, "old", data, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, DefaultStore, "old"); err != nil {
		t.Fatal(err)
	}
	ents, _ := clientChunks(t, e, DefaultStore, data)
	// DomainWide: the store no longer names these chunks, so only a
	// domain-wide import is told they are present.
	im, err := e.Import(ctx, DefaultStore, "new", WriteOptions{DomainWide: true})
	if err != nil {
		t.Fatal(err)
	}
	if missing, err := im.Append(ents); err != nil || len(missing) != 0 {
		im.Abort()
		t.Fatalf("append: %d missing, %v", len(missing), err)
	}
	if _, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := get(t, e, DefaultStore, "new"); !bytes.Equal(got, data) {
		t.Fatal("item committed across housekeeping reads back different")
	}
	// A cut import's chunks are garbage once no item uses them.
	if _, _, err := importData(t, e, DefaultStore, "cut", testData(13, 1<<20), 10); err != nil {
		t.Fatal(err)
	}
	before := e.Stats().StoredBytes
	if _, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true}); err != nil {
		t.Fatal(err)
	}
	if after := e.Stats().StoredBytes; after >= before {
		t.Fatalf("housekeeping kept a cut import's chunks: %d -> %d stored bytes", before, after)
	}
}

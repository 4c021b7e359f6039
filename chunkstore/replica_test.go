package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/backstop-appliance/backstop/dedup"
)

// TestReplicaCopy copies an item from one engine into a replica store of
// another, chunk by chunk as stored, the way replication does, and checks
// the replica store refuses every other writer.
func TestReplicaCopy(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), testOptions())
	defer src.Close()
	dst := openTest(t, t.TempDir(), testOptions())
	defer dst.Close()

	data := testData(7, 2<<20)
	w, err := src.Create(ctx, DefaultStore, "a", WriteOptions{Meta: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	sdom, err := src.Domain(DefaultDomain)
	if err != nil {
		t.Fatal(err)
	}
	d, created, err := dst.ImportDomain("replica-1", sdom.Key, sdom.Chunker)
	if err != nil || !created {
		t.Fatalf("import domain: %v %v", created, err)
	}
	if again, created, err := dst.ImportDomain("other-name", sdom.Key, sdom.Chunker); err != nil || created || again.ID != d.ID {
		t.Fatalf("second import of the same key: %+v %v %v", again, created, err)
	}
	if _, _, err := dst.ImportDomain(DefaultDomain, sdom.Key[:16], sdom.Chunker); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short key: %v", err)
	}
	if _, err := dst.CreateStore("copy", d.Name); err != nil {
		t.Fatal(err)
	}
	if info, err := dst.SetReplica("copy", true); err != nil || !info.Replica {
		t.Fatalf("set replica: %+v %v", info, err)
	}

	rr, err := src.OpenRecipe(ctx, DefaultStore, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if _, err := dst.Import(ctx, "copy", "a", WriteOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("import into a replica store: %v", err)
	}
	im, err := dst.ImportReplica(ctx, "copy", "a", WriteOptions{Meta: rr.Item().Meta})
	if err != nil {
		t.Fatal(err)
	}
	var sent int
	err = rr.Segments(ctx, func(entries []dedup.RecipeEntry) error {
		missing, err := im.Append(entries)
		if err != nil {
			return err
		}
		for _, k := range missing {
			st, err := rr.Chunk(entries[k].FP, entries[k].Len)
			if err != nil {
				return err
			}
			if err := im.Put(entries[k].FP, st.Codec, st.Data, st.Raw); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	it, err := im.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if it.Size != int64(len(data)) || sent == 0 || it.Meta["k"] != "v" {
		t.Fatalf("replica item %+v after %d chunks", it, sent)
	}
	r, err := dst.OpenItem(ctx, "copy", "a")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("replica reads back %d bytes (%v), want the %d written", len(got), err, len(data))
	}

	// Every other writer is refused.
	if _, err := dst.Create(ctx, "copy", "b", WriteOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("create in a replica store: %v", err)
	}
	if err := dst.Delete(ctx, "copy", "a"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("delete from a replica store: %v", err)
	}
	if _, err := dst.CopyItem(ctx, "copy", "a", "copy", "c", false); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("copy into a replica store: %v", err)
	}
	// Promotion makes it writable; replication's own delete works either way.
	if _, err := dst.SetReplica("copy", false); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CopyItem(ctx, "copy", "a", "copy", "c", false); err != nil {
		t.Fatalf("copy after promotion: %v", err)
	}
	if err := dst.DeleteReplica(ctx, "copy", "c"); err != nil {
		t.Fatal(err)
	}
	if info, _ := dst.Store("copy"); info.Replica {
		t.Fatal("store still a replica after promotion")
	}
}

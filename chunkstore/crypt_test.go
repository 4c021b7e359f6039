package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// openSealed opens dir with an encrypted domain "sec" (made when new)
// holding store "vault".
func openSealed(t *testing.T, dir string, o Options, do DomainOptions) *Engine {
	t.Helper()
	e := openTest(t, dir, o)
	if _, err := e.Domain("sec"); errors.Is(err, ErrNotFound) {
		do.Encrypt = true
		if _, err := e.CreateDomainWith("sec", o.Chunker, do); err != nil {
			t.Fatal(err)
		}
		if _, err := e.CreateStore("vault", "sec"); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// randomData is incompressible.
func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textData compresses well.
func textData(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of the payroll export, employee %d, salary %d\n", i, i*7, 1000+i%97)
	}
	return b.Bytes()[:n]
}

// volumesHold reports whether any 64-byte window of payload, at a few
// places, is in the volume files of dir.
func volumesHold(t *testing.T, dir string, payload []byte) bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "volumes", "*.vol"))
	if err != nil || len(names) == 0 {
		t.Fatalf("volumes: %v %v", names, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+64 <= len(payload); off += len(payload) / 16 {
			if bytes.Contains(b, payload[off:off+64]) {
				return true
			}
		}
	}
	return false
}

// TestEncryptedNoPlaintext: the same payloads, stored raw (compression
// off), are in a plain domain's volumes and not in an encrypted one's,
// and read back from both.
func TestEncryptedNoPlaintext(t *testing.T) {
	text, noise := textData(1<<20), randomData(5, 1<<20)
	for _, encrypt := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypt=", encrypt), func(t *testing.T) {
			dir := t.TempDir()
			o := testOptions()
			o.Compression = "none"
			e := openTest(t, dir, o)
			if _, err := e.CreateDomainWith("d", o.Chunker, DomainOptions{Encrypt: encrypt}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.CreateStore("s", "d"); err != nil {
				t.Fatal(err)
			}
			put(t, e, "s", "text", text)
			put(t, e, "s", "noise", noise)
			if !bytes.Equal(get(t, e, "s", "text"), text) || !bytes.Equal(get(t, e, "s", "noise"), noise) {
				t.Fatal("items read back different")
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string][]byte{"text": text, "noise": noise} {
				if got := volumesHold(t, dir, p); got != !encrypt {
					t.Fatalf("%s: plaintext in the volumes: %v", name, got)
				}
			}
			// Reopened (data keys read from the key blocks): same data.
			e = openTest(t, dir, o)
			defer e.Close()
			if !bytes.Equal(get(t, e, "s", "text"), text) {
				t.Fatal("text reads back different after reopen")
			}
		})
	}
}

// TestEncryptedKeyMissing: without its key file an encrypted domain's
// stores fail with ErrKeyMissing (nothing else opens wrong), a wrong key
// is ErrKeyWrong, and importing the exported key brings them back.
func TestEncryptedKeyMissing(t *testing.T) {
	dir, keyDir := t.TempDir(), t.TempDir()
	keyFile := filepath.Join(keyDir, "sec.key")
	o := testOptions()
	e := openSealed(t, dir, o, DomainOptions{KeyFile: keyFile})
	data := testData(3, 1<<20)
	put(t, e, "vault", "a", data)
	put(t, e, DefaultStore, "plain", data)
	key, err := e.ExportDomainKey("sec")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key outside the data directory left something in it: %v", err)
	}
	e.Close()
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}

	e = openTest(t, dir, o)
	defer e.Close()
	if err := e.DomainKeyError("sec"); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("domain key error: %v", err)
	}
	ctx := context.Background()
	if _, err := e.OpenItem(ctx, "vault", "a"); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("open without key: %v", err)
	}
	if _, err := e.Create(ctx, "vault", "b", WriteOptions{}); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("create without key: %v", err)
	}
	if !bytes.Equal(get(t, e, DefaultStore, "plain"), data) {
		t.Fatal("the plain domain suffers from the other's missing key")
	}
	// Housekeeping and verify leave the keyless domain alone, unharmed.
	if err := e.Delete(ctx, "vault", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true}); err != nil {
		t.Fatalf("housekeeping beside a keyless domain: %v", err)
	}
	if rep, err := e.Verify(ctx, nil); err != nil || len(rep.Damage) != 0 {
		t.Fatalf("verify beside a keyless domain: %+v %v", rep.Damage, err)
	}

	wrong := bytes.Clone(key)
	wrong[0] ^= 1
	if err := e.ImportDomainKey("sec", wrong); !errors.Is(err, ErrKeyWrong) {
		t.Fatalf("import of a wrong key: %v", err)
	}
	if err := os.WriteFile(keyFile, FormatKey(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Close()
	e = openTest(t, dir, o)
	if err := e.DomainKeyError("sec"); !errors.Is(err, ErrKeyWrong) {
		t.Fatalf("wrong key file: %v", err)
	}
	if _, err := e.OpenItem(ctx, "vault", "a"); !errors.Is(err, ErrKeyWrong) {
		t.Fatalf("open with a wrong key: %v", err)
	}
	os.Remove(keyFile)
	if err := e.ImportDomainKey("sec", key); err != nil {
		t.Fatal(err)
	}
	if err := e.DomainKeyError("sec"); err != nil {
		t.Fatal(err)
	}
	put(t, e, "vault", "b", data)
	if !bytes.Equal(get(t, e, "vault", "b"), data) {
		t.Fatal("reads back different after the key came back")
	}
}

// TestEncryptedMaintenance: housekeeping copies sealed records forward
// into new sealed containers, recompression re-encodes them, verify
// checks them and finds a flipped byte, and everything reads back.
func TestEncryptedMaintenance(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.Compression = "s2"
	e := openSealed(t, dir, o, DomainOptions{})
	defer e.Close()
	ctx := context.Background()
	items := map[string][]byte{}
	for i := range 4 {
		name := fmt.Sprint("item-", i)
		items[name] = testData(uint64(200+i), 1<<20)
		put(t, e, "vault", name, items[name])
	}
	if err := e.Delete(ctx, "vault", "item-0"); err != nil {
		t.Fatal(err)
	}
	delete(items, "item-0")
	rep, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Recompress: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recompressed == 0 || len(rep.Damaged) != 0 {
		t.Fatalf("housekeeping: %+v", rep)
	}
	zstd := 0
	for _, rec := range e.containers {
		if rec.Domain == 1 {
			continue
		}
		for _, en := range mustFooter(t, e, rec.ID) {
			if en.Codec == container.Zstd {
				zstd++
			}
		}
	}
	if zstd == 0 {
		t.Fatal("no record recompressed to zstd")
	}
	for name, want := range items {
		if !bytes.Equal(get(t, e, "vault", name), want) {
			t.Fatalf("%s reads back different after housekeeping", name)
		}
	}
	vr, err := e.Verify(ctx, nil)
	if err != nil || len(vr.Damage) != 0 || vr.Chunks == 0 {
		t.Fatalf("verify: %d chunks, %+v, %v", vr.Chunks, vr.Damage, err)
	}
	// One flipped byte in a sealed record is damage, named.
	var rec = e.containers[maxKey(e)]
	en := mustFooter(t, e, rec.ID)[0]
	f, err := os.OpenFile(filepath.Join(dir, "volumes", fmt.Sprintf("%04d.vol", rec.Volume)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := rec.Offset + container.HeaderSize + int64(en.Offset) + 5
	b := []byte{0}
	f.ReadAt(b, at)
	b[0] ^= 0x40
	f.WriteAt(b, at)
	f.Close()
	vr, err = e.Verify(ctx, nil)
	if err != nil || len(vr.Damage) == 0 || vr.Damage[0].Chunk == nil || *vr.Damage[0].Chunk != en.FP {
		t.Fatalf("verify after a flipped byte: %+v, %v", vr.Damage, err)
	}
}

func mustFooter(t *testing.T, e *Engine, id uint64) []container.Entry {
	t.Helper()
	entries, err := e.readFooter(id)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func maxKey(e *Engine) uint64 {
	var id uint64
	for k := range e.containers {
		id = max(id, k)
	}
	return id
}

// TestEncryptedReplicaAndImport: replication reads an encrypted domain's
// records opened (the target stores them with its own keys) and imports
// (client-side dedup) into an encrypted domain are sealed.
func TestEncryptedReplicaAndImport(t *testing.T) {
	ctx := context.Background()
	o := testOptions()
	src := openSealed(t, t.TempDir(), o, DomainOptions{})
	defer src.Close()
	data := randomData(9, 1<<20)
	put(t, src, "vault", "a", data)

	dstDir := t.TempDir()
	dst := openSealed(t, dstDir, o, DomainOptions{})
	sdom, err := src.Domain("sec")
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := dst.ImportDomain("replica-1", sdom.Key, sdom.Chunker)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CreateStore("copy", d.Name); err != nil {
		t.Fatal(err)
	}
	rr, err := src.OpenRecipe(ctx, "vault", "a")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	im, err := dst.Import(ctx, "copy", "a", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
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
				return err // a sealed record would fail its fingerprint here
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get(t, dst, "copy", "a"), data) {
		t.Fatal("replica reads back different")
	}
	// Client-side dedup import into the target's encrypted domain.
	text := textData(1 << 20)
	if _, _, err := importData(t, dst, "vault", "imported", text, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get(t, dst, "vault", "imported"), text) {
		t.Fatal("imported item reads back different")
	}
	dst.Close()
	if !volumesHold(t, dstDir, data) {
		t.Fatal("the plain replica domain does not hold the random payload in the clear")
	}
}

package container

import (
	"bytes"
	"errors"
	"testing"

	"github.com/backstop-appliance/backstop/dedup"
)

func sealedContainer(t *testing.T, kek *KEK, recs [][]byte) ([]byte, []Entry) {
	t.Helper()
	b := NewSealingBuilder(1<<20, kek)
	for i, r := range recs {
		b.Add(dedup.Fingerprint{byte(i)}, r, len(r), Raw)
	}
	data := b.Seal(7, 3)
	return bytes.Clone(data), append([]Entry(nil), b.Entries()...)
}

// TestSealedRoundTrip: a sealed container parses, its records open with
// the data key its key block gives, and no record's plaintext is in it.
func TestSealedRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{9}, KeySize)
	kek, err := NewKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	recs := [][]byte{bytes.Repeat([]byte("plaintext record "), 40), []byte("second record, short")}
	data, entries := sealedContainer(t, kek, recs)
	h, parsed, err := Parse(data)
	if err != nil || !h.Sealed || len(parsed) != 2 {
		t.Fatalf("parse: %+v %v", h, err)
	}
	for _, r := range recs {
		if bytes.Contains(data, r[:16]) {
			t.Fatalf("plaintext %q in the sealed container", r[:16])
		}
	}
	body := data[HeaderSize : HeaderSize+int64(h.Body)]
	dk, err := kek.Unwrap(body[:KeyBlockSize], h.ID, h.Domain)
	if err != nil {
		t.Fatal(err)
	}
	for i, en := range entries {
		if en.Stored != uint32(len(recs[i])+TagSize) {
			t.Fatalf("record %d stored %d, want %d", i, en.Stored, len(recs[i])+TagSize)
		}
		got, err := dk.OpenRecord(bytes.Clone(body[en.Offset:en.Offset+en.Stored]), en.Offset, en.FP, en.Raw, en.Codec)
		if err != nil || !bytes.Equal(got, recs[i]) {
			t.Fatalf("record %d: %q, %v", i, got, err)
		}
	}
	// A record opened under another offset or fingerprint, or with one
	// bit flipped, or a key block under another key, is ErrCorrupt.
	en := entries[1]
	rec := body[en.Offset : en.Offset+en.Stored]
	if _, err := dk.OpenRecord(bytes.Clone(rec), en.Offset+1, en.FP, en.Raw, en.Codec); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved record: %v", err)
	}
	if _, err := dk.OpenRecord(bytes.Clone(rec), en.Offset, dedup.Fingerprint{42}, en.Raw, en.Codec); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("relabelled record: %v", err)
	}
	flipped := bytes.Clone(rec)
	flipped[3] ^= 1
	if _, err := dk.OpenRecord(flipped, en.Offset, en.FP, en.Raw, en.Codec); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped record: %v", err)
	}
	other, _ := NewKEK(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Unwrap(body[:KeyBlockSize], h.ID, h.Domain); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := kek.Unwrap(body[:KeyBlockSize], h.ID+1, h.Domain); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("key block of another container: %v", err)
	}
}

// TestSealedDataKeysDiffer: two containers of the same records under the
// same domain key share no ciphertext (fresh data key per container).
func TestSealedDataKeysDiffer(t *testing.T) {
	kek, _ := NewKEK(bytes.Repeat([]byte{1}, KeySize))
	rec := bytes.Repeat([]byte{0}, 256)
	a, ea := sealedContainer(t, kek, [][]byte{rec})
	b, _ := sealedContainer(t, kek, [][]byte{rec})
	off := HeaderSize + int(ea[0].Offset)
	if bytes.Equal(a[off:off+256], b[off:off+256]) {
		t.Fatal("two containers sealed the same record alike")
	}
	if KeyID(bytes.Repeat([]byte{1}, KeySize)) == KeyID(bytes.Repeat([]byte{2}, KeySize)) {
		t.Fatal("key ids collide")
	}
}

// BenchmarkSealRecord: sealing and opening one 8 KiB record, the cipher's
// cost per byte alone (compare with chunkstore's BenchmarkEncryption).
func BenchmarkSealRecord(b *testing.B) {
	dk, _ := NewDataKey()
	rec := bytes.Repeat([]byte("x"), 8<<10)
	buf := make([]byte, 0, len(rec)+TagSize)
	b.Run("seal", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for i := range b.N {
			buf = dk.SealRecord(buf[:0], rec, uint32(i), dedup.Fingerprint{}, 8<<10, Raw)
		}
	})
	sealed := dk.SealRecord(nil, rec, 64, dedup.Fingerprint{}, 8<<10, Raw)
	b.Run("open", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for range b.N {
			c := append(buf[:0], sealed...)
			if _, err := dk.OpenRecord(c, 64, dedup.Fingerprint{}, 8<<10, Raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

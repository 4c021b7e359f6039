package container

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/backstop-appliance/backstop/dedup"
)

func build(t testing.TB, chunks [][]byte, codec Codec) []byte {
	t.Helper()
	b := NewBuilder(1 << 20)
	c, err := NewCompressor(codec)
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range chunks {
		var fp dedup.Fingerprint
		fp[0] = byte(i)
		stored, cd := c.Compress(nil, ch)
		b.Add(fp, stored, len(ch), cd)
	}
	return append([]byte(nil), b.Seal(42, 3)...)
}

func TestRoundTrip(t *testing.T) {
	chunks := [][]byte{bytes.Repeat([]byte("compressible "), 1000), {1, 2, 3}, bytes.Repeat([]byte{0}, 5000)}
	dec, err := NewDecompressor()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, codec := range []Codec{Raw, S2, Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			buf := build(t, chunks, codec)
			h, entries, err := Parse(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := h.Size(), int64(len(buf)); got != want {
				t.Fatalf("header size %d, container %d", got, want)
			}
			if h.ID != 42 || h.Domain != 3 || len(entries) != len(chunks) {
				t.Fatalf("header %+v, %d entries", h, len(entries))
			}
			for i, en := range entries {
				body := buf[HeaderSize+int(en.Offset):][:en.Stored]
				got, err := dec.Decompress(nil, body, en.Codec, int(en.Raw))
				if err != nil || !bytes.Equal(got, chunks[i]) {
					t.Fatalf("chunk %d: %v", i, err)
				}
			}
			if codec != Raw && entries[0].Codec != codec {
				t.Fatalf("compressible chunk stored %v", entries[0].Codec)
			}
			if entries[1].Codec != Raw {
				t.Fatalf("3-byte chunk stored %v, want raw", entries[1].Codec)
			}
		})
	}
}

func TestDamageDetected(t *testing.T) {
	good := build(t, [][]byte{[]byte("hello world"), []byte("second chunk")}, S2)
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x40
		if _, _, err := Parse(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d not detected: %v", i, err)
		}
	}
	if _, _, err := Parse(good[:len(good)-1]); !errors.Is(err, ErrCorrupt) {
		t.Fatal("truncated container not detected")
	}
}

// FuzzParse feeds arbitrary bytes to the container parsers: they must
// return an error or entries that lie inside the container, never panic.
func FuzzParse(f *testing.F) {
	f.Add(build(f, [][]byte{[]byte("seed chunk"), bytes.Repeat([]byte("ab"), 300)}, S2))
	f.Add(build(f, nil, Raw))
	f.Add([]byte("BKSC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, entries, err := Parse(b)
		if err != nil {
			return
		}
		for _, en := range entries {
			if uint64(en.Offset)+uint64(en.Stored) > uint64(h.Body) {
				t.Fatalf("entry outside the body: %+v", en)
			}
		}
	})
}

// TestLenAfterSeal: the body length a flusher records after sealing must be
// the body's, or footers are looked for in the wrong place.
func TestLenAfterSeal(t *testing.T) {
	b := NewBuilder(1 << 20)
	b.Add(dedup.Fingerprint{1}, []byte("hello"), 5, Raw)
	b.Add(dedup.Fingerprint{2}, []byte("world!"), 6, Raw)
	buf := b.Seal(1, 1)
	h, err := ParseHeader(buf)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 11 || int(h.Body) != b.Len() {
		t.Fatalf("Len after Seal %d, header body %d, want 11", b.Len(), h.Body)
	}
	if _, err := ParseFooter(h, buf[h.FooterOffset():]); err != nil {
		t.Fatal(err)
	}
}

// TestZstdRecordBoundedByRaw: a zstd record whose frame inflates beyond the
// raw length it claims is refused without decoding more than that length
// (a hostile Catalyst client sends such records to the importer).
func TestZstdRecordBoundedByRaw(t *testing.T) {
	c, err := NewCompressor(Zstd)
	if err != nil {
		t.Fatal(err)
	}
	bomb, codec := c.Compress(nil, make([]byte, 32<<20)) // 32 MiB of zeros: a few KiB stored
	if codec != Zstd {
		t.Fatalf("zeros stored as %v", codec)
	}
	dec, err := NewDecompressor()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	dst := make([]byte, 0, 64<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := dec.Decompress(dst, bomb, Zstd, 64<<10)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a 32 MiB frame claimed as 64 KiB: %d bytes, err %v", len(out), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("decoding the record allocated %d bytes", grew)
	}
}

package index

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

func TestSegmentRoundTrip(t *testing.T) {
	var in []dedup.RecipeEntry
	for i := range SegmentLen {
		var e dedup.RecipeEntry
		rand.Read(e.FP[:])
		e.Len = uint32(1 + i*977)
		in = append(in, e)
	}
	out, err := DecodeSegment(nil, EncodeSegment(nil, in))
	if err != nil || len(out) != len(in) {
		t.Fatalf("%v, %d entries", err, len(out))
	}
	for i := range in {
		if in[i] != out[i] {
			t.Fatalf("entry %d differs", i)
		}
	}
	if _, err := DecodeSegment(nil, EncodeSegment(nil, in)[:100]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated segment: %v", err)
	}
}

func TestFilterNoFalseNegatives(t *testing.T) {
	f := NewFilter(1000)
	var fps []dedup.Fingerprint
	for range 300_000 { // forces several layers
		var fp dedup.Fingerprint
		rand.Read(fp[:])
		f.Add(fp)
		fps = append(fps, fp)
	}
	for _, fp := range fps {
		if !f.MayContain(fp) {
			t.Fatal("false negative")
		}
	}
	fp := 0
	for range 100_000 {
		var x dedup.Fingerprint
		rand.Read(x[:])
		if f.MayContain(x) {
			fp++
		}
	}
	if rate := float64(fp) / 100_000; rate > 0.03 {
		t.Fatalf("false positive rate %.3f", rate)
	}
}

func TestDBChunksAndSegments(t *testing.T) {
	d, err := Open(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.LoadFilter(); err != nil {
		t.Fatal(err)
	}
	var fp dedup.Fingerprint
	rand.Read(fp[:])
	if _, err := d.Lookup(fp); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup of a new chunk: %v", err)
	}
	b := d.NewBatch()
	loc := Loc{Container: 7, Offset: 100, Stored: 50, Raw: 80, Codec: container.S2}
	b.PutChunk(fp, loc)
	b.PutSegment(1, 9, 0, []dedup.RecipeEntry{{FP: fp, Len: 80}})
	b.PutSegment(1, 9, 80, []dedup.RecipeEntry{{FP: fp, Len: 80}, {FP: fp, Len: 80}})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Lookup(fp); err != nil || got != loc {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	for _, c := range []struct {
		off, start int64
		n          int
	}{{0, 0, 1}, {79, 0, 1}, {80, 80, 2}, {239, 80, 2}} {
		start, seg, err := d.Segment(9, c.off, nil)
		if err != nil || start != c.start || len(seg) != c.n {
			t.Fatalf("segment at %d: start %d, %d entries, %v", c.off, start, len(seg), err)
		}
	}
	if err := d.DropRecipe(9); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Segment(9, 0, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("segment after drop: %v", err)
	}
}

func FuzzDecodeSegment(f *testing.F) {
	var e dedup.RecipeEntry
	e.Len = 4096
	f.Add(EncodeSegment(nil, []dedup.RecipeEntry{e, e}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeSegment(nil, b)
	})
}

func FuzzDecodeValues(f *testing.F) {
	f.Add(Loc{Container: 1, Stored: 2, Raw: 3}.encode())
	f.Add(ContainerRec{Volume: 1, Offset: 2, Size: 3}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeLoc(b)
		DecodeContainerRec(1, b)
	})
}

// TestOpenAfterEmptyLogs: a crash can leave an empty .vlog or .mem file
// (created, header not yet written); the index must still open.
func TestOpenAfterEmptyLogs(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b := d.NewBatch()
	b.PutContainer(ContainerRec{ID: 1, Size: 100})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	for _, name := range []string{"000099.vlog", "00099.mem"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	d, err = Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open with empty log files: %v", err)
	}
	defer d.Close()
	recs, err := d.Containers()
	if err != nil || len(recs) != 1 {
		t.Fatalf("containers after reopening: %v %v", recs, err)
	}
}

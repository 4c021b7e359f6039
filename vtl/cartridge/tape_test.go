package cartridge

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

func testEngine(t testing.TB) *chunkstore.Engine {
	t.Helper()
	o := chunkstore.DefaultOptions()
	o.Workers = 2
	eng, err := chunkstore.Open(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if _, err := eng.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	return eng
}

func record(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustOpen(t *testing.T, eng *chunkstore.Engine, opts Options) *Tape {
	t.Helper()
	if opts.Capacity == 0 {
		opts.Capacity = 1 << 30
	}
	tp, err := Open(context.Background(), eng, "vtl", "TAPE01L6", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close(context.Background()) })
	return tp
}

func readRecord(t *testing.T, tp *Tape) ([]byte, error) {
	t.Helper()
	buf := make([]byte, 1<<20)
	n, err := tp.Read(context.Background(), buf)
	return buf[:min(n, len(buf))], err
}

// writeFiles writes files of records separated by filemarks: file i has
// counts[i] records of size sizes[i] with seeds i*1000+j.
func writeFiles(t *testing.T, tp *Tape, counts, sizes []int) {
	t.Helper()
	ctx := context.Background()
	for i := range counts {
		for j := 0; j < counts[i]; j++ {
			if err := tp.Write(ctx, record(uint64(i*1000+j), sizes[i])); err != nil {
				t.Fatal(err)
			}
		}
		if err := tp.WriteFilemarks(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteReadBack(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{})
	writeFiles(t, tp, []int{5, 3, 7}, []int{1000, 65536, 512})
	if err := tp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	tp = mustOpen(t, eng, Options{})
	if got := tp.Map().Objects(); got != 18 {
		t.Fatalf("objects after reopen: %d, want 18", got)
	}
	for i, c := range []int{5, 3, 7} {
		for j := 0; j < c; j++ {
			got, err := readRecord(t, tp)
			if err != nil {
				t.Fatalf("file %d record %d: %v", i, j, err)
			}
			if !bytes.Equal(got, record(uint64(i*1000+j), []int{1000, 65536, 512}[i])) {
				t.Fatalf("file %d record %d differs", i, j)
			}
		}
		if _, err := readRecord(t, tp); !errors.Is(err, ErrFilemark) {
			t.Fatalf("file %d end: %v, want filemark", i, err)
		}
	}
	if _, err := readRecord(t, tp); !errors.Is(err, ErrEndOfData) {
		t.Fatalf("at EOD: %v", err)
	}
	if runs := len(tp.Map().Runs()); runs != 6 {
		t.Fatalf("record map has %d runs, want 6 (one per file and filemark)", runs)
	}
}

func TestSpaceAndLocate(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{})
	writeFiles(t, tp, []int{4, 4, 4}, []int{100, 200, 300}) // objects: 0-3 r, 4 fm, 5-8 r, 9 fm, 10-13 r, 14 fm; EOD 15
	type step struct {
		name     string
		op       func() (int64, error)
		wantPos  uint64
		wantRes  int64
		wantErr  error
		wantNext []byte // record expected at the position, nil: skip
	}
	steps := []step{
		{"rewind", func() (int64, error) { return 0, tp.Rewind(ctx) }, 0, 0, nil, record(0, 100)},
		{"fsf 1", func() (int64, error) { return tp.SpaceFilemarks(ctx, 1) }, 5, 0, nil, record(1000, 200)},
		{"fsr 2", func() (int64, error) { return tp.SpaceRecords(ctx, 2) }, 7, 0, nil, record(1002, 200)},
		{"fsr 5 hits fm", func() (int64, error) { return tp.SpaceRecords(ctx, 5) }, 10, 3, ErrFilemark, record(2000, 300)},
		{"bsr 3 hits fm", func() (int64, error) { return tp.SpaceRecords(ctx, -3) }, 9, -3, ErrFilemark, nil},
		{"bsf 1", func() (int64, error) { return tp.SpaceFilemarks(ctx, -1) }, 4, 0, nil, nil},
		{"bsf 5 hits BOT", func() (int64, error) { return tp.SpaceFilemarks(ctx, -5) }, 0, -5, ErrBeginning, nil},
		{"fsf 4 hits EOD", func() (int64, error) { return tp.SpaceFilemarks(ctx, 4) }, 15, 1, ErrEndOfData, nil},
		{"locate 12", func() (int64, error) { return 0, tp.Locate(ctx, 12) }, 12, 0, nil, record(2002, 300)},
		{"locate past EOD", func() (int64, error) { return 0, tp.Locate(ctx, 99) }, 15, 0, ErrEndOfData, nil},
		{"bsr over BOT", func() (int64, error) { _ = tp.Locate(ctx, 2); return tp.SpaceRecords(ctx, -5) }, 0, -3, ErrBeginning, nil},
		{"eod", func() (int64, error) { return 0, tp.SpaceEOD(ctx) }, 15, 0, nil, nil},
		{"fsr at EOD", func() (int64, error) { return tp.SpaceRecords(ctx, 1) }, 15, 1, ErrEndOfData, nil},
	}
	for _, s := range steps {
		res, err := s.op()
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		if res != s.wantRes || tp.Position() != s.wantPos {
			t.Fatalf("%s: position %d residual %d, want %d %d", s.name, tp.Position(), res, s.wantPos, s.wantRes)
		}
		if s.wantNext != nil {
			got, err := readRecord(t, tp)
			if err != nil || !bytes.Equal(got, s.wantNext) {
				t.Fatalf("%s: next record wrong (%v)", s.name, err)
			}
			if err := tp.Locate(ctx, s.wantPos); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestOverwriteTruncatesAndAppend(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{})
	writeFiles(t, tp, []int{3, 3, 3}, []int{4096, 4096, 4096})
	// overwrite from the second file on
	if err := tp.Rewind(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.SpaceFilemarks(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("new second file")); err != nil {
		t.Fatal(err)
	}
	if err := tp.WriteFilemarks(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := tp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// append after reopen
	tp = mustOpen(t, eng, Options{})
	if got := tp.Map().Objects(); got != 6 {
		t.Fatalf("objects after overwrite: %d, want 6", got)
	}
	if err := tp.SpaceEOD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("appended")); err != nil {
		t.Fatal(err)
	}
	if err := tp.Rewind(ctx); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{record(0, 4096), record(1, 4096), record(2, 4096), nil, []byte("new second file"), nil, []byte("appended")}
	for i, w := range want {
		got, err := readRecord(t, tp)
		if w == nil {
			if !errors.Is(err, ErrFilemark) {
				t.Fatalf("object %d: %v, want filemark", i, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("object %d: %q %v", i, got[:min(len(got), 20)], err)
		}
	}
	if _, err := readRecord(t, tp); !errors.Is(err, ErrEndOfData) {
		t.Fatalf("after append: %v, want EOD", err)
	}
}

func TestEarlyWarningAndEnd(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{Capacity: 10 * 1024, EarlyWarning: 3 * 1024})
	var errs []error
	for i := 0; i < 11; i++ {
		errs = append(errs, tp.Write(ctx, record(uint64(i), 1024)))
	}
	for i, err := range errs {
		var want error
		switch {
		case i >= 10:
			want = ErrEndOfMedium
		case i >= 7:
			want = ErrEarlyWarning
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("write %d: %v, want %v", i, err, want)
		}
	}
	if tp.Map().Objects() != 10 {
		t.Fatalf("%d records on tape, want 10", tp.Map().Objects())
	}
}

func TestProtection(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{WORM: true})
	writeFiles(t, tp, []int{2}, []int{512})
	if err := tp.Rewind(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("x")); !errors.Is(err, ErrWORM) {
		t.Fatalf("WORM overwrite: %v", err)
	}
	if err := tp.Erase(ctx); !errors.Is(err, ErrWORM) {
		t.Fatalf("WORM erase: %v", err)
	}
	if err := tp.SpaceEOD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("append is fine")); err != nil {
		t.Fatalf("WORM append: %v", err)
	}
	tp.SetProtection(true)
	if err := tp.Write(ctx, []byte("x")); !errors.Is(err, ErrWriteProtected) {
		t.Fatalf("write-protected: %v", err)
	}
}

// TestUncommittedLost shows what "acknowledged" means: records written
// after the last commit are lost when the session dies (no Close), the
// committed ones survive.
func TestUncommittedLost(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{})
	writeFiles(t, tp, []int{3}, []int{2048})
	if err := tp.Write(ctx, record(99, 2048)); err != nil {
		t.Fatal(err)
	}
	if objs, b := tp.Buffered(); objs != 1 || b != 2048 {
		t.Fatalf("buffered %d objects %d bytes", objs, b)
	}
	tp.w.Abort() // the session dies
	tp2 := mustOpen(t, eng, Options{})
	if got := tp2.Map().Objects(); got != 4 {
		t.Fatalf("after a lost session: %d objects, want 4 (3 records + filemark)", got)
	}
}

func TestSecondBackupDedups(t *testing.T) {
	if testing.Short() {
		t.Skip("make test-vtldev runs it")
	}
	ctx := context.Background()
	eng := testEngine(t)
	data := record(5, 8<<20)
	write := func(name string, d []byte) int64 {
		tp, err := Open(ctx, eng, "vtl", name, Options{Capacity: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		defer tp.Close(ctx)
		for off := 0; off < len(d); off += 65536 {
			if err := tp.Write(ctx, d[off:min(off+65536, len(d))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := tp.Close(ctx); err != nil {
			t.Fatal(err)
		}
		_, newBytes, err := Usage(ctx, eng, "vtl", name)
		if err != nil {
			t.Fatal(err)
		}
		return newBytes
	}
	first := write("A00001L6", data)
	changed := append([]byte(nil), data...)
	copy(changed[3<<20:], record(6, 10000)) // a small change in the middle
	second := write("A00002L6", changed)
	if first < 7<<20 {
		t.Fatalf("first backup stored only %d bytes of 8 MiB random data", first)
	}
	if second > first/10 {
		t.Fatalf("second backup stored %d new bytes, first %d: want under a tenth", second, first)
	}
	t.Logf("first backup stored %d bytes, second %d", first, second)
}

// TestAbortKeepsBuffer: a command cancelled by the host (task abort, lost
// connection) does not throw away records already acknowledged as
// buffered.
func TestAbortKeepsBuffer(t *testing.T) {
	eng := testEngine(t)
	tp := mustOpen(t, eng, Options{})
	for i := 0; i < 5; i++ {
		if err := tp.Write(context.Background(), record(uint64(i), 4096)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tp.Rewind(ctx); err != nil {
		t.Fatalf("rewind with a cancelled context: %v", err)
	}
	tp2 := mustOpen(t, eng, Options{})
	if got := tp2.Map().Objects(); got != 5 {
		t.Fatalf("%d records committed, want 5", got)
	}
}

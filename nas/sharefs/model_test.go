package sharefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestModelRandom runs random operations on files of the share and on
// reference os.Files in a temp dir, and checks they always read the
// same: writes sequential, appended, at 0, random and overlapping,
// truncates, syncs, reads through a second handle, handle reopens and
// engine restarts.
func TestModelRandom(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	steps, maxSize := 400, int64(3<<20)
	if testing.Short() {
		seeds, steps, maxSize = seeds[:1], 200, 1<<20
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { modelRun(t, seed, steps, maxSize) })
	}
}

type modelFile struct {
	name   string
	ref    *os.File
	w, r   vfs.File
	stream int64 // where a sequential writer would continue
}

func modelRun(t *testing.T, seed uint64, steps int, maxSize int64) {
	e := newEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed*31))
	refDir := t.TempDir()
	files := make([]*modelFile, 3)
	open := func(m *modelFile) {
		var err error
		if m.w, err = e.fs.Open(ctx, m.name, vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate); err != nil {
			t.Fatal(err)
		}
		if m.r, err = e.fs.Open(ctx, m.name, vfs.OpenRead); err != nil {
			t.Fatal(err)
		}
	}
	closeAll := func() {
		for _, m := range files {
			if err := m.w.Close(); err != nil {
				t.Fatalf("%s: close: %v", m.name, err)
			}
			if err := m.r.Close(); err != nil {
				t.Fatalf("%s: close: %v", m.name, err)
			}
		}
	}
	for i := range files {
		m := &modelFile{name: fmt.Sprint("f", i)}
		ref, err := os.Create(filepath.Join(refDir, m.name))
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		m.ref = ref
		open(m)
		files[i] = m
	}
	size := func(m *modelFile) int64 {
		st, err := m.ref.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	compare := func(step int, m *modelFile, off int64, n int) {
		want := make([]byte, n)
		wn, werr := m.ref.ReadAt(want, off)
		got := make([]byte, n)
		gn, gerr := m.r.ReadAt(got, off)
		if wn != gn || errors.Is(werr, io.EOF) != errors.Is(gerr, io.EOF) || !bytes.Equal(want[:wn], got[:gn]) {
			t.Fatalf("step %d %s: ReadAt(%d, %d) = %d %v, reference %d %v (first difference at %d)",
				step, m.name, n, off, gn, gerr, wn, werr, firstDiff(want[:wn], got[:gn]))
		}
	}
	for step := range steps {
		m := files[rng.IntN(len(files))]
		sz := size(m)
		switch k := rng.IntN(100); {
		case k < 55: // write
			var off int64
			n := 1 + rng.IntN(int(maxSize/12))
			switch rng.IntN(4) {
			case 0, 1:
				off = m.stream // sequential
			case 2:
				off = sz // append
			default:
				off = rng.Int64N(sz + 1 + 64<<10)
			}
			if rng.IntN(10) == 0 {
				off = 0
			}
			if off+int64(n) > maxSize {
				off = 0
			}
			data := randBytes(rng.Uint64(), n)
			if rng.IntN(3) == 0 && off >= 4096 {
				copy(data, randBytes(uint64(off/4096), min(n, 4096))) // some dedup
			}
			if _, err := m.ref.WriteAt(data, off); err != nil {
				t.Fatal(err)
			}
			if k, err := m.w.WriteAt(data, off); err != nil || k != n {
				t.Fatalf("step %d: write %d at %d: %d %v", step, n, off, k, err)
			}
			m.stream = off + int64(n)
		case k < 62: // truncate
			ns := rng.Int64N(maxSize)
			if rng.IntN(2) == 0 {
				ns = rng.Int64N(sz + 1)
			}
			if err := m.ref.Truncate(ns); err != nil {
				t.Fatal(err)
			}
			if err := m.w.Truncate(ns); err != nil {
				t.Fatalf("step %d: truncate %d: %v", step, ns, err)
			}
			m.stream = min(m.stream, ns)
		case k < 70:
			if err := m.w.Sync(); err != nil {
				t.Fatalf("step %d: sync: %v", step, err)
			}
		case k < 88: // read a random range
			off := rng.Int64N(sz + 10)
			compare(step, m, off, 1+rng.IntN(300<<10))
		case k < 96: // reopen the handles of one file
			if err := m.w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.r.Close(); err != nil {
				t.Fatal(err)
			}
			open(m)
		default: // restart the engine with everything closed
			closeAll()
			e.restart()
			for _, m := range files {
				open(m)
			}
		}
		if info, err := m.r.Stat(); err != nil || info.Size != size(m) {
			t.Fatalf("step %d %s: size %d, reference %d (%v)", step, m.name, info.Size, size(m), err)
		}
	}
	closeAll()
	e.restart()
	for _, m := range files {
		want, err := os.ReadFile(m.ref.Name())
		if err != nil {
			t.Fatal(err)
		}
		e.checkFile(m.name, want)
	}
	if got := e.items(); len(got) > len(files) {
		t.Fatalf("items left over: %v", got)
	}
}

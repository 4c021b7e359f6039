package sharefs

import (
	"context"
	"errors"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

func cloneRange(t *testing.T, dst, src vfs.File, srcOff, dstOff, n int64) error {
	t.Helper()
	cl, ok := dst.(vfs.Cloner)
	if !ok {
		t.Fatal("a sharefs file is not a vfs.Cloner")
	}
	return cl.CloneRange(context.Background(), src, srcOff, dstOff, n)
}

// overlay is want with p written at off (zeros fill a gap).
func overlay(want []byte, p []byte, off int) []byte {
	if end := off + len(p); end > len(want) {
		want = append(want, make([]byte, end-len(want))...)
	}
	copy(want[off:], p)
	return want
}

// TestCloneRange: a cloned range reads back as the source's bytes
// whatever state the target is in (committed, streaming, with staged
// random writes, growing), and survives a restart.
func TestCloneRange(t *testing.T) {
	src := randBytes(1, 3<<20)
	old := randBytes(2, 1<<20)
	for _, tc := range []struct {
		name string
		// prepare writes the target (open as f) and returns its bytes.
		prepare        func(e *testEnv, f vfs.File) []byte
		srcOff, dstOff int64
		n              int64
		after          func(e *testEnv, f vfs.File, want []byte) []byte
	}{
		{name: "whole file into an empty one", n: int64(len(src))},
		{name: "over the middle of a committed file", srcOff: 12345, dstOff: 100000, n: 500000,
			prepare: func(e *testEnv, f vfs.File) []byte {
				write(e, f, old, 0)
				syncFile(e, f)
				return append([]byte(nil), old...)
			}},
		{name: "past the end leaves a hole", srcOff: 1 << 20, dstOff: 2 << 20, n: 1 << 20,
			prepare: func(e *testEnv, f vfs.File) []byte {
				write(e, f, old[:1000], 0)
				return append([]byte(nil), old[:1000]...)
			}},
		{name: "appended to a stream, then more appended", srcOff: 7, dstOff: 1 << 20, n: 1 << 20,
			prepare: func(e *testEnv, f vfs.File) []byte {
				write(e, f, old, 0)
				return append([]byte(nil), old...)
			},
			after: func(e *testEnv, f vfs.File, want []byte) []byte {
				write(e, f, old[:5000], int64(len(want)))
				return overlay(want, old[:5000], len(want))
			}},
		{name: "inside a stream, with staged writes around", srcOff: 0, dstOff: 300000, n: 200000,
			prepare: func(e *testEnv, f vfs.File) []byte {
				write(e, f, old, 0)
				write(e, f, src[:100], 50)     // staged below
				write(e, f, src[:100], 400000) // staged inside, overwritten
				write(e, f, src[:100], 900000) // staged above
				want := overlay(append([]byte(nil), old...), src[:100], 50)
				want = overlay(want, src[:100], 400000)
				return overlay(want, src[:100], 900000)
			}},
		{name: "a random write over the clone", srcOff: 0, dstOff: 0, n: 2 << 20,
			after: func(e *testEnv, f vfs.File, want []byte) []byte {
				write(e, f, old[:777], 1<<20)
				return overlay(want, old[:777], 1<<20)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.writeFile("src", src)
			f := e.create("dst")
			var want []byte
			if tc.prepare != nil {
				want = tc.prepare(e, f)
			}
			s, err := e.fs.Open(context.Background(), "src", vfs.OpenRead)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := cloneRange(t, f, s, tc.srcOff, tc.dstOff, tc.n); err != nil {
				t.Fatalf("clone: %v", err)
			}
			want = overlay(want, src[tc.srcOff:tc.srcOff+tc.n], int(tc.dstOff))
			if tc.after != nil {
				want = tc.after(e, f, want)
			}
			if got := readAll(t, f); string(got) != string(want) {
				t.Fatalf("open file: %d bytes, want %d, first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			e.checkFile("dst", want)
			s.Close()
			e.restart()
			e.checkFile("dst", want)
			e.checkFile("src", src)
		})
	}
}

func write(e *testEnv, f vfs.File, p []byte, off int64) {
	e.t.Helper()
	if _, err := f.WriteAt(p, off); err != nil {
		e.t.Fatal(err)
	}
}

func syncFile(e *testEnv, f vfs.File) {
	e.t.Helper()
	if err := f.Sync(); err != nil {
		e.t.Fatal(err)
	}
}

// A clone stores no new data: the whole-file clone adds no container.
func TestCloneStoresNothing(t *testing.T) {
	e := newEnv(t)
	e.writeFile("src", randBytes(3, 8<<20))
	before := e.eng.Stats()
	s, err := e.fs.Open(context.Background(), "src", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := e.create("dst")
	if err := cloneRange(t, f, s, 0, 0, 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	after := e.eng.Stats()
	if after.StoredBytes != before.StoredBytes {
		t.Fatalf("a clone stored %d bytes", after.StoredBytes-before.StoredBytes)
	}
}

// A clone of the source's unsynced bytes commits the source first; one
// file cloned onto itself copies the range as it was.
func TestCloneUnsyncedAndSelf(t *testing.T) {
	e := newEnv(t)
	data := randBytes(4, 1<<20)
	f := e.create("a")
	write(e, f, data, 0)
	write(e, f, data[:10], 5000) // staged
	want := overlay(append([]byte(nil), data...), data[:10], 5000)
	if err := cloneRange(t, f, f, 0, 1<<20, 1<<20); err != nil {
		t.Fatal(err)
	}
	want = overlay(want, want[:1<<20], 1<<20)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	e.checkFile("a", want)
}

func TestCloneRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.writeFile("src", randBytes(5, 100<<10))
	s, err := e.fs.Open(ctx, "src", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := e.create("dst")
	defer f.Close()
	ro, err := e.fs.Open(ctx, "src", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mem, err := vfs.NewMemFS(1<<20).Open(ctx, "x", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		dst    vfs.File
		src    vfs.File
		off, n int64
		want   error
	}{
		{"past the source's end", f, s, 50 << 10, 60 << 10, vfs.ErrInvalid},
		{"negative", f, s, -1, 10, vfs.ErrInvalid},
		{"another filesystem", f, mem, 0, 10, vfs.ErrUnsupported},
		{"target open read-only", ro, s, 0, 10, vfs.ErrReadOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := cloneRange(t, tc.dst, tc.src, tc.off, 0, tc.n); !errors.Is(err, tc.want) {
				t.Fatalf("clone: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCloneQuota(t *testing.T) {
	e := &testEnv{t: t, dir: t.TempDir(), quota: 3 << 20}
	e.open()
	if _, err := e.eng.CreateStore(testStore, "default"); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	t.Cleanup(e.close)
	e.writeFile("src", randBytes(6, 2<<20))
	s, err := e.fs.Open(context.Background(), "src", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := e.create("dst")
	defer f.Close()
	if err := cloneRange(t, f, s, 0, 0, 2<<20); !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("clone over the quota: %v, want ErrNoSpace", err)
	}
}

func TestCloneImmutable(t *testing.T) {
	e := newImmutableEnv(t)
	e.write("src", randBytes(7, 100<<10))
	f, err := e.fs.Open(context.Background(), "dst", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("locked"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	s, err := e.fs.Open(context.Background(), "src", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = f.(vfs.Cloner).CloneRange(context.Background(), s, 0, 0, 10)
	wantImmutable(t, "clone", err)
}

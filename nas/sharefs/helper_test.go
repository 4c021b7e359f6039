package sharefs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// testEnv is an engine in a temp dir with one share filesystem on it.
type testEnv struct {
	t     testing.TB
	dir   string
	eng   *chunkstore.Engine
	fs    *FS
	quota int64
	ci    bool // create the filesystem case-insensitive
}

const testStore = "nas.test"

func newEnv(t testing.TB) *testEnv { return newEnvCase(t, false) }

// newEnvCase makes an env whose filesystem is case-insensitive with ci.
func newEnvCase(t testing.TB, ci bool) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), ci: ci}
	e.open()
	if _, err := e.eng.CreateStore(testStore, chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	t.Cleanup(e.close)
	return e
}

func (e *testEnv) open() {
	e.t.Helper()
	eo := chunkstore.DefaultOptions()
	eo.Create = true
	eo.Capacity = 8 << 30
	eo.Reserve = 0
	eng, err := chunkstore.Open(context.Background(), filepath.Join(e.dir, "data"), eo)
	if err != nil {
		e.t.Fatal(err)
	}
	e.eng = eng
}

func (e *testEnv) openFS() {
	e.t.Helper()
	fs, err := Open(context.Background(), e.eng, Options{Store: testStore, Quota: e.quota, CaseInsensitive: e.ci,
		MetaDir: filepath.Join(e.dir, "nas", "test", "meta"), StagingDir: filepath.Join(e.dir, "nas", "staging", "test")})
	if err != nil {
		e.t.Fatal(err)
	}
	e.fs = fs
}

func (e *testEnv) close() {
	if e.fs != nil {
		if err := e.fs.Close(); err != nil {
			e.t.Errorf("close fs: %v", err)
		}
		e.fs = nil
	}
	if e.eng != nil {
		if err := e.eng.Close(); err != nil {
			e.t.Errorf("close engine: %v", err)
		}
		e.eng = nil
	}
}

// restart closes the filesystem and the engine and opens them again.
func (e *testEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
	e.openFS()
}

func (e *testEnv) create(path string) vfs.File {
	e.t.Helper()
	f, err := e.fs.Open(context.Background(), path, vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenFile)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func (e *testEnv) mkdir(path string) {
	e.t.Helper()
	f, err := e.fs.Open(context.Background(), path, vfs.OpenCreate|vfs.OpenExcl|vfs.OpenDir)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// writeFile creates path with data, written sequentially in pieces.
func (e *testEnv) writeFile(path string, data []byte) {
	e.t.Helper()
	f := e.create(path)
	for off := 0; off < len(data); off += 64 << 10 {
		end := min(off+64<<10, len(data))
		if _, err := f.WriteAt(data[off:end], int64(off)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// readAll reads a whole file through f.
func readAll(t testing.TB, f vfs.File) []byte {
	t.Helper()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, info.Size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		t.Fatalf("read %d of %d: %v", n, len(buf), err)
	}
	return buf
}

func (e *testEnv) readFile(path string) []byte {
	e.t.Helper()
	f, err := e.fs.Open(context.Background(), path, vfs.OpenRead)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	return readAll(e.t, f)
}

func (e *testEnv) checkFile(path string, want []byte) {
	e.t.Helper()
	if got := e.readFile(path); !bytes.Equal(got, want) {
		e.t.Fatalf("%s: %d bytes differ from the %d expected (first difference at %d)", path, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// items lists the store's item names.
func (e *testEnv) items() []string {
	e.t.Helper()
	its, err := e.eng.List(context.Background(), testStore, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, it := range its {
		out = append(out, it.Name)
	}
	return out
}

// randBytes is deterministic pseudo-random data.
func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i+8 <= n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for j := range 8 {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

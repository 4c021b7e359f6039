package sharefs

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/testclock"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// immutableEnv is a share filesystem whose store keeps items for one
// day, engine and filesystem on the same clock.
type immutableEnv struct {
	t     *testing.T
	dir   string
	clock *testclock.Clock
	eng   *chunkstore.Engine
	fs    *FS
}

func newImmutableEnv(t *testing.T) *immutableEnv {
	t.Helper()
	e := &immutableEnv{t: t, dir: t.TempDir(), clock: testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	e.open()
	if _, err := e.eng.CreateStore(testStore, chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.SetStoreOptions(testStore, chunkstore.StoreOptions{ImmutableDays: 1}); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	t.Cleanup(e.close)
	return e
}

func (e *immutableEnv) open() {
	e.t.Helper()
	eo := chunkstore.DefaultOptions()
	eo.Create, eo.Capacity, eo.Reserve, eo.Now = true, 8<<30, 0, e.clock.Now
	eng, err := chunkstore.Open(context.Background(), filepath.Join(e.dir, "data"), eo)
	if err != nil {
		e.t.Fatal(err)
	}
	e.eng = eng
}

func (e *immutableEnv) openFS() {
	e.t.Helper()
	fs, err := Open(context.Background(), e.eng, Options{Store: testStore, Now: e.clock.Now,
		MetaDir: filepath.Join(e.dir, "meta"), StagingDir: filepath.Join(e.dir, "staging")})
	if err != nil {
		e.t.Fatalf("open the share filesystem: %v", err)
	}
	e.fs = fs
}

func (e *immutableEnv) close() {
	if e.fs != nil {
		e.fs.Close()
		e.fs = nil
	}
	if e.eng != nil {
		e.eng.Close()
		e.eng = nil
	}
}

func (e *immutableEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
	e.openFS()
}

func (e *immutableEnv) write(path string, data []byte) {
	e.t.Helper()
	f, err := e.fs.Open(context.Background(), path, vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenFile)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *immutableEnv) read(path string) []byte {
	e.t.Helper()
	f, err := e.fs.Open(context.Background(), path, vfs.OpenRead)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	return readAll(e.t, f)
}

func (e *immutableEnv) items() []string {
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

// wantImmutable checks that err is the refusal of a change under retention.
func wantImmutable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, vfs.ErrImmutable) || !errors.Is(err, chunkstore.ErrImmutable) {
		t.Fatalf("%s: %v, want vfs.ErrImmutable and chunkstore.ErrImmutable", what, err)
	}
}

func TestImmutableShareRefusesChanges(t *testing.T) {
	ctx := context.Background()
	data := randBytes(1, 300<<10)
	for _, tc := range []struct {
		name string
		op   func(e *immutableEnv) error
	}{
		{"overwrite", func(e *immutableEnv) error {
			_, err := e.fs.Open(ctx, "a", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenTruncate)
			return err
		}},
		{"open for write", func(e *immutableEnv) error {
			_, err := e.fs.Open(ctx, "a", vfs.OpenRead|vfs.OpenWrite)
			return err
		}},
		{"delete", func(e *immutableEnv) error { return e.fs.Remove(ctx, "a") }},
		{"rename over", func(e *immutableEnv) error {
			e.write("b", []byte("new"))
			return e.fs.Rename(ctx, "b", "a", true)
		}},
		{"rename another locked file over", func(e *immutableEnv) error {
			e.write("b", []byte("new"))
			if err := e.fs.Rename(ctx, "b", "c", true); err != nil {
				return err
			}
			return e.fs.Rename(ctx, "c", "a", true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newImmutableEnv(t)
			e.write("a", data)
			wantImmutable(t, tc.name, tc.op(e))
			if got := e.read("a"); !bytes.Equal(got, data) {
				t.Fatalf("a changed: %d bytes", len(got))
			}
			in, err := e.fs.Stat(ctx, "a")
			if err != nil || in.Attributes&vfs.AttrReadOnly == 0 {
				t.Fatalf("stat a: %+v %v, want the read-only attribute", in, err)
			}
			e.clock.Advance(24*time.Hour + time.Second)
			if err := tc.op(e); err != nil {
				t.Fatalf("%s after the retention: %v", tc.name, err)
			}
		})
	}
}

// A handle open before the first commit may write until a commit (FLUSH
// or the last CLOSE) locks the file; an append after it is a change too.
func TestImmutableShareLocksAtCommit(t *testing.T) {
	e := newImmutableEnv(t)
	ctx := context.Background()
	f, err := e.fs.Open(ctx, "a", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("hello "), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("world"), 6); err != nil {
		t.Fatalf("write before the first commit: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("!"), 11)
	wantImmutable(t, "append after a flush", err)
	wantImmutable(t, "truncate after a flush", f.Truncate(3))
	wantImmutable(t, "extend after a flush", f.Truncate(30))
	if got := readAll(t, f); string(got) != "hello world" {
		t.Fatalf("read %q", got)
	}
	// Creating files and directories, renaming a locked file and
	// deleting an empty one stay allowed.
	e.write("empty", nil)
	if err := e.fs.Remove(ctx, "empty"); err != nil {
		t.Fatalf("remove an empty file: %v", err)
	}
	if err := e.fs.Rename(ctx, "a", "b", false); err != nil {
		t.Fatalf("rename a locked file: %v", err)
	}
	wantImmutable(t, "delete after the rename", e.fs.Remove(ctx, "b"))
}

// A version a later commit of the same open replaced is under retention
// too: its delete is refused, the sweep at the next Open skips it (the
// filesystem opens), and deletes it once the period has ended.
func TestImmutableOrphanDoesNotStopOpen(t *testing.T) {
	e := newImmutableEnv(t)
	ctx := context.Background()
	f, err := e.fs.Open(ctx, "a", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(2, 200<<10)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	// A rewrite of streamed bytes: the stream commits as one version,
	// folded with the staged bytes into the next.
	if _, err := f.WriteAt([]byte("XYZ"), 100); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.items(); len(got) != 2 {
		t.Fatalf("items %v, want the file's version and the replaced one", got)
	}
	e.restart()
	if got := e.items(); len(got) != 2 {
		t.Fatalf("items after a restart within the retention: %v", got)
	}
	copy(data[100:], "XYZ")
	if got := e.read("a"); !bytes.Equal(got, data) {
		t.Fatal("a differs after the restart")
	}
	e.clock.Advance(25 * time.Hour)
	e.restart()
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items after the retention: %v, want only the file's", got)
	}
	if got := e.read("a"); !bytes.Equal(got, data) {
		t.Fatal("a differs after the sweep")
	}
}

// An orphan put there by a version of Backstop that deleted files of an
// immutable share: the item of a file whose inode is gone.
func TestImmutableForeignOrphan(t *testing.T) {
	e := newImmutableEnv(t)
	ctx := context.Background()
	w, err := e.eng.Create(ctx, testStore, itemName(99, 1), chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("left behind")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if got := e.items(); !slices.Equal(got, []string{itemName(99, 1)}) {
		t.Fatalf("items %v", got)
	}
	e.clock.Advance(25 * time.Hour)
	e.restart()
	if got := e.items(); len(got) != 0 {
		t.Fatalf("items after the retention: %v", got)
	}
}

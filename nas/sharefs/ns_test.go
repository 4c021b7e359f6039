package sharefs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

func names(t *testing.T, e *testEnv, dir string) []string {
	t.Helper()
	list, err := e.fs.ReadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range list {
		out = append(out, in.Name)
	}
	return out
}

func TestOpenFlags(t *testing.T) {
	e := newEnv(t)
	e.mkdir("d")
	e.writeFile("d/f", []byte("hello"))
	ctx := context.Background()
	tests := []struct {
		name string
		path string
		flag vfs.OpenFlag
		want error
	}{
		{"open existing", "d/f", vfs.OpenRead, nil},
		{"missing", "d/nope", vfs.OpenRead, vfs.ErrNotExist},
		{"missing parent", "x/f", vfs.OpenCreate | vfs.OpenWrite, vfs.ErrNotExist},
		{"parent is a file", "d/f/g", vfs.OpenCreate | vfs.OpenWrite, vfs.ErrNotDir},
		{"exclusive on existing", "d/f", vfs.OpenCreate | vfs.OpenExcl, vfs.ErrExist},
		{"dir flag on a file", "d/f", vfs.OpenDir, vfs.ErrNotDir},
		{"file flag on a dir", "d", vfs.OpenFile, vfs.ErrIsDir},
		{"write a dir", "d", vfs.OpenWrite, vfs.ErrIsDir},
		{"root", "", vfs.OpenRead, nil},
		{"root as file", "", vfs.OpenFile, vfs.ErrIsDir},
		{"dot dot", "d/../f", vfs.OpenRead, vfs.ErrInvalid},
		{"empty component", "d//f", vfs.OpenRead, vfs.ErrInvalid},
		{"leading slash", "/d", vfs.OpenRead, vfs.ErrInvalid},
		{"backslash", `d\f`, vfs.OpenRead, vfs.ErrInvalid},
		{"create dir", "d/sub", vfs.OpenCreate | vfs.OpenDir, nil},
		{"create file", "d/new", vfs.OpenCreate | vfs.OpenWrite, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := e.fs.Open(ctx, tt.path, tt.flag)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if got := names(t, e, "d"); !slices.Equal(got, []string{"f", "new", "sub"}) {
		t.Fatalf("d holds %v", got)
	}
	if in, _ := e.fs.Stat(ctx, "d/sub"); !in.IsDir || in.Attributes&vfs.AttrDirectory == 0 {
		t.Fatalf("d/sub: %+v", in)
	}
	// OpenTruncate empties the file
	f, err := e.fs.Open(ctx, "d/f", vfs.OpenWrite|vfs.OpenTruncate)
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := f.Stat(); in.Size != 0 {
		t.Fatalf("truncated size %d", in.Size)
	}
	f.Close()
	if len(e.items()) != 0 {
		t.Fatalf("items after truncating the only file: %v", e.items())
	}
}

func TestReadDirSorted(t *testing.T) {
	e := newEnv(t)
	want := []string{}
	for i := range 300 {
		name := fmt.Sprintf("f%03d", (i*7919)%300)
		f := e.create(name)
		f.Close()
		want = append(want, name)
	}
	e.mkdir("B")
	e.mkdir("a")
	want = append(want, "B", "a")
	slices.Sort(want)
	if got := names(t, e, ""); !slices.Equal(got, want) {
		t.Fatalf("readdir not sorted: %v", got[:10])
	}
	if _, err := e.fs.ReadDir(context.Background(), "f001"); !errors.Is(err, vfs.ErrNotDir) {
		t.Fatalf("readdir of a file: %v", err)
	}
	if got := names(t, e, "a"); len(got) != 0 {
		t.Fatalf("empty dir lists %v", got)
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *testEnv {
		e := newEnv(t)
		e.mkdir("a")
		e.mkdir("a/b")
		e.mkdir("c")
		e.writeFile("a/f", []byte("file f"))
		e.writeFile("a/b/g", []byte("file g"))
		e.writeFile("c/h", []byte("file h"))
		return e
	}
	tests := []struct {
		name     string
		from, to string
		replace  bool
		want     error
		check    map[string]string // path -> content ("/" for a dir) after
		gone     []string
	}{
		{"file in dir", "a/f", "a/f2", false, nil, map[string]string{"a/f2": "file f"}, []string{"a/f"}},
		{"file across dirs", "a/f", "c/f", false, nil, map[string]string{"c/f": "file f"}, []string{"a/f"}},
		{"dir with contents", "a", "c/a", false, nil, map[string]string{"c/a/f": "file f", "c/a/b/g": "file g"}, []string{"a"}},
		{"onto existing no replace", "a/f", "c/h", false, vfs.ErrExist, map[string]string{"a/f": "file f", "c/h": "file h"}, nil},
		{"onto existing replace", "a/f", "c/h", true, nil, map[string]string{"c/h": "file f"}, []string{"a/f"}},
		{"dir onto file", "a/b", "c/h", true, vfs.ErrNotDir, nil, nil},
		{"file onto dir", "c/h", "a/b", true, vfs.ErrIsDir, nil, nil},
		{"dir onto non-empty dir", "c", "a/b", true, vfs.ErrNotEmpty, nil, nil},
		{"dir onto empty dir", "a/b", "c2", false, nil, map[string]string{"c2/g": "file g"}, []string{"a/b"}},
		{"into itself", "a", "a/b/a", false, vfs.ErrInvalid, nil, nil},
		{"missing source", "nope", "x", false, vfs.ErrNotExist, nil, nil},
		{"missing target dir", "a/f", "zz/f", false, vfs.ErrNotExist, nil, nil},
		{"same path", "a/f", "a/f", false, nil, map[string]string{"a/f": "file f"}, nil},
		{"case only", "a/f", "a/F", false, nil, map[string]string{"a/F": "file f"}, []string{"a/f"}},
		{"root", "", "x", false, vfs.ErrInvalid, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			before, _ := e.fs.Stat(ctx, tt.from)
			err := e.fs.Rename(ctx, tt.from, tt.to, tt.replace)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for p, content := range tt.check {
				e.checkFile(p, []byte(content))
			}
			for _, p := range tt.gone {
				if _, err := e.fs.Stat(ctx, p); !errors.Is(err, vfs.ErrNotExist) {
					t.Fatalf("%s still there: %v", p, err)
				}
			}
			if tt.want == nil {
				after, err := e.fs.Stat(ctx, tt.to)
				if err != nil || after.ID != before.ID {
					t.Fatalf("ID changed over rename: %d -> %d (%v)", before.ID, after.ID, err)
				}
			}
			e.restart()
			for p, content := range tt.check {
				e.checkFile(p, []byte(content))
			}
			files, _ := e.fs.Usage()
			if int(files) != len(e.items()) {
				t.Fatalf("%d files but items %v", files, e.items())
			}
		})
	}
}

// TestRenameBigDirectory checks that renaming a directory is metadata
// only: no item changes, whatever it holds.
func TestRenameBigDirectory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkdir("big")
	e.mkdir("big/sub")
	n := 500
	if testing.Short() {
		n = 100
	}
	for i := range n {
		e.writeFile(fmt.Sprintf("big/sub/%d", i), []byte(fmt.Sprint(i)))
	}
	items := e.items()
	if err := e.fs.Rename(ctx, "big", "moved", false); err != nil {
		t.Fatal(err)
	}
	if after := e.items(); !slices.Equal(after, items) {
		t.Fatal("rename touched items")
	}
	if got := names(t, e, "moved/sub"); len(got) != n {
		t.Fatalf("%d entries after rename", len(got))
	}
	e.checkFile(fmt.Sprint("moved/sub/", n/2), []byte(fmt.Sprint(n/2)))
}

func TestRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkdir("d")
	e.writeFile("d/f", randBytes(1, 100000))
	e.writeFile("g", randBytes(2, 100))
	if err := e.fs.Remove(ctx, "d"); !errors.Is(err, vfs.ErrNotEmpty) {
		t.Fatalf("remove non-empty dir: %v", err)
	}
	if err := e.fs.Remove(ctx, ""); !errors.Is(err, vfs.ErrInvalid) {
		t.Fatalf("remove root: %v", err)
	}
	if err := e.fs.Remove(ctx, "d/f"); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Remove(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Remove(ctx, "d"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("remove twice: %v", err)
	}
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items left: %v", got)
	}
	if files, used := e.fs.Usage(); files != 1 || used != 100 {
		t.Fatalf("usage %d files %d bytes", files, used)
	}
}

// TestRemoveWhileOpen: an open file stays usable after Remove, its data
// goes at the last Close, and a restart in between finishes the job.
func TestRemoveWhileOpen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := randBytes(3, 50000)
	e.writeFile("f", data)
	f, err := e.fs.Open(ctx, "f", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Remove(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.Stat(ctx, "f"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("stat after remove: %v", err)
	}
	if got := readAll(t, f); !slices.Equal(got, data) {
		t.Fatal("open file unreadable after remove")
	}
	e.writeFile("f", []byte("new"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	e.checkFile("f", []byte("new"))
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items %v", got)
	}
	// removed while open, then a restart: the orphan is deleted
	g := e.create("g")
	g.WriteAt(data, 0)
	g.Sync()
	e.fs.Remove(ctx, "g")
	e.fs.mu.Lock()
	e.fs.nodes = map[uint64]*node{} // forget it, as a crash would
	e.fs.mu.Unlock()
	g.(*file).nd.mu.Lock()
	g.(*file).nd.stream = nil
	g.(*file).nd.mu.Unlock()
	e.restart()
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items after restart %v", got)
	}
	if files, _ := e.fs.Usage(); files != 1 {
		t.Fatalf("%d files", files)
	}
}

func TestTimesAndAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	e.fs.now = func() time.Time { return now }
	f := e.create("f")
	in, _ := f.Stat()
	if !in.Birth.Equal(now) || !in.Write.Equal(now) || in.Attributes != vfs.AttrArchive || in.ID == 0 {
		t.Fatalf("new file %+v", in)
	}
	now = now.Add(time.Hour)
	f.WriteAt([]byte("abc"), 0)
	in, _ = f.Stat()
	if !in.Write.Equal(now) || !in.Birth.Equal(now.Add(-time.Hour)) || in.Size != 3 || in.AllocSize != 4096 {
		t.Fatalf("after write %+v", in)
	}
	// an explicit write time sticks over later writes
	set := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	attrs := uint32(vfs.AttrHidden | vfs.AttrReadOnly)
	if err := f.SetAttr(vfs.SetAttr{Write: &set, Attributes: &attrs}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	f.WriteAt([]byte("d"), 3)
	f.Close()
	e.restart()
	in, err := e.fs.Stat(ctx, "f")
	if err != nil || !in.Write.Equal(set) || in.Attributes != attrs || in.Size != 4 {
		t.Fatalf("after restart %+v %v", in, err)
	}
	// path SetAttr on a closed file; Normal alone reads back as Normal
	normal := uint32(vfs.AttrNormal)
	birth := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := e.fs.SetAttr(ctx, "f", vfs.SetAttr{Attributes: &normal, Birth: &birth}); err != nil {
		t.Fatal(err)
	}
	in, _ = e.fs.Stat(ctx, "f")
	if in.Attributes != vfs.AttrNormal || !in.Birth.Equal(birth) {
		t.Fatalf("after setattr %+v", in)
	}
	root, _ := e.fs.Stat(ctx, "")
	if !root.IsDir || root.ID != rootID || root.Name != "" {
		t.Fatalf("root %+v", root)
	}
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	e.fs.SetQuota(100000)
	f := e.create("f")
	if _, err := f.WriteAt(make([]byte, 60000), 0); err != nil {
		t.Fatal(err)
	}
	g := e.create("g")
	if _, err := g.WriteAt(make([]byte, 50000), 0); !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("over quota: %v", err)
	}
	if err := g.Truncate(50000); !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("extend over quota: %v", err)
	}
	if _, err := g.WriteAt(make([]byte, 40000), 0); err != nil {
		t.Fatal(err)
	}
	st, err := e.fs.StatFS(context.Background())
	if err != nil || st.TotalBytes != 100000 || st.FreeBytes != 0 {
		t.Fatalf("statfs %+v %v", st, err)
	}
	f.Truncate(0)
	if _, err := g.WriteAt(make([]byte, 10000), 40000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g.Close()
	e.quota = 100000
	e.restart()
	if _, used := e.fs.Usage(); used != 50000 {
		t.Fatalf("used %d after restart", used)
	}
	st, _ = e.fs.StatFS(context.Background())
	if st.FreeBytes != 50000 {
		t.Fatalf("statfs %+v", st)
	}
	e.fs.SetQuota(0)
	st, _ = e.fs.StatFS(context.Background())
	if st.TotalBytes != 8<<30 {
		t.Fatalf("statfs without quota %+v", st)
	}
}

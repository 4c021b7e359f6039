// Package vfstest is the conformance suite every vfs.FS implementation
// runs: the SMB server relies on exactly these behaviours.
//
//	func TestConformance(t *testing.T) {
//		vfstest.Run(t, func(t *testing.T) vfs.FS { return newMyFS(t) })
//	}
package vfstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Run runs the suite; newFS returns an empty FS (cleaned up by t).
func Run(t *testing.T, newFS func(t *testing.T) vfs.FS) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, fs vfs.FS)
	}{
		{"OpenFlags", testOpenFlags},
		{"ReadWrite", testReadWrite},
		{"SharedFiles", testSharedFiles},
		{"Truncate", testTruncate},
		{"ReadDir", testReadDir},
		{"Rename", testRename},
		{"Remove", testRemove},
		{"SetAttr", testSetAttr},
		{"TimeRange", testTimeRange},
		{"KeepTimes", testKeepTimes},
		{"StatFS", testStatFS},
		{"Concurrent", testConcurrent},
		{"Sparse", testSparse},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newFS(t)) })
	}
}

var ctx = context.Background()

func create(t *testing.T, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.Open(ctx, path, vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenExcl|vfs.OpenFile)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

func mkdir(t *testing.T, fs vfs.FS, path string) {
	t.Helper()
	f, err := fs.Open(ctx, path, vfs.OpenRead|vfs.OpenCreate|vfs.OpenExcl|vfs.OpenDir)
	if err != nil {
		t.Fatalf("mkdir %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

func readAll(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(ctx, path, vfs.OpenRead)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<50))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

func testOpenFlags(t *testing.T, fs vfs.FS) {
	mkdir(t, fs, "dir")
	create(t, fs, "dir/file", []byte("x"))
	for _, tc := range []struct {
		name string
		path string
		flag vfs.OpenFlag
		want error
	}{
		{"missing", "nope", vfs.OpenRead, vfs.ErrNotExist},
		{"missing parent", "nope/file", vfs.OpenRead | vfs.OpenWrite | vfs.OpenCreate, vfs.ErrNotExist},
		{"parent is a file", "dir/file/x", vfs.OpenRead | vfs.OpenWrite | vfs.OpenCreate, vfs.ErrNotDir},
		{"exclusive on existing", "dir/file", vfs.OpenRead | vfs.OpenWrite | vfs.OpenCreate | vfs.OpenExcl, vfs.ErrExist},
		{"dir wanted, file there", "dir/file", vfs.OpenRead | vfs.OpenDir, vfs.ErrNotDir},
		{"file wanted, dir there", "dir", vfs.OpenRead | vfs.OpenFile, vfs.ErrIsDir},
		{"open existing", "dir/file", vfs.OpenRead | vfs.OpenWrite, nil},
		{"open root", "", vfs.OpenRead | vfs.OpenDir, nil},
		{"create if missing", "dir/new", vfs.OpenRead | vfs.OpenWrite | vfs.OpenCreate | vfs.OpenFile, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := fs.Open(ctx, tc.path, tc.flag)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open(%q) = %v, want %v", tc.path, err, tc.want)
			}
			if err == nil {
				f.Close()
			}
		})
	}
	info, err := fs.Stat(ctx, "dir/new")
	if err != nil || info.IsDir || info.Size != 0 || info.ID == 0 || info.Name != "new" {
		t.Fatalf("Stat(dir/new) = %+v, %v", info, err)
	}
	root, err := fs.Stat(ctx, "")
	if err != nil || !root.IsDir {
		t.Fatalf("Stat(root) = %+v, %v", root, err)
	}
	if _, err := fs.Stat(ctx, "dir/none"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("Stat(missing) = %v", err)
	}
	f, err := fs.Open(ctx, "dir/file", vfs.OpenRead|vfs.OpenWrite|vfs.OpenTruncate)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := f.Stat(); info.Size != 0 {
		t.Fatalf("size after OpenTruncate: %d", info.Size)
	}
	f.Close()
}

func testReadWrite(t *testing.T, fs vfs.FS) {
	f, err := fs.Open(ctx, "f", vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("0123456789"), 100000)
	if n, err := f.WriteAt(data, 0); n != len(data) || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	// A hole reads as zeros.
	if _, err := f.WriteAt([]byte("tail"), int64(len(data))+5000); err != nil {
		t.Fatal(err)
	}
	// A rewrite in the middle.
	if _, err := f.WriteAt([]byte("MIDDLE"), 4242); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), data...), make([]byte, 5000)...)
	want = append(want, "tail"...)
	copy(want[4242:], "MIDDLE")
	info, err := f.Stat()
	if err != nil || info.Size != int64(len(want)) {
		t.Fatalf("Stat size %d, %v; want %d", info.Size, err, len(want))
	}
	got := make([]byte, len(want))
	if n, err := f.ReadAt(got, 0); n != len(want) || err != nil && err != io.EOF {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("read back differs from what was written")
	}
	p := make([]byte, 10)
	if n, err := f.ReadAt(p, int64(len(want))-4); n != 4 || err != io.EOF {
		t.Fatalf("ReadAt across the end = %d, %v; want 4, io.EOF", n, err)
	}
	if n, err := f.ReadAt(p, int64(len(want))+100); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, fs, "f"), want) {
		t.Fatal("another File reads different bytes")
	}
}

func testSharedFiles(t *testing.T, fs vfs.FS) {
	create(t, fs, "s", []byte("hello world"))
	w, err := fs.Open(ctx, "s", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fs.Open(ctx, "s", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("WORLD"), 6); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 11)
	if n, err := r.ReadAt(got, 0); n != 11 || err != nil && err != io.EOF || string(got) != "hello WORLD" {
		t.Fatalf("reader sees %q (%d, %v) before Sync", got, n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(got, 0); !errors.Is(err, vfs.ErrClosed) {
		t.Fatalf("ReadAt after Close = %v, want ErrClosed", err)
	}
}

func testTruncate(t *testing.T, fs vfs.FS) {
	create(t, fs, "t", bytes.Repeat([]byte("a"), 10000))
	f, err := fs.Open(ctx, "t", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20); err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte("a"), 10), make([]byte, 10)...)
	if got := readAll(t, fs, "t"); !bytes.Equal(got, want) {
		t.Fatalf("after truncate down and up: %q", got)
	}
}

func testReadDir(t *testing.T, fs vfs.FS) {
	mkdir(t, fs, "d")
	for _, n := range []string{"b", "a", "c.txt", "B"} {
		create(t, fs, "d/"+n, []byte(n))
	}
	mkdir(t, fs, "d/sub")
	list, err := fs.ReadDir(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
		if i.Name == "sub" != i.IsDir {
			t.Errorf("%s: IsDir %v", i.Name, i.IsDir)
		}
	}
	if fmt.Sprint(names) != "[B a b c.txt sub]" {
		t.Fatalf("ReadDir names %v, want sorted [B a b c.txt sub]", names)
	}
	if _, err := fs.ReadDir(ctx, "d/a"); !errors.Is(err, vfs.ErrNotDir) {
		t.Fatalf("ReadDir of a file = %v", err)
	}
	if _, err := fs.ReadDir(ctx, "nope"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("ReadDir of a missing dir = %v", err)
	}
}

func testRename(t *testing.T, fs vfs.FS) {
	mkdir(t, fs, "x")
	create(t, fs, "x/a", []byte("A"))
	create(t, fs, "x/b", []byte("B"))
	before, _ := fs.Stat(ctx, "x/a")
	f, err := fs.Open(ctx, "x/a", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fs.Rename(ctx, "x/a", "x/b", false); !errors.Is(err, vfs.ErrExist) {
		t.Fatalf("Rename onto existing without replace = %v", err)
	}
	if err := fs.Rename(ctx, "x/a", "x/b", true); err != nil {
		t.Fatal(err)
	}
	after, err := fs.Stat(ctx, "x/b")
	if err != nil || after.ID != before.ID {
		t.Fatalf("ID changed across rename: %d -> %d (%v)", before.ID, after.ID, err)
	}
	if _, err := f.WriteAt([]byte("Z"), 1); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fs, "x/b"); string(got) != "AZ" {
		t.Fatalf("open File does not follow its file: %q", got)
	}
	mkdir(t, fs, "y")
	if err := fs.Rename(ctx, "x", "y/x", false); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fs, "y/x/b"); string(got) != "AZ" {
		t.Fatalf("after moving the directory: %q", got)
	}
	if err := fs.Rename(ctx, "nope", "z", false); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("Rename of a missing file = %v", err)
	}
}

func testRemove(t *testing.T, fs vfs.FS) {
	mkdir(t, fs, "r")
	create(t, fs, "r/f", []byte("keep reading"))
	if err := fs.Remove(ctx, "r"); !errors.Is(err, vfs.ErrNotEmpty) {
		t.Fatalf("Remove of a non-empty dir = %v", err)
	}
	f, err := fs.Open(ctx, "r/f", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(ctx, "r/f"); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	if n, err := f.ReadAt(p, 0); n != 4 || string(p) != "keep" {
		t.Fatalf("open File after Remove: %q, %v", p, err)
	}
	f.Close()
	if _, err := fs.Stat(ctx, "r/f"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("Stat after Remove = %v", err)
	}
	if err := fs.Remove(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(ctx, "r"); !errors.Is(err, vfs.ErrNotExist) {
		t.Fatalf("second Remove = %v", err)
	}
}

func testSetAttr(t *testing.T, fs vfs.FS) {
	create(t, fs, "m", []byte("x"))
	when := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	attrs := uint32(vfs.AttrHidden | vfs.AttrArchive)
	if err := fs.SetAttr(ctx, "m", vfs.SetAttr{Attributes: &attrs, Write: &when, Birth: &when}); err != nil {
		t.Fatal(err)
	}
	info, err := fs.Stat(ctx, "m")
	if err != nil || info.Attributes != attrs || !info.Write.Equal(when) || !info.Birth.Equal(when) {
		t.Fatalf("after SetAttr: %+v, %v", info, err)
	}
	f, err := fs.Open(ctx, "m", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ro := uint32(vfs.AttrReadOnly)
	if err := f.SetAttr(vfs.SetAttr{Attributes: &ro}); err != nil {
		t.Fatal(err)
	}
	if info, _ := fs.Stat(ctx, "m"); info.Attributes != ro || !info.Write.Equal(when) {
		t.Fatalf("File.SetAttr: %+v", info)
	}
}

// testTimeRange: every time a FILETIME holds (1601 to 30828) is kept as
// set, to the 100ns.
func testTimeRange(t *testing.T, fs vfs.FS) {
	create(t, fs, "t", nil)
	for _, when := range []time.Time{
		time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(1677, 9, 21, 0, 12, 43, 0, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 17, 0, time.UTC),
		time.Date(30828, 9, 14, 2, 48, 5, 477580700, time.UTC),
	} {
		set := vfs.SetAttr{Birth: &when, Access: &when, Write: &when, Change: &when}
		if err := fs.SetAttr(ctx, "t", set); err != nil {
			t.Fatalf("SetAttr %v: %v", when, err)
		}
		info, err := fs.Stat(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []time.Time{info.Birth, info.Access, info.Write, info.Change} {
			if !got.Equal(when) {
				t.Errorf("set %v, got %v", when, got)
			}
		}
	}
}

// testKeepTimes: after KeepTimes, writes and truncates through that File
// leave the times to the caller.
func testKeepTimes(t *testing.T, fs vfs.FS) {
	create(t, fs, "k", []byte("x"))
	f, err := fs.Open(ctx, "k", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, ok := f.(vfs.TimeKeeper)
	if !ok {
		t.Skip("the File is not a vfs.TimeKeeper")
	}
	k.KeepTimes()
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := f.SetAttr(vfs.SetAttr{Write: &when, Change: &when}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("more"), 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	info, err := f.Stat()
	if err != nil || !info.Write.Equal(when) || !info.Change.Equal(when) || info.Size != 3 {
		t.Fatalf("after writes through a File keeping its times: %+v, %v", info, err)
	}
}

func testStatFS(t *testing.T, fs vfs.FS) {
	info, err := fs.StatFS(ctx)
	if err != nil || info.TotalBytes <= 0 || info.FreeBytes < 0 || info.FreeBytes > info.TotalBytes {
		t.Fatalf("StatFS = %+v, %v", info, err)
	}
}

func testConcurrent(t *testing.T, fs vfs.FS) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("c%d", i)
			f, err := fs.Open(ctx, name, vfs.OpenRead|vfs.OpenWrite|vfs.OpenCreate|vfs.OpenFile)
			if err != nil {
				errs <- err
				return
			}
			for j := range 64 {
				if _, err := f.WriteAt(bytes.Repeat([]byte{byte(i)}, 4096), int64(j)*4096); err != nil {
					errs <- err
				}
			}
			errs <- f.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		if got := readAll(t, fs, fmt.Sprintf("c%d", i)); !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, 64*4096)) {
			t.Fatalf("c%d: %d bytes, not all %d", i, len(got), i)
		}
	}
}

package sharefs

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestHardLinks: a link is a second name of the same inode and item (no
// data stored again); both names see writes through either; removing
// any name keeps the file under the others, across a restart; the data
// goes with the last name.
func TestHardLinks(t *testing.T) {
	ctx := context.Background()
	for _, ci := range []bool{false, true} {
		t.Run(map[bool]string{false: "case-sensitive", true: "case-insensitive"}[ci], func(t *testing.T) {
			e := newEnvCase(t, ci)
			e.mkdir("sub")
			data := randBytes(1, 3<<20)
			e.writeFile("a.bin", data)
			itemsBefore := e.items()
			if err := e.fs.Link(ctx, "a.bin", "sub/b.bin"); err != nil {
				t.Fatal(err)
			}
			if got := e.items(); !slices.Equal(got, itemsBefore) {
				t.Fatalf("items after link %v, before %v: the link stored data", got, itemsBefore)
			}
			a, errA := e.fs.Stat(ctx, "a.bin")
			b, errB := e.fs.Stat(ctx, "sub/b.bin")
			if errA != nil || errB != nil || a.ID != b.ID || a.Links != 2 || b.Links != 2 || b.Name != "b.bin" {
				t.Fatalf("stat: %+v %v / %+v %v", a, errA, b, errB)
			}
			list, err := e.fs.ReadDir(ctx, "sub")
			if err != nil || len(list) != 1 || list[0].Name != "b.bin" || list[0].Links != 2 {
				t.Fatalf("readdir sub: %+v %v", list, err)
			}

			// A write through one name is read through the other.
			f, err := e.fs.Open(ctx, "sub/b.bin", vfs.OpenRead|vfs.OpenWrite)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("linked"), 100); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			copy(data[100:], "linked")
			e.checkFile("a.bin", data)

			// Errors: an existing name, a directory, a missing source.
			if err := e.fs.Link(ctx, "a.bin", "sub/b.bin"); !errors.Is(err, vfs.ErrExist) {
				t.Errorf("link onto an existing name: %v", err)
			}
			if err := e.fs.Link(ctx, "sub", "sub2"); !errors.Is(err, vfs.ErrIsDir) {
				t.Errorf("link of a directory: %v", err)
			}
			if err := e.fs.Link(ctx, "nothing", "x"); !errors.Is(err, vfs.ErrNotExist) {
				t.Errorf("link of a missing file: %v", err)
			}

			// A third name, renamed; then the first name goes.
			if err := e.fs.Link(ctx, "sub/b.bin", "c.bin"); err != nil {
				t.Fatal(err)
			}
			if err := e.fs.Rename(ctx, "c.bin", "sub/d.bin", false); err != nil {
				t.Fatal(err)
			}
			if err := e.fs.Remove(ctx, "a.bin"); err != nil {
				t.Fatal(err)
			}
			e.restart()
			for _, p := range []string{"sub/b.bin", "sub/d.bin"} {
				e.checkFile(p, data)
				if info, err := e.fs.Stat(ctx, p); err != nil || info.Links != 2 {
					t.Fatalf("%s after restart: %+v %v", p, info, err)
				}
			}
			if _, err := e.fs.Stat(ctx, "a.bin"); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("removed name: %v", err)
			}
			if _, err := e.fs.Stat(ctx, "c.bin"); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("renamed name: %v", err)
			}
			if err := e.fs.Remove(ctx, "sub/d.bin"); err != nil {
				t.Fatal(err)
			}
			if info, err := e.fs.Stat(ctx, "sub/b.bin"); err != nil || info.Links != 1 {
				t.Fatalf("last name: %+v %v", info, err)
			}
			if len(e.items()) == 0 {
				t.Fatal("the data went while a name was left")
			}
			if err := e.fs.Remove(ctx, "sub/b.bin"); err != nil {
				t.Fatal(err)
			}
			if got := e.items(); len(got) != 0 {
				t.Fatalf("items after the last name went: %v", got)
			}
			if files, _ := e.fs.Usage(); files != 0 {
				t.Fatalf("%d files counted", files)
			}
		})
	}
}

// TestHardLinkReplacedByRename: a rename over one name of a linked file
// drops that name only.
func TestHardLinkReplacedByRename(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.writeFile("a", []byte("aaaa"))
	e.writeFile("other", []byte("other"))
	if err := e.fs.Link(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Rename(ctx, "other", "a", true); err != nil {
		t.Fatal(err)
	}
	e.checkFile("a", []byte("other"))
	e.checkFile("b", []byte("aaaa"))
	if info, err := e.fs.Stat(ctx, "b"); err != nil || info.Links != 1 {
		t.Fatalf("b: %+v %v", info, err)
	}
	// Renaming one name onto another name of the same file does nothing.
	if err := e.fs.Link(ctx, "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Rename(ctx, "b", "c", true); err != nil {
		t.Fatal(err)
	}
	e.checkFile("b", []byte("aaaa"))
	e.checkFile("c", []byte("aaaa"))
}

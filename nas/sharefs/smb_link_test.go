package sharefs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSMBHardLink: smbclient's hardlink (SET_INFO FileLinkInformation)
// makes a second name of the file on the share: same data, no item
// stored, two links in FILE_STANDARD_INFORMATION; deleting the first
// name keeps the second.
func TestSMBHardLink(t *testing.T) {
	e := startSMB(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := randBytes(12, 2<<20+5)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range smbModes[:2] {
		t.Run(mode.name, func(t *testing.T) {
			d := mode.name
			e.smbclient("backup", mode.opts, "-c", "mkdir "+d+"; cd "+d+"; put "+src+" a.bin")
			sh, err := e.m.Share(ctx, "backup", smbUser)
			if err != nil {
				t.Fatal(err)
			}
			fs := sh.FS.(*FS)
			files, used := fs.Usage()
			e.smbclient("backup", mode.opts, "-c", "cd "+d+"; hardlink a.bin b.bin")
			a, errA := fs.Stat(ctx, d+"/a.bin")
			b, errB := fs.Stat(ctx, d+"/b.bin")
			if errA != nil || errB != nil || a.ID != b.ID || b.Links != 2 {
				t.Fatalf("after hardlink: %+v %v / %+v %v", a, errA, b, errB)
			}
			if f2, u2 := fs.Usage(); f2 != files || u2 != used {
				t.Fatalf("usage %d files %d bytes after link, %d and %d before", f2, u2, files, used)
			}
			got := filepath.Join(dir, d+".out")
			e.smbclient("backup", mode.opts, "-c", "cd "+d+"; del a.bin; get b.bin "+got)
			back, err := os.ReadFile(got)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("b.bin after a.bin was deleted: %d bytes, %v", len(back), err)
			}
		})
	}
}

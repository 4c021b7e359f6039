package sharefs

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

func TestCaseInsensitive(t *testing.T) {
	e := newEnvCase(t, true)
	ctx := context.Background()
	e.mkdir("Backups")
	e.writeFile("Backups/Monday.VBK", []byte("monday"))
	a, err := e.fs.Stat(ctx, "backups/monday.vbk")
	if err != nil || a.Name != "Monday.VBK" {
		t.Fatalf("lookup in another case: %+v %v", a, err)
	}
	if _, err := e.fs.Open(ctx, "BACKUPS/MONDAY.vbk", vfs.OpenCreate|vfs.OpenExcl|vfs.OpenWrite); !errors.Is(err, vfs.ErrExist) {
		t.Fatalf("exclusive create in another case: %v", err)
	}
	if st, _ := e.fs.StatFS(ctx); !st.CaseInsensitive {
		t.Fatal("StatFS does not say case-insensitive")
	}
	steps := []struct {
		name     string
		from, to string
		replace  bool
		want     error
		listing  []string
	}{
		{"case only", "backups/monday.vbk", "Backups/MONDAY.vbk", false, nil, []string{"MONDAY.vbk"}},
		{"other name", "BACKUPS/monday.VBK", "backups/Tuesday.vbk", false, nil, []string{"Tuesday.vbk"}},
	}
	for _, st := range steps {
		if err := e.fs.Rename(ctx, st.from, st.to, st.replace); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := names(t, e, "backups"); !slices.Equal(got, st.listing) {
			t.Fatalf("%s: listing %v", st.name, got)
		}
	}
	e.writeFile("backups/other.vbk", []byte("other"))
	if err := e.fs.Rename(ctx, "backups/OTHER.vbk", "backups/TUESDAY.VBK", false); !errors.Is(err, vfs.ErrExist) {
		t.Fatalf("rename onto another case of an existing name: %v", err)
	}
	if err := e.fs.Rename(ctx, "backups/OTHER.vbk", "backups/TUESDAY.VBK", true); err != nil {
		t.Fatal(err)
	}
	if got := names(t, e, "backups"); !slices.Equal(got, []string{"TUESDAY.VBK"}) {
		t.Fatalf("after replace: %v", got)
	}
	e.checkFile("backups/tuesday.vbk", []byte("other"))
	// the mode is the filesystem's: it stays over a reopen without the option
	e.ci = false
	e.restart()
	e.checkFile("BACKUPS/tuesday.vbk", []byte("other"))
	if err := e.fs.Remove(ctx, "backups/tuesday.VBK"); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Remove(ctx, "BACKUPS"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, e, ""); len(got) != 0 {
		t.Fatalf("root holds %v", got)
	}
	if got := e.items(); len(got) != 0 {
		t.Fatalf("items %v", got)
	}
}

package sharefs

import (
	"context"
	"testing"
)

// TestNameItem: the manager names a share file's item by share and path,
// and knows no other store's items nor items that are no file's.
func TestNameItem(t *testing.T) {
	ctx := context.Background()
	e := newManagerEnv(t)
	e.fs = e.m.shares["backup"].fs
	e.mkdir("dir")
	e.writeFile("dir/file.bin", []byte("hello"))
	items, err := e.eng.List(ctx, "nas.backup", "")
	if err != nil || len(items) != 1 {
		t.Fatalf("items %+v %v", items, err)
	}
	item := items[0].Name
	cases := []struct {
		store, item, share, path string
		ok                       bool
	}{
		{"nas.backup", item, "backup", "/dir/file.bin", true},
		{"default", item, "", "", false},
		{"nas.backup", "ffff.1", "", "", false},
		{"nas.backup", "garbage", "", "", false},
	}
	for _, c := range cases {
		share, path, ok := e.m.NameItem(ctx, c.store, c.item)
		if share != c.share || path != c.path || ok != c.ok {
			t.Errorf("NameItem(%s, %s) = %q %q %v, want %q %q %v", c.store, c.item, share, path, ok, c.share, c.path, c.ok)
		}
	}
	if err := e.fs.Rename(ctx, "dir", "moved", false); err != nil {
		t.Fatal(err)
	}
	e.writeFile("moved/file.bin", []byte("newer"))
	if _, path, _ := e.m.NameItem(ctx, "nas.backup", item); path != "/moved/file.bin (an older version)" {
		t.Fatalf("after move and rewrite: %q", path)
	}
}

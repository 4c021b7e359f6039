package library

import (
	"context"
	"path/filepath"
	"testing"
)

// TestNameItem: an item of store vtl-NAME is named by library and barcode
// when the library holds that cartridge.
func TestNameItem(t *testing.T) {
	ctx := context.Background()
	m := openManager(t, filepath.Join(t.TempDir(), "vtl"), testEngine(t))
	t.Cleanup(func() { m.Close(ctx) })
	cases := []struct {
		store, item, lib, barcode string
		ok                        bool
	}{
		{"vtl-vtl1", "BKS001L6/00000001", "vtl1", "BKS001L6", true},
		{"vtl-vtl1", "NOSUCH01/00000001", "", "", false},
		{"vtl-other", "BKS001L6/00000001", "", "", false},
		{"nas.backup", "BKS001L6/00000001", "", "", false},
		{"vtl-vtl1", "BKS001L6", "", "", false},
	}
	for _, c := range cases {
		lib, bc, ok := m.NameItem(ctx, c.store, c.item)
		if lib != c.lib || bc != c.barcode || ok != c.ok {
			t.Errorf("NameItem(%s, %s) = %q %q %v", c.store, c.item, lib, bc, ok)
		}
	}
}

package library

import (
	"context"
	"strings"
)

// NameItem tells which library and cartridge an item of store vtl-NAME
// belongs to: its items are BARCODE/SEQUENCE. ok is false for a store no
// library owns, or an item of no cartridge the library holds. It lets the
// appliance name damage by what users know.
func (m *Manager) NameItem(_ context.Context, store, item string) (lib, barcode string, ok bool) {
	lib, ok = strings.CutPrefix(store, storeName(""))
	if !ok {
		return "", "", false
	}
	barcode, _, ok = strings.Cut(item, "/")
	if !ok {
		return "", "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.record(lib)
	if rec == nil || rec.cartridge(barcode) == nil {
		return "", "", false
	}
	return lib, barcode, true
}

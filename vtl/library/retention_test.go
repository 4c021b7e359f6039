package library

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
)

// writeCartridge loads barcode into drive 0, writes a record and a
// filemark, and puts it back in a storage slot.
func writeCartridge(t *testing.T, m *Manager, lib, barcode string) {
	t.Helper()
	ctx := context.Background()
	if err := m.Move(ctx, lib, barcode, Location{Type: "drive", Index: 0}); err != nil {
		t.Fatalf("load %s: %v", barcode, err)
	}
	drives, err := m.Drives(lib)
	if err != nil {
		t.Fatal(err)
	}
	run(t, drives[0], []byte{0, 0, 0, 0, 0, 0}, nil) // media-change unit attention
	if r := run(t, drives[0], []byte{0x0a, 0, 0, 0x10, 0, 0}, bytes.Repeat([]byte{0xab}, 4096)); r.Status != 0 {
		t.Fatalf("write: % x", r.Sense)
	}
	if r := run(t, drives[0], []byte{0x10, 0, 0, 0, 1, 0}, nil); r.Status != 0 {
		t.Fatalf("write filemarks: % x", r.Sense)
	}
	if r := run(t, drives[0], []byte{0x1b, 0, 0, 0, 0, 0}, nil); r.Status != 0 { // unload
		t.Fatalf("unload: % x", r.Sense)
	}
	if err := m.Move(ctx, lib, barcode, Location{Type: "slot", Index: freeSlot(t, m, lib)}); err != nil {
		t.Fatalf("put %s back: %v", barcode, err)
	}
}

// freeSlot is the first empty storage slot of library lib.
func freeSlot(t *testing.T, m *Manager, lib string) int {
	t.Helper()
	l, err := m.runtime(lib)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range l.changer.Layout().Slots {
		if b == "" {
			return i
		}
	}
	t.Fatal("no empty slot")
	return -1
}

// No one, administrators included, deletes a WORM cartridge that holds
// data, or a cartridge of an immutable library under retention.
func TestLockedCartridgeDelete(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		worm      bool
		immutable int
		want      error
	}{
		{"WORM", true, 0, cartridge.ErrWORM},
		{"immutable library", false, 30, cartridge.ErrRetained},
		{"WORM in an immutable library", true, 30, cartridge.ErrWORM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := testEngine(t)
			m, err := Open(ctx, filepath.Join(t.TempDir(), "vtl"), eng, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(ctx)
			if _, err := m.Create(ctx, Spec{Name: "lib", Emulation: "hp-msl", Generation: 6, Drives: 1, Slots: 4,
				MailSlots: 1, CartridgeSize: 8 << 20}); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.SetStoreOptions(storeName("lib"), chunkstore.StoreOptions{ImmutableDays: tc.immutable}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.AddCartridges(ctx, "lib", NewCartridges{Barcodes: []string{"DATA01L6", "BLANK1L6"}, WORM: tc.worm}); err != nil {
				t.Fatal(err)
			}
			writeCartridge(t, m, "lib", "DATA01L6")
			err = m.DeleteCartridge(ctx, "lib", "DATA01L6")
			if !errors.Is(err, tc.want) || !errors.Is(err, chunkstore.ErrImmutable) {
				t.Fatalf("delete: %v, want %v and chunkstore.ErrImmutable", err, tc.want)
			}
			c, err := m.Cartridge(ctx, "lib", "DATA01L6")
			if err != nil || c.Location.Type != "slot" || c.UsedBytes < 4096 {
				t.Fatalf("after the refused delete: %+v %v", c, err)
			}
			if err := m.Delete(ctx, "lib"); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("delete the library: %v", err)
			}
			if err := m.DeleteCartridge(ctx, "lib", "BLANK1L6"); err != nil {
				t.Fatalf("delete a blank cartridge: %v", err)
			}
		})
	}
}

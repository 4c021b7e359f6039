package library

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

func testEngine(t *testing.T) *chunkstore.Engine {
	t.Helper()
	o := chunkstore.DefaultOptions()
	o.Workers = 2
	eng, err := chunkstore.Open(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func openManager(t *testing.T, dir string, eng *chunkstore.Engine) *Manager {
	t.Helper()
	m, err := Open(context.Background(), dir, eng, Options{Default: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func run(t *testing.T, d scsi.Device, cdb []byte, out []byte) scsi.Response {
	t.Helper()
	return d.Execute(context.Background(), &scsi.Command{CDB: cdb, Nexus: "n1", DataOut: out, ExpectedLen: 1 << 20})
}

func TestDefaultLibraryAndPersistence(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	dir := filepath.Join(t.TempDir(), "vtl")
	m := openManager(t, dir, eng)
	libs := m.Libraries()
	if len(libs) != 1 || libs[0].Name != "vtl1" || len(libs[0].Drives) != 2 || libs[0].Cartridges != 8 || libs[0].SlotsUsed != 8 {
		t.Fatalf("default library: %+v", libs)
	}
	carts, err := m.Cartridges(ctx, "vtl1")
	if err != nil || len(carts) != 8 || carts[0].Barcode != "BKS001L6" || carts[0].Location.Type != "slot" || carts[0].Capacity != 2500e9 {
		t.Fatalf("default cartridges: %+v %v", carts, err)
	}
	targets := m.Targets()
	if len(targets) != 1 || targets[0].Name != "iqn.2025-01.io.backstop:vtl1" || len(targets[0].LUNs.LUNs()) != 3 {
		t.Fatalf("targets: %+v", targets)
	}
	// the host loads BKS001L6 into drive 0 and writes a record
	luns := targets[0].LUNs.LUNs()
	if r := run(t, luns[0], []byte{0xa5, 0, 0, 0, 0x04, 0x00, 0x01, 0x00, 0, 0, 0, 0}, nil); r.Status != 0 {
		t.Fatalf("move medium: % x", r.Sense)
	}
	run(t, luns[1], []byte{0, 0, 0, 0, 0, 0}, nil) // media-change unit attention
	rec := bytes.Repeat([]byte{0xab}, 4096)
	if r := run(t, luns[1], []byte{0x0a, 0, 0, 0x10, 0, 0}, rec); r.Status != 0 {
		t.Fatalf("write: % x", r.Sense)
	}
	if r := run(t, luns[1], []byte{0x10, 0, 0, 0, 1, 0}, nil); r.Status != 0 {
		t.Fatalf("write filemarks: % x", r.Sense)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// after a restart the cartridge is still in the drive, with its data
	m = openManager(t, dir, eng)
	defer m.Close(ctx)
	c, err := m.Cartridge(ctx, "vtl1", "BKS001L6")
	if err != nil || c.Location.Type != "drive" || c.UsedBytes < 4096 || c.LoadCount != 1 {
		t.Fatalf("after restart: %+v %v", c, err)
	}
	drives, _ := m.Drives("vtl1")
	run(t, drives[0], []byte{0, 0, 0, 0, 0, 0}, nil)
	if r := run(t, drives[0], []byte{0x08, 0, 0, 0x10, 0, 0}, nil); r.Status != 0 || !bytes.Equal(r.Data, rec) {
		t.Fatalf("read back after restart: status %d % x", r.Status, r.Sense)
	}
	if len(m.Libraries()) != 1 {
		t.Fatal("default library created twice")
	}
	info, _ := m.Library("vtl1")
	if info.LogicalBytes < 4096 || info.StoredBytes == 0 {
		t.Fatalf("figures: %+v", info)
	}
}

func TestCartridgeLifecycle(t *testing.T) {
	ctx := context.Background()
	eng := testEngine(t)
	m, err := Open(ctx, filepath.Join(t.TempDir(), "vtl"), eng, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if len(m.Libraries()) != 0 {
		t.Fatal("default library without Default")
	}
	spec := Spec{Name: "lib2", Emulation: "ibm-ts3100", Generation: 5, Drives: 1, Slots: 4, MailSlots: 1, CartridgeSize: 8 << 20,
		CHAP: CHAP{User: "u", Secret: "0123456789ab"}}
	info, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info.Drives[0].Product != "ULT3580-TD5" || info.CartridgeSize != 8<<20 {
		t.Fatalf("created: %+v", info)
	}
	if _, err := m.Create(ctx, spec); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	bad := spec
	bad.Name, bad.Drives = "lib3", 9
	if _, err := m.Create(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("9 drives in a TS3100: %v", err)
	}
	if _, err := m.AddCartridges(ctx, "lib2", NewCartridges{Barcodes: []string{"A1", "A2", "A3", "A4", "A5"}}); !errors.Is(err, ErrNoSlot) {
		t.Fatalf("5 cartridges in 4 slots: %v", err)
	}
	if _, err := m.AddCartridges(ctx, "lib2", NewCartridges{Barcodes: []string{"A1", "A2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddCartridges(ctx, "lib2", NewCartridges{Barcodes: []string{"V1"}, Vault: true}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		bc   string
		want string
	}{
		{"move to slot 3", func() error { return m.Move(ctx, "lib2", "A1", Location{Type: "slot", Index: 3}) }, "A1", "slot"},
		{"move to drive", func() error { return m.Move(ctx, "lib2", "A2", Location{Type: "drive", Index: 0}) }, "A2", "drive"},
		{"import", func() error { _, err := m.Import(ctx, "lib2", "V1"); return err }, "V1", "mail"},
		{"export from the mail slot", func() error { return m.Export(ctx, "lib2", "V1") }, "V1", "vault"},
		{"export from a slot", func() error { return m.Export(ctx, "lib2", "A1") }, "A1", "vault"},
		{"protect", func() error { return m.Protect(ctx, "lib2", "A2", true) }, "A2", "drive"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		c, err := m.Cartridge(ctx, "lib2", s.bc)
		if err != nil || c.Location.Type != s.want {
			t.Fatalf("%s: %s is at %+v (%v), want %s", s.name, s.bc, c.Location, err, s.want)
		}
	}
	// the drive sees the write protection
	drives, _ := m.Drives("lib2")
	run(t, drives[0], []byte{0, 0, 0, 0, 0, 0}, nil)
	if r := run(t, drives[0], []byte{0x0a, 0, 0, 0, 4, 0}, []byte("data")); r.Status != scsi.StatusCheckCondition || r.Sense[2] != 7 || r.Sense[12] != 0x27 {
		t.Fatalf("write to a protected cartridge: %d % x", r.Status, r.Sense)
	}
	if err := m.DeleteCartridge(ctx, "lib2", "A2"); !errors.Is(err, ErrBusy) {
		t.Fatalf("delete a loaded cartridge: %v", err)
	}
	if err := m.Delete(ctx, "lib2"); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("delete a library with cartridges: %v", err)
	}
	if err := m.Move(ctx, "lib2", "A2", Location{Type: "slot", Index: 0}); err != nil {
		t.Fatal(err)
	}
	for _, bc := range []string{"A1", "A2", "V1"} {
		if err := m.DeleteCartridge(ctx, "lib2", bc); err != nil {
			t.Fatalf("delete %s: %v", bc, err)
		}
	}
	if err := m.Delete(ctx, "lib2"); err != nil {
		t.Fatal(err)
	}
	if len(m.Libraries()) != 0 {
		t.Fatal("library still listed")
	}
}

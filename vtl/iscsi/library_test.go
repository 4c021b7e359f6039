package iscsi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// libTargets serves vtl/library's targets (what cmd/backstop wires).
type libTargets struct{ m *library.Manager }

func (l libTargets) Targets() []iscsi.Target {
	var out []iscsi.Target
	for _, t := range l.m.Targets() {
		out = append(out, iscsi.Target{Name: t.Name, Alias: t.Alias, LUNs: t.LUNs, CHAP: iscsi.CHAP(t.CHAP)})
	}
	return out
}

type libFixture struct {
	addr   string
	target string
	eng    *chunkstore.Engine
}

// startLibrary serves the default library of a fresh appliance: the real
// changer and drives of vtl/changer and vtl/tape on chunkstore.
func startLibrary(t *testing.T) *libFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve = 4<<30, 0
	eng, err := chunkstore.Open(ctx, filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := library.Open(ctx, filepath.Join(dir, "vtl"), eng, library.Options{Default: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := iscsi.New(libTargets{libs}, iscsi.DefaultOptions())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		testwait.Recv(t, done)
		libs.Close(ctx)
		eng.Close()
	})
	ts := libs.Targets()
	if len(ts) == 0 {
		t.Fatal("no default library")
	}
	return &libFixture{addr: ln.Addr().String(), target: ts[0].Name, eng: eng}
}

func (f *libFixture) dial(t *testing.T, c initiator.Config) *initiator.Session {
	t.Helper()
	s, err := initiator.Dial(ctxT(t), f.addr, c)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// do runs a CDB, repeating it after UNIT ATTENTION, and fails the test on
// anything but GOOD unless the caller asks for the result as it is.
func do(t *testing.T, s *initiator.Session, lun uint64, cdb, out []byte, in int) *initiator.Result {
	t.Helper()
	for range 4 {
		r, err := s.Command(ctxT(t), lun, cdb, out, in)
		if err != nil {
			t.Fatalf("CDB % x: %v", cdb, err)
		}
		if r.Status == 2 && len(r.Sense) > 2 && r.Sense[2]&0xf == 6 {
			continue
		}
		if r.Status != 0 {
			t.Fatalf("CDB % x: status %#x sense % x", cdb, r.Status, r.Sense)
		}
		return r
	}
	t.Fatalf("CDB % x: unit attentions without end", cdb)
	return nil
}

// loadFirstSlot moves the first full slot's cartridge into the first
// drive and returns the barcode.
func loadFirstSlot(t *testing.T, s *initiator.Session) string {
	t.Helper()
	r := do(t, s, 0, []byte{0xb8, 0x10, 0, 0, 0xff, 0xff, 0, 0x01, 0, 0, 0}, nil, 65535)
	var transport, slot, dte uint16
	var barcode string
	haveSlot, haveDTE := false, false
	d := r.Data
	for off := 8; off+8 <= len(d); {
		typ, descLen := d[off]&0x0f, int(binary.BigEndian.Uint16(d[off+2:]))
		pageLen := int(binary.BigEndian.Uint32(d[off+4:]) & 0xffffff)
		for e := off + 8; descLen > 2 && e+descLen <= off+8+pageLen && e+descLen <= len(d); e += descLen {
			addr, full := binary.BigEndian.Uint16(d[e:]), d[e+2]&1 != 0
			switch {
			case typ == 1 && transport == 0:
				transport = addr
			case typ == 2 && full && !haveSlot:
				slot, haveSlot = addr, true
				barcode = string(bytes.TrimRight(d[e+12:e+12+32], " \x00"))
			case typ == 4 && !full && !haveDTE:
				dte, haveDTE = addr, true
			}
		}
		off += 8 + pageLen
	}
	if !haveSlot || !haveDTE {
		t.Fatalf("no full slot or empty drive: % x", d)
	}
	do(t, s, 0, []byte{0xa5, 0, byte(transport >> 8), byte(transport), byte(slot >> 8), byte(slot), byte(dte >> 8), byte(dte), 0, 0, 0, 0}, nil, 0)
	return barcode
}

func record(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7 + j>>9)
	}
	return b
}

// TestLibraryEndToEnd: the default library's changer and LTO drive over
// TCP with the Go initiator: load, records and filemarks, read back.
func TestLibraryEndToEnd(t *testing.T) {
	f := startLibrary(t)
	c := cfg()
	c.TargetName = f.target
	c.HeaderDigest, c.DataDigest = true, true
	s := f.dial(t, c)
	if bc := loadFirstSlot(t, s); bc == "" {
		t.Fatal("no barcode")
	}
	do(t, s, 1, []byte{0, 0, 0, 0, 0, 0}, nil, 0) // TEST UNIT READY
	do(t, s, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	sizes := []int{10240, 65536, 262144 + 17, 1 << 20}
	for i, n := range sizes {
		do(t, s, 1, write6(n), record(i, n), 0)
		if i == 1 {
			do(t, s, 1, []byte{0x10, 0, 0, 0, 1, 0}, nil, 0) // WRITE FILEMARKS 1
		}
	}
	do(t, s, 1, []byte{0x10, 0, 0, 0, 1, 0}, nil, 0)
	do(t, s, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	for i, n := range sizes {
		r := do(t, s, 1, read6(n), nil, n)
		if !bytes.Equal(r.Data, record(i, n)) {
			t.Fatalf("record %d differs", i)
		}
		if i == 1 { // the filemark: CHECK CONDITION with FILEMARK, no data
			r, err := s.Command(ctxT(t), 1, read6(4096), nil, 4096)
			if err != nil || r.Status != 2 || r.Sense[2]&0x80 == 0 {
				t.Fatalf("filemark: %v %+v", err, r)
			}
		}
	}
	if err := s.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestKilledMidWrite: a session killed while a record's data is in flight
// leaves the cartridge readable up to the last acknowledged record.
func TestKilledMidWrite(t *testing.T) {
	f := startLibrary(t)
	c := cfg()
	c.TargetName = f.target
	c.InitialR2T, c.ImmediateData = true, false
	s := f.dial(t, c)
	loadFirstSlot(t, s)
	do(t, s, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	const acked = 5
	for i := range acked {
		do(t, s, 1, write6(100000), record(i, 100000), 0)
	}
	// A sixth record: the command, an R2T, half its data, then the
	// connection dies.
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | wire.FlagWrite | 1
	p.SetLUN(wire.EncodeLUN(1))
	p.SetUint32(20, 100000)
	copy(p.BHS[32:], write6(100000))
	r2t, err := s.RoundTrip(ctxT(t), p)
	if err != nil || r2t.Opcode() != wire.OpR2T {
		t.Fatalf("no R2T: %v", err)
	}
	d := &wire.PDU{}
	d.SetOpcode(wire.OpDataOut, false)
	d.SetLUN(wire.EncodeLUN(1))
	d.SetUint32(16, r2t.ITT())
	d.SetUint32(20, r2t.Uint32(20))
	d.Data = record(5, 50000)
	s.Send(d)
	s.Close()

	// A new session (another initiator) finds the five records, then the
	// end of data.
	c2 := cfg()
	c2.InitiatorName += ".second"
	c2.TargetName = f.target
	var s2 *initiator.Session
	for range 50 { // the old session's end may still be tearing down
		s2, err = initiator.Dial(ctxT(t), f.addr, c2)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	do(t, s2, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	for i := range acked {
		r := do(t, s2, 1, read6(100000), nil, 100000)
		if !bytes.Equal(r.Data, record(i, 100000)) {
			t.Fatalf("record %d differs", i)
		}
	}
	r, err := s2.Command(ctxT(t), 1, read6(100000), nil, 100000)
	if err != nil {
		t.Fatal(err)
	}
	// BLANK CHECK (8h), END-OF-DATA DETECTED (00h/05h).
	if r.Status != 2 || r.Sense[2]&0xf != 8 || r.Sense[12] != 0 || r.Sense[13] != 5 {
		t.Fatalf("after the last acknowledged record: status %d sense % x", r.Status, r.Sense)
	}
}

// TestLibiscsiLibrary: libiscsi's tools see the real library: the changer
// and the drives with their types, and their identity and VPD pages.
func TestLibiscsiLibrary(t *testing.T) {
	ls := tool(t, "iscsi-ls", "libiscsi-bin")
	inq := tool(t, "iscsi-inq", "libiscsi-bin")
	f := startLibrary(t)
	const ini = "iqn.2026-11.org.backstop:libiscsi"
	out, err := run(t, ls, "-i", ini, "-s", "iscsi://"+f.addr)
	if err != nil {
		t.Fatalf("iscsi-ls: %v\n%s", err, out)
	}
	t.Logf("iscsi-ls -s:\n%s", out)
	for _, want := range []string{"Target:" + f.target + " Portal:" + f.addr + ",1", "Lun:0    Type:MEDIA_CHANGER",
		"Lun:1    Type:SEQUENTIAL_ACCESS", "Lun:2    Type:SEQUENTIAL_ACCESS"} {
		if !strings.Contains(out, want) {
			t.Errorf("iscsi-ls lacks %q", want)
		}
	}
	url := func(lun int) string { return fmt.Sprintf("iscsi://%s/%s/%d", f.addr, f.target, lun) }
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"changer identity", []string{url(0)}, []string{"MEDIA_CHANGER", "Vendor:HP", "Product:MSL G3 Series"}},
		{"drive identity", []string{url(1)}, []string{"SEQUENTIAL_ACCESS", "Vendor:HP", "Product:Ultrium 6-SCSI"}},
		{"drive VPD pages", []string{"-e", "1", "-c", "0", url(1)}, []string{"SUPPORTED_VPD_PAGES", "UNIT_SERIAL_NUMBER", "DEVICE_IDENTIFICATION"}},
		{"drive serial", []string{"-e", "1", "-c", "128", url(1)}, []string{"Unit Serial Number:["}},
		{"drive device identification", []string{"-e", "1", "-c", "131", url(1)}, []string{"DESIGNATOR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, inq, append([]string{"-i", ini}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			t.Logf("%s", out)
		})
	}
}

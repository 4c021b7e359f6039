package changer

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

const nexus = "iqn.test:init,i,0x1"

// media is the library side of the test: cartridges by barcode and the
// last layout recorded.
type media struct {
	last  Layout
	moves int
}

func (m *media) Medium(bc string) (*tape.Medium, error) {
	return &tape.Medium{Barcode: bc, Store: "vtl", Options: cartridge.Options{Capacity: 16 << 20}}, nil
}

func (m *media) Moved(l Layout) error { m.last, m.moves = l, m.moves+1; return nil }

func testChanger(t *testing.T) (*Changer, []*tape.Drive, *media) {
	t.Helper()
	o := chunkstore.DefaultOptions()
	o.Workers = 2
	eng, err := chunkstore.Open(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if _, err := eng.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	var drives []*tape.Drive
	var ds []Drive
	for i := 0; i < 2; i++ {
		d, err := tape.New(eng, tape.Options{Serial: fmt.Sprintf("HU1000000%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close(context.Background()) })
		drives, ds = append(drives, d), append(ds, d)
	}
	m := &media{}
	c := New(Options{Identity: scsi.Identity{Vendor: "HP", Product: "MSL G3 Series", Revision: "9.20", Serial: "DEC0000001"},
		Slots: []string{"AAA001L6", "AAA002L6", "", ""}, Mail: []string{""}, Drives: ds, Media: m})
	for _, d := range []scsi.Device{c, drives[0], drives[1]} {
		d.Reset(scsi.ResetNexusLoss, nexus)
		exec(d, "00 00 00 00 00 00", nil) // the power-on unit attention
	}
	return c, drives, m
}

func cdb(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func exec(d scsi.Device, c string, out []byte) scsi.Response {
	return d.Execute(context.Background(), &scsi.Command{CDB: cdb(c), Nexus: nexus, DataOut: out, ExpectedLen: 1 << 16})
}

const cc = scsi.StatusCheckCondition

func TestChangerCommands(t *testing.T) {
	c, drives, m := testChanger(t)
	tag := func(bc string) string { return hex.EncodeToString(append(scsi.PadASCII(bc, 32), 0, 0, 0, 0)) }
	empty := hex.EncodeToString(make([]byte, 36))
	steps := []struct {
		name   string
		dev    scsi.Device
		cdb    string
		status byte
		sense  string
		data   string
	}{
		{"inquiry", c, "12 00 00 00 60 00", 0, "", "08 80 06 02 5b 00 00 02 48 50 20 20 20 20 20 20 4d 53 4c 20 47 33 20 53 65 72 69 65 73"},
		{"element address assignment", c, "1a 08 1d 00 ff 00", 0, "", "17 00 00 00 1d 12 00 00 00 01 04 00 00 04 02 00 00 01 01 00 00 02"},
		{"capabilities", c, "1a 08 1f 00 ff 00", 0, "", "17 00 00 00 1f 12 0e 00 0e 0e 0e 0e"},
		{"geometry", c, "1a 08 1e 00 ff 00", 0, "", "07 00 00 00 1e 02 00 00"},
		// storage slots with volume tags: header, page header, 4 descriptors of 48 bytes
		{"read element status storage", c, "b8 12 00 00 ff ff 00 00 ff ff 00 00", 0, "",
			"04 00 00 04 00 00 00 c8 02 80 00 30 00 00 00 c0" +
				"04 00 09 00 00 00 00 00 00 01 00 00" + tag("AAA001L6") +
				"04 01 09 00 00 00 00 00 00 01 00 00" + tag("AAA002L6") +
				"04 02 08 00 00 00 00 00 00 00 00 00" + empty},
		{"read element status bad type", c, "b8 05 00 00 ff ff 00 00 ff ff 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 01", ""},
		{"move slot 1 to drive 0", c, "a5 00 00 00 04 00 01 00 00 00 00 00", 0, "", ""},
		{"drive sees the media change", drives[0], "00 00 00 00 00 00", cc, "70 00 06 00 00 00 00 0a 00 00 00 00 28 00 00 00 00 00", ""},
		{"drive ready", drives[0], "00 00 00 00 00 00", 0, "", ""},
		{"drive element full with source", c, "b8 14 01 00 00 01 01 00 ff ff 00 00", 0, "",
			"01 00 00 01 00 00 00 5c 04 80 00 54 00 00 00 54 01 00 09 00 00 00 00 00 00 81 04 00" + tag("AAA001L6") + "02 00 00 20 48 55 31 30"},
		{"move from empty slot", c, "a5 00 00 00 04 00 01 01 00 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 3b 0e 00 00 00 00", ""},
		{"move onto full drive", c, "a5 00 00 00 04 01 01 00 00 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 3b 0d 00 00 00 00", ""},
		{"move bad source element", c, "a5 00 00 00 07 77 04 02 00 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 21 01 00 c0 00 04", ""},
		{"move with invert", c, "a5 00 00 00 04 01 04 02 00 00 01 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 0a", ""},
		{"drive prevents removal", drives[0], "1e 00 00 00 01 00", 0, "", ""},
		{"move out of a prevented drive", c, "a5 00 00 00 01 00 04 03 00 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 53 02 00 00 00 00", ""},
		{"drive allows removal", drives[0], "1e 00 00 00 00 00", 0, "", ""},
		{"move drive 0 to slot 4", c, "a5 00 00 00 01 00 04 03 00 00 00 00", 0, "", ""},
		{"drive has no medium", drives[0], "00 00 00 00 00 00", cc, "70 00 06 00 00 00 00 0a 00 00 00 00 28 00 00 00 00 00", ""},
		{"drive not ready", drives[0], "00 00 00 00 00 00", cc, "70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00", ""},
		{"export to mail slot", c, "a5 00 00 00 04 01 02 00 00 00 00 00", 0, "", ""},
		{"initialize element status", c, "07 00 00 00 00 00", 0, "", ""},
		{"initialize with range", c, "37 01 04 00 00 00 00 04 00 00", 0, "", ""},
		{"initialize bad range", c, "37 01 09 99 00 00 00 04 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 21 01 00 c0 00 02", ""},
		{"position to element", c, "2b 00 00 00 04 00 00 00 00 00", 0, "", ""},
		{"position to bad element", c, "2b 00 00 00 44 00 00 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 21 01 00 c0 00 04", ""},
		{"open mail slot", c, "1b 00 02 00 00 00", 0, "", ""},
		{"open a storage slot", c, "1b 00 04 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02", ""},
		{"prevent mail slot", c, "1e 00 00 00 01 00", 0, "", ""},
		{"open prevented", c, "1b 00 02 00 00 00", cc, "70 00 05 00 00 00 00 0a 00 00 00 00 53 02 00 00 00 00", ""},
		{"close mail slot", c, "1b 00 02 00 01 00", 0, "", ""},
	}
	for _, s := range steps {
		r := exec(s.dev, s.cdb, nil)
		if r.Status != s.status {
			t.Fatalf("%s: status %#x, want %#x (sense % x)", s.name, r.Status, s.status, r.Sense)
		}
		if s.sense != "" && !bytes.Equal(r.Sense, cdb(s.sense)) {
			t.Fatalf("%s: sense\n got % x\nwant % x", s.name, r.Sense, cdb(s.sense))
		}
		if s.data != "" && !bytes.HasPrefix(r.Data, cdb(s.data)) {
			t.Fatalf("%s: data\n got % x\nwant %s", s.name, r.Data, s.data)
		}
	}
	if _, err := c.Export(0); err == nil {
		t.Fatal("operator export while the host prevents it succeeded")
	}
	exec(c, "1e 00 00 00 00 00", nil)
	if bc, err := c.Export(0); err != nil || bc != "AAA002L6" {
		t.Fatalf("export: %q %v", bc, err)
	}
	if _, err := c.Import("NEW001L6", -1); err != nil {
		t.Fatal(err)
	}
	exec(c, "00 00 00 00 00 00", nil) // IMPORT OR EXPORT ELEMENT ACCESSED
	r := exec(c, "b8 03 02 00 00 01 00 00 ff ff 00 00", nil)
	if want := "02 00 3b"; hex.EncodeToString(r.Data[16:19]) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("imported mail slot descriptor % x", r.Data[16:28])
	}
	if r := exec(c, "a5 00 00 00 02 00 04 00 00 00 00 00", nil); r.Status != 0 {
		t.Fatalf("move the imported cartridge in: % x", r.Sense)
	}
	if m.last.Slots[0] != "NEW001L6" {
		t.Fatalf("layout after import %v", m.last.Slots)
	}
	want := Layout{Slots: []string{"NEW001L6", "", "", "AAA001L6"}, Mail: []string{""}, Drives: []string{"", ""}}
	if fmt.Sprint(m.last.Slots, m.last.Mail, m.last.Drives) != fmt.Sprint(want.Slots, want.Mail, want.Drives) {
		t.Fatalf("layout %v %v %v", m.last.Slots, m.last.Mail, m.last.Drives)
	}
}

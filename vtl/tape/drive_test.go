package tape

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

const nexus = "iqn.test:init,i,0x1"

func testDrive(t *testing.T, opts cartridge.Options) (*Drive, *chunkstore.Engine) {
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
	d, err := New(eng, Options{Serial: "HU10000001", NAA: 0x5000000000000001})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Capacity == 0 {
		opts.Capacity = 64 << 20
	}
	if err := d.Insert(context.Background(), &Medium{Barcode: "TST001L6", Store: "vtl", Options: opts}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	// swallow the media-change unit attention
	d.Reset(scsi.ResetNexusLoss, nexus)
	exec(t, d, "00 00 00 00 00 00", nil)
	return d, eng
}

func cdb(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func exec(t *testing.T, d scsi.Device, c string, out []byte) scsi.Response {
	t.Helper()
	return d.Execute(context.Background(), &scsi.Command{CDB: cdb(c), Nexus: nexus, DataOut: out, ExpectedLen: 1 << 24})
}

type want struct {
	status byte
	sense  string // hex of the 18 sense bytes, "" when GOOD
	data   string // hex prefix of Data-In, "" to skip
}

func check(t *testing.T, name string, r scsi.Response, w want) {
	t.Helper()
	if r.Status != w.status {
		t.Errorf("%s: status %#x, want %#x (sense % x)", name, r.Status, w.status, r.Sense)
		return
	}
	if w.sense != "" && !bytes.Equal(r.Sense, cdb(w.sense)) {
		t.Errorf("%s: sense\n got % x\nwant % x", name, r.Sense, cdb(w.sense))
	}
	if w.data != "" && !bytes.HasPrefix(r.Data, cdb(w.data)) {
		t.Errorf("%s: data % x, want prefix %s", name, r.Data[:min(len(r.Data), 64)], w.data)
	}
}

const cc = scsi.StatusCheckCondition

// The table runs in order on one drive: each step's CDB, Data-Out and
// the exact answer.
func TestDriveCommands(t *testing.T) {
	d, _ := testDrive(t, cartridge.Options{Capacity: 1 << 20, EarlyWarning: 64 << 10})
	rec := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	steps := []struct {
		name string
		cdb  string
		out  []byte
		want want
	}{
		{"tur", "00 00 00 00 00 00", nil, want{status: 0}},
		{"bad opcode", "c7 00 00 00 00 00 00 00 00 00 00 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00 00 00", ""}},
		{"naca in control", "00 00 00 00 00 04", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ca 00 05", ""}},
		{"inquiry", "12 00 00 00 24 00", nil, want{0, "", "01 80 06 02 5b 00 00 02 48 50 20 20 20 20 20 20 55 6c 74 72 69 75 6d 20 36 2d 53 43 53 49"}},
		{"inquiry page without evpd", "12 00 80 00 ff 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02", ""}},
		{"inquiry cmddt", "12 02 00 00 ff 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01", ""}},
		{"vpd 00", "12 01 00 00 ff 00", nil, want{0, "", "01 00 00 04 00 80 83 b0"}},
		{"vpd 80", "12 01 80 00 ff 00", nil, want{0, "", "01 80 00 0a 48 55 31 30 30 30 30 30 30 31"}},
		{"vpd 83", "12 01 83 00 ff 00", nil, want{0, "", "01 83 00 32 01 03 00 08 50 00 00 00 00 00 00 01 02 01 00 22 48 50"}},
		{"vpd unknown", "12 01 c7 00 ff 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02", ""}},
		{"read block limits", "05 00 00 00 00 00", nil, want{0, "", "00 80 00 00 00 01"}},
		{"write variable 1k", "0a 00 00 04 00 00", rec, want{status: 0}},
		{"write variable 1k", "0a 00 00 04 00 00", rec, want{status: 0}},
		{"write filemark", "10 00 00 00 01 00", nil, want{status: 0}},
		{"write setmark refused", "10 02 00 00 01 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01", ""}},
		{"read position short", "34 00 00 00 00 00 00 00 00 00", nil, want{0, "", "00 00 00 00 00 00 00 03 00 00 00 03"}},
		{"read position long", "34 06 00 00 00 00 00 00 00 00", nil, want{0, "", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 01"}},
		{"rewind", "01 00 00 00 00 00", nil, want{status: 0}},
		{"read position at BOP", "34 00 00 00 00 00 00 00 00 00", nil, want{0, "", "80 00 00 00 00 00 00 00"}},
		{"read exact", "08 00 00 04 00 00", nil, want{0, "", hex.EncodeToString(rec[:16])}},
		// a shorter request than the record: ILI, information = 512 - 1024 = -512
		{"read short: ILI", "08 00 00 02 00 00", nil, want{cc, "f0 00 20 ff ff fe 00 0a 00 00 00 00 00 00 00 00 00 00", ""}},
		// at the filemark: FM, information = the whole request
		{"read filemark", "08 00 00 04 00 00", nil, want{cc, "f0 00 80 00 00 04 00 0a 00 00 00 00 00 01 00 00 00 00", ""}},
		{"read at EOD: blank check", "08 00 00 04 00 00", nil, want{cc, "f0 00 08 00 00 04 00 0a 00 00 00 00 00 05 00 00 00 00", ""}},
		{"space -1 filemark", "11 01 ff ff ff 00", nil, want{status: 0}},
		{"space -3 blocks hits BOT", "11 00 ff ff fd 00", nil, want{cc, "f0 00 40 ff ff ff ff 0a 00 00 00 00 00 04 00 00 00 00", ""}},
		{"space 3 blocks hits FM", "11 00 00 00 03 00", nil, want{cc, "f0 00 80 00 00 00 01 0a 00 00 00 00 00 01 00 00 00 00", ""}},
		{"space to EOD", "11 03 00 00 00 00", nil, want{status: 0}},
		{"space bad code", "11 07 00 00 00 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 01", ""}},
		{"locate 1", "2b 00 00 00 00 00 01 00 00 00", nil, want{status: 0}},
		{"read second record", "08 00 00 04 00 00", nil, want{0, "", hex.EncodeToString(rec[:16])}},
		{"locate 16 past EOD", "92 00 00 00 00 00 00 00 00 00 00 09 00 00 00 00", nil, want{cc, "70 00 08 00 00 00 00 0a 00 00 00 00 00 05 00 00 00 00", ""}},
		{"fixed read without block size", "08 01 00 00 01 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 01", ""}},
		{"fixed with sili", "08 03 00 00 01 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01", ""}},
		// MODE SELECT(6): block descriptor with a 512-byte block length
		{"mode select fixed 512", "15 10 00 00 0c 00", cdb("00 00 10 08 00 00 00 00 00 00 02 00"), want{status: 0}},
		{"mode sense block descriptor", "1a 00 00 00 ff 00", nil, want{0, "", "0b 00 10 08 5a 00 00 00 00 00 02 00"}},
		{"write fixed 2 blocks", "0a 01 00 00 02 00", rec, want{status: 0}},
		{"space back 2", "11 00 ff ff fe 00", nil, want{status: 0}},
		{"read fixed 3 blocks hits EOD", "08 01 00 00 03 00", nil, want{cc, "f0 00 08 00 00 00 01 0a 00 00 00 00 00 05 00 00 00 00", ""}},
		{"mode select bad page bit", "15 10 00 00 14 00", cdb("00 00 10 00 0f 0e c0 80 00 00 00 01 00 00 00 01"), want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 1a 00 00 00 00 00", ""}},
		{"mode select unchangeable bit", "15 10 00 00 14 00", cdb("00 00 10 00 0f 0e c0 00 00 00 00 01 00 00 00 01 00 00 00 00"), want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8f 00 07", ""}},
		{"mode sense compression", "1a 08 0f 00 ff 00", nil, want{0, "", "13 00 10 00 0f 0e c0 80"}},
		{"mode sense saved values", "1a 00 cf 00 ff 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 39 00 00 cf 00 02", ""}},
		{"mode sense unknown page", "1a 00 05 00 ff 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cd 00 02", ""}},
		{"log sense supported pages", "4d 00 00 00 00 00 00 00 ff 00", nil, want{0, "", "00 00 00 06 00 02 03 0c 2e 31"}},
		{"log sense tapealert", "4d 00 2e 00 00 00 00 01 60 00", nil, want{0, "", "2e 00 01 40 00 01 03 01 00"}},
		{"log sense unknown", "4d 00 17 00 00 00 00 01 60 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cd 00 02", ""}},
		{"report density", "44 00 00 00 00 00 00 01 00 00", nil, want{0, "", "00 9e 00 00 5a 5a a0"}},
		{"read attribute", "8c 00 00 00 00 00 00 00 04 01 00 00 01 00 00 00", nil, want{0, "", "00 00 00 31 04 01 81 00 20 54 53 54 30 30 31 4c 36"}},
		{"write attribute", "8d 00 00 00 00 00 00 00 00 00 00 00 00 0d 00 00", cdb("00 00 00 09 08 00 01 00 04 54 45 53 54"), want{status: 0}},
		{"read attribute back", "8c 00 00 00 00 00 00 00 08 00 00 00 01 00 00 00", nil, want{0, "", "00 00 00 09 08 00 01 00 04 54 45 53 54"}},
		{"write device attribute refused", "8d 00 00 00 00 00 00 00 00 00 00 00 00 0d 00 00", cdb("00 00 00 09 00 00 01 00 04 54 45 53 54"), want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 00 04", ""}},
		{"prevent", "1e 00 00 00 01 00", nil, want{status: 0}},
		{"unload prevented", "1b 00 00 00 00 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 53 02 00 00 00 00", ""}},
		{"allow", "1e 00 00 00 00 00", nil, want{status: 0}},
		{"unload", "1b 00 00 00 00 00", nil, want{status: 0}},
		{"tur after unload", "00 00 00 00 00 00", nil, want{cc, "70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00", ""}},
		{"load", "1b 00 00 00 01 00", nil, want{status: 0}},
		{"read after reload", "08 00 00 04 00 00", nil, want{0, "", hex.EncodeToString(rec[:16])}},
	}
	for _, s := range steps {
		check(t, s.name, exec(t, d, s.cdb, s.out), s.want)
	}
}

package tape

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/backstop-appliance/backstop/vtl/cartridge"
)

// TestDriveEdges covers what TestDriveCommands does not: end of medium,
// early warning and WORM through SCSI, positioning forms, density for
// the medium, MAM lists, buffered mode.
func TestDriveEdges(t *testing.T) {
	d, _ := testDrive(t, cartridge.Options{Capacity: 4096 * 10, EarlyWarning: 4096 * 3, WORM: true})
	rec := bytes.Repeat([]byte{0x5a}, 4096)
	steps := []struct {
		name string
		cdb  string
		out  []byte
		want want
	}{
		{"buffered mode 0", "15 10 00 00 04 00", cdb("00 00 00 00"), want{status: 0}},
		{"mode sense header", "1a 08 00 00 04 00", nil, want{0, "", "03 00 00 00"}},
		{"buffered mode 1", "15 10 00 00 04 00", cdb("00 00 10 00"), want{status: 0}},
		{"buffered mode 2 refused", "15 10 00 00 04 00", cdb("00 00 20 00"), want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8e 00 02", ""}},
		{"buffered mode 2 by MODE SELECT(10)", "55 10 00 00 00 00 00 00 08 00", cdb("00 00 00 20 00 00 00 00"), want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8e 00 03", ""}},
		{"mode sense shows WORM medium buffered", "1a 08 00 00 04 00", nil, want{0, "", "03 00 10 00"}},
		{"density of the medium", "44 01 00 00 00 00 00 00 40 00", nil, want{0, "", "00 36 00 00 5a 5a a0"}},
		{"write 1", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 2", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"filemark", "10 00 00 00 01 00", nil, want{status: 0}},
		{"rewind", "01 00 00 00 00 00", nil, want{status: 0}},
		{"WORM overwrite refused", "0a 00 00 10 00 00", rec, want{cc, "70 00 07 00 00 00 00 0a 00 00 00 00 30 0c 00 00 00 00", ""}},
		{"WORM erase refused", "19 00 00 00 00 00", nil, want{cc, "70 00 07 00 00 00 00 0a 00 00 00 00 30 0c 00 00 00 00", ""}},
		{"locate to file 1", "92 08 00 00 00 00 00 00 00 00 00 01 00 00 00 00", nil, want{status: 0}},
		{"read position long in file 1", "34 06 00 00 00 00 00 00 00 00", nil, want{0, "", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 01"}},
		{"locate to EOD", "92 18 00 00 00 00 00 00 00 00 00 00 00 00 00 00", nil, want{status: 0}},
		{"locate bad dest type", "92 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cd 00 01", ""}},
		{"write 3", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 4", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 5", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 6", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 7", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"write 8 passes early warning", "0a 00 00 10 00 00", rec, want{cc, "f0 00 40 00 00 00 00 0a 00 00 00 00 00 02 00 00 00 00", ""}},
		{"read position shows BPEW", "34 00 00 00 00 00 00 00 00 00", nil, want{0, "", "01 00 00 00 00 00 00 09 00 00 00 03 00 00 00 06 00 00 60 00"}},
		{"extended form", "34 08 00 00 00 00 00 00 20 00", nil, want{0, "", "01 00 00 1c 00 00 00 06 00 00 00 00 00 00 00 09 00 00 00 00 00 00 00 03 00 00 00 00 00 00 60 00"}},
		{"filemark in the zone", "10 00 00 00 01 00", nil, want{cc, "f0 00 40 00 00 00 00 0a 00 00 00 00 00 02 00 00 00 00", ""}},
		{"write 9", "0a 00 00 10 00 00", rec, want{cc, "f0 00 40 00 00 00 00 0a 00 00 00 00 00 02 00 00 00 00", ""}},
		{"write 10", "0a 00 00 10 00 00", rec, want{cc, "f0 00 40 00 00 00 00 0a 00 00 00 00 00 02 00 00 00 00", ""}},
		{"write 11: end of medium", "0a 00 00 10 00 00", rec, want{cc, "f0 00 4d 00 00 10 00 0a 00 00 00 00 00 02 00 00 00 00", ""}},
		{"remaining capacity 0", "8c 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00", nil, want{0, "", "00 00 00 65 00 00 80 00 08 00 00 00 00 00 00 00"}},
		{"attribute list", "8c 01 00 00 00 00 00 00 00 00 00 00 00 40 00 00", nil, want{0, "", "00 00 00 0e 00 00 00 01 00 03 04 00 04 01 04 05 04 08"}},
		{"supported attributes", "8c 05 00 00 00 00 00 00 08 00 00 00 00 40 00 00", nil, want{0, "", "00 00 00 16 08 00 08 01 08 02 08 03"}},
		{"partition list", "8c 03 00 00 00 00 00 00 00 00 00 00 00 40 00 00", nil, want{0, "", "00 02 00 01"}},
		{"bad attribute service action", "8c 07 00 00 00 00 00 00 00 00 00 00 00 40 00 00", nil, want{cc, "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cc 00 01", ""}},
		{"sequential access log", "4d 00 0c 00 00 00 00 00 ff 00", nil, want{0, "", "0c 00 00 3c 00 00 02 08 00 00 00 00 00 00 a0 00"}},
		{"tape capacity log", "4d 00 31 00 00 00 00 00 ff 00", nil, want{0, "", "31 00 00 20 00 01 60 04 00 00 00 00 00 02 60 04 00 00 00 00 00 03 60 04 00 00 00 00"}},
		{"block limits with MLOL", "05 01 00 00 00 00", nil, want{0, "", "00 12"}},
	}
	for _, s := range steps {
		check(t, s.name, exec(t, d, s.cdb, s.out), s.want)
	}
}

// TestWriteProtectedDrive: a write-protected cartridge refuses writes,
// shows WP in the mode header and raises TapeAlert flag 9.
func TestWriteProtectedDrive(t *testing.T) {
	d, _ := testDrive(t, cartridge.Options{WriteProtected: true})
	check(t, "mode header WP", exec(t, d, "1a 08 00 00 04 00", nil), want{0, "", "03 00 90 00"})
	check(t, "write", exec(t, d, "0a 00 00 00 04 00", []byte("data")), want{cc, "70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00", ""})
	check(t, "filemark", exec(t, d, "10 00 00 00 01 00", nil), want{cc, "70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00", ""})
	r := exec(t, d, "4d 00 2e 00 00 00 00 01 60 00", nil)
	// parameter 9 is the 9th 5-byte parameter after the 4-byte header
	if got := hex.EncodeToString(r.Data[4+8*5 : 4+9*5]); got != "0009030101" {
		t.Fatalf("TapeAlert flag 9: %s", got)
	}
	r = exec(t, d, "4d 00 2e 00 00 00 00 01 60 00", nil)
	if got := hex.EncodeToString(r.Data[4+8*5 : 4+9*5]); got != "0009030100" {
		t.Fatalf("TapeAlert flag 9 not cleared by reading: %s", got)
	}
}

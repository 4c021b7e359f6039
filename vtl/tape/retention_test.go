package tape

import (
	"bytes"
	"testing"

	"github.com/backstop-appliance/backstop/vtl/cartridge"
)

// TestRetainedDrive: a cartridge of an immutable library refuses, like a
// WORM cartridge, the overwrite and the erase of data under retention
// (DATA PROTECT, WORM MEDIUM - OVERWRITE ATTEMPTED) and accepts appends.
func TestRetainedDrive(t *testing.T) {
	d, _ := testDrive(t, cartridge.Options{ImmutableDays: 1})
	rec := bytes.Repeat([]byte{0x5a}, 4096)
	const wormSense = "70 00 07 00 00 00 00 0a 00 00 00 00 30 0c 00 00 00 00"
	for _, s := range []struct {
		name string
		cdb  string
		out  []byte
		want want
	}{
		{"write", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"filemark", "10 00 00 00 01 00", nil, want{status: 0}},
		{"rewind", "01 00 00 00 00 00", nil, want{status: 0}},
		{"relabel: write at BOT refused", "0a 00 00 10 00 00", rec, want{cc, wormSense, ""}},
		{"filemark at BOT refused", "10 00 00 00 01 00", nil, want{cc, wormSense, ""}},
		{"erase refused", "19 01 00 00 00 00", nil, want{cc, wormSense, ""}},
		{"locate to EOD", "92 18 00 00 00 00 00 00 00 00 00 00 00 00 00 00", nil, want{status: 0}},
		{"append", "0a 00 00 10 00 00", rec, want{status: 0}},
		{"read position: after the 3 objects", "34 00 00 00 00 00 00 00 00 00", nil, want{0, "", "00 00 00 00 00 00 00 03"}},
	} {
		check(t, s.name, exec(t, d, s.cdb, s.out), s.want)
	}
}

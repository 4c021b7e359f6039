package tape

import (
	"context"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// FuzzDrive runs arbitrary CDBs and Data-Out through a drive with a
// small cartridge loaded: no panic, GOOD or CHECK CONDITION with sense
// that parses, and the drive keeps answering TEST UNIT READY.
func FuzzDrive(f *testing.F) {
	for _, s := range []string{
		"0a 00 00 04 00 00", "0a 01 00 00 02 00", "08 00 00 04 00 00", "08 01 00 00 03 00", "10 00 00 00 01 00",
		"11 00 ff ff fd 00", "11 01 00 00 02 00", "11 03 00 00 00 00", "2b 00 00 00 00 00 01 00 00 00",
		"92 08 00 00 00 00 00 00 00 00 00 01 00 00 00 00", "34 06 00 00 00 00 00 00 00 00", "34 08 00 00 00 00 00 00 20 00",
		"15 10 00 00 0c 00", "1a 00 3f ff ff 00", "44 01 00 00 00 00 00 01 00 00", "8c 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00",
		"8d 00 00 00 00 00 00 00 00 00 00 00 00 0d 00 00", "19 00 00 00 00 00", "1b 00 00 00 00 00", "1b 00 00 00 01 00", "01 00 00 00 00 00",
		"05 01 00 00 00 00", "4d 00 2e 00 00 00 00 01 60 00",
	} {
		f.Add(cdb(s), cdb("00 00 00 09 08 00 01 00 04 54 45 53 54 00 00 10 08 00 00 00 00 00 00 02 00"))
	}
	o := chunkstore.DefaultOptions()
	o.Workers = 1
	dir := f.TempDir()
	eng, err := chunkstore.Open(context.Background(), dir, o)
	if err != nil {
		f.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		f.Fatal(err)
	}
	d, err := New(eng, Options{Serial: "HUFUZZ0001"})
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close(context.Background())
	if err := d.Insert(context.Background(), &Medium{Barcode: "FUZZ01L6", Store: "vtl", Options: cartridge.Options{Capacity: 4 << 20}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, c, data []byte) {
		r := d.Execute(context.Background(), &scsi.Command{CDB: c, Nexus: "F", DataOut: data})
		switch r.Status {
		case scsi.StatusGood, scsi.StatusReservationConflict:
		case scsi.StatusCheckCondition:
			if _, err := scsi.ParseSense(r.Sense); err != nil {
				t.Fatalf("CDB % x: bad sense % x", c, r.Sense)
			}
		default:
			t.Fatalf("CDB % x: status %#x", c, r.Status)
		}
		// an unloaded cartridge is loaded again so the next input finds one
		d.Execute(context.Background(), &scsi.Command{CDB: []byte{0x1b, 0, 0, 0, 1, 0}, Nexus: "F"})
	})
}

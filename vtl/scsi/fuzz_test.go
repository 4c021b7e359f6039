package scsi

import (
	"context"
	"testing"
)

// FuzzExecute runs arbitrary CDBs and parameter data through the SPC
// core: it must never panic, and every CHECK CONDITION carries sense
// data that parses.
func FuzzExecute(f *testing.F) {
	for _, s := range []string{
		"12 01 83 00 ff 00", "1a 08 3f ff ff 00", "15 10 00 00 0c 00", "4d 00 0c 00 00 00 01 00 ff 00",
		"5f 00 00 00 00 00 00 00 18 00", "5e 00 00 00 00 00 00 00 ff 00", "03 00 00 00 12 00", "55 10 00 00 00 00 00 00 10 00",
	} {
		f.Add(hx(s), hx("00 00 00 00 0a 06 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 aa"))
	}
	u := testUnit()
	f.Fuzz(func(t *testing.T, cdb, data []byte) {
		r := u.Execute(context.Background(), &Command{CDB: cdb, Nexus: "F", DataOut: data})
		switch r.Status {
		case StatusGood, StatusReservationConflict:
		case StatusCheckCondition:
			if _, err := ParseSense(r.Sense); err != nil || len(r.Sense) != SenseLen {
				t.Fatalf("CDB % x: bad sense % x", cdb, r.Sense)
			}
		default:
			t.Fatalf("CDB % x: status %#x", cdb, r.Status)
		}
		if c, err := ParseCDB(cdb); err == nil && len(c) != CDBLen(cdb[0]) {
			t.Fatalf("CDB % x parsed to %d bytes", cdb, len(c))
		}
	})
}

package scsi

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
)

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// testUnit is a unit with one mode page, one log page and a command that
// counts as a write.
func testUnit() *Unit {
	page := []byte{0x0a, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	counter := uint64(7)
	return NewUnit(Config{
		Identity: Identity{DeviceType: 0x01, Removable: true, Vendor: "ACME", Product: "Widget", Revision: "0001", Serial: "SN1", NAA: 0x3000000000000042},
		Commands: map[byte]Entry{
			0x0a: {Handle: func(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) { return nil, nil }, Access: AccessWrite},
			0x08: {Handle: func(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) { return []byte{1}, nil }, Access: AccessRead},
		},
		Mode: ModeConfig{Pages: []ModePage{{Code: 0x0a, Current: func() []byte { return page },
			Changeable: []byte{0, 0, 0x0f, 0, 0, 0, 0, 0},
			Set:        func(p []byte, off int) error { copy(page, p); return nil }}}},
		Logs: []LogPage{{Code: 0x0c, Params: func() []LogParam {
			return []LogParam{Counter(0, counter), Counter(1, 2*counter), Counter(3, 3)}
		}, Reset: func() { counter = 0 }}},
	})
}

type step struct {
	name   string
	nexus  string
	cdb    string
	out    string
	status byte
	sense  string // exact sense bytes
	data   string // exact Data-In
}

func runSteps(t *testing.T, u *Unit, steps []step) {
	t.Helper()
	for _, s := range steps {
		n := s.nexus
		if n == "" {
			n = "A"
		}
		r := u.Execute(context.Background(), &Command{CDB: hx(s.cdb), Nexus: n, DataOut: hx(s.out)})
		if r.Status != s.status {
			t.Fatalf("%s: status %#x, want %#x (sense % x)", s.name, r.Status, s.status, r.Sense)
		}
		if s.sense != "" && !bytes.Equal(r.Sense, hx(s.sense)) {
			t.Fatalf("%s: sense\n got % x\nwant % x", s.name, r.Sense, hx(s.sense))
		}
		if s.data != "" && !bytes.Equal(r.Data, hx(s.data)) {
			t.Fatalf("%s: data\n got % x\nwant % x", s.name, r.Data, hx(s.data))
		}
	}
}

const (
	cc       = StatusCheckCondition
	conflict = StatusReservationConflict
	noSense  = "70 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00"
)

func TestCDBChecks(t *testing.T) {
	u := testUnit()
	runSteps(t, u, []step{
		{name: "unknown opcode", cdb: "c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00 00 00"},
		{name: "vendor group", cdb: "e0 00 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00 00 00"},
		{name: "short CDB", cdb: "5a 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 00"},
		{name: "empty CDB", cdb: "", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 00"},
		{name: "link bit", cdb: "00 00 00 00 00 01", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 05"},
		{name: "naca in a 10-byte CDB", cdb: "5a 00 0a 00 00 00 00 00 ff 04", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ca 00 09"},
		{name: "16-byte CDB padded", cdb: "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", status: 0},
	})
}

func TestInquiry(t *testing.T) {
	u := testUnit()
	runSteps(t, u, []step{
		{name: "standard, 5 bytes", cdb: "12 00 00 00 05 00", data: "01 80 06 02 5b"},
		{name: "supported pages", cdb: "12 01 00 00 ff 00", data: "01 00 00 03 00 80 83"},
		{name: "serial", cdb: "12 01 80 00 ff 00", data: "01 80 00 03 53 4e 31"},
		{name: "device identification", cdb: "12 01 83 00 ff 00",
			data: "01 83 00 2b 01 03 00 08 30 00 00 00 00 00 00 42 02 01 00 1b 41 43 4d 45 20 20 20 20 57 69 64 67 65 74 20 20 20 20 20 20 20 20 20 20 53 4e 31"},
		{name: "unknown page", cdb: "12 01 99 00 ff 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02"},
		{name: "reserved bit", cdb: "12 04 00 00 ff 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ca 00 01"},
	})
}

func TestUnitAttention(t *testing.T) {
	u := testUnit()
	u.Reset(ResetNexusLoss, "A")
	u.Reset(ResetNexusLoss, "B")
	runSteps(t, u, []step{
		{name: "inquiry passes", cdb: "12 00 00 00 24 00", status: 0},
		{name: "TUR reports power on", cdb: "00 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00"},
		{name: "then ready", cdb: "00 00 00 00 00 00", status: 0},
		{name: "B: request sense returns it", nexus: "B", cdb: "03 00 00 00 12 00", data: "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00"},
		{name: "B: cleared", nexus: "B", cdb: "00 00 00 00 00 00", status: 0},
		{name: "B: request sense, nothing", nexus: "B", cdb: "03 00 00 00 12 00", data: noSense},
		{name: "descriptor sense refused", cdb: "03 01 00 00 12 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 01"},
	})
	u.Locked(func() { u.Attention(CodeNotReadyToReady) })
	runSteps(t, u, []step{
		{name: "media change for A", cdb: "08 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 28 00 00 00 00 00"},
		{name: "media change for B", nexus: "B", cdb: "00 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 28 00 00 00 00 00"},
	})
	u.Reset(ResetLUN, "A")
	runSteps(t, u, []step{
		{name: "LUN reset seen by B", nexus: "B", cdb: "00 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00"},
	})
}

func TestModeAndLog(t *testing.T) {
	u := testUnit()
	runSteps(t, u, []step{
		{name: "mode sense 6", cdb: "1a 08 0a 00 ff 00", data: "0b 00 00 00 0a 06 00 00 00 00 00 00"},
		{name: "mode sense 10", cdb: "5a 08 0a 00 00 00 00 00 ff 00", data: "00 0e 00 00 00 00 00 00 0a 06 00 00 00 00 00 00"},
		{name: "changeable", cdb: "1a 08 4a 00 ff 00", data: "0b 00 00 00 00 00 0f 00 00 00 00 00"},
		{name: "all pages", cdb: "1a 08 3f 00 ff 00", data: "0b 00 00 00 0a 06 00 00 00 00 00 00"},
		{name: "alloc 2", cdb: "1a 08 0a 00 02 00", data: "0b 00"},
		{name: "bad subpage", cdb: "1a 08 0a 05 ff 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 03"},
		{name: "select changeable bits", cdb: "15 10 00 00 0c 00", out: "00 00 00 00 0a 06 05 00 00 00 00 00", status: 0},
		{name: "reads back", cdb: "1a 08 0a 00 ff 00", data: "0b 00 00 00 0a 06 05 00 00 00 00 00"},
		{name: "select a fixed bit", cdb: "15 10 00 00 0c 00", out: "00 00 00 00 0a 06 10 00 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8c 00 06"},
		{name: "select a wrong page length", cdb: "15 10 00 00 0a 00", out: "00 00 00 00 0a 04 05 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 00 05"},
		{name: "select an unknown page", cdb: "15 10 00 00 0c 00", out: "00 00 00 00 0b 06 00 00 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8d 00 04"},
		{name: "select a block descriptor the device has not", cdb: "15 10 00 00 0c 00", out: "00 00 00 08 00 00 00 00 00 00 02 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 00 03"},
		{name: "select with SP", cdb: "15 11 00 00 0c 00", out: "00 00 00 00 0a 06 05 00 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 01"},
		{name: "select short data", cdb: "15 10 00 00 0c 00", out: "00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 1a 00 00 00 00 00"},
		{name: "select 10", cdb: "55 10 00 00 00 00 00 00 10 00", out: "00 00 00 00 00 00 00 00 0a 06 03 00 00 00 00 00", status: 0},
		{name: "log pages", cdb: "4d 00 00 00 00 00 00 00 ff 00", data: "00 00 00 02 00 0c"},
		{name: "log page", cdb: "4d 00 0c 00 00 00 00 00 ff 00", data: "0c 00 00 24 00 00 02 08 00 00 00 00 00 00 00 07 00 01 02 08 00 00 00 00 00 00 00 0e 00 03 02 08 00 00 00 00 00 00 00 03"},
		{name: "log page from parameter 1", cdb: "4d 00 0c 00 00 00 01 00 ff 00", data: "0c 00 00 18 00 01 02 08 00 00 00 00 00 00 00 0e 00 03 02 08 00 00 00 00 00 00 00 03"},
		{name: "log parameter pointer beyond", cdb: "4d 00 0c 00 00 00 09 00 ff 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 05"},
		{name: "log select reset", cdb: "4c 02 00 00 00 00 00 00 00 00", status: 0},
		{name: "log page after reset", cdb: "4d 00 0c 00 00 00 00 00 0c 00", data: "0c 00 00 24 00 00 02 08 00 00 00 00"},
		{name: "log select with data", cdb: "4c 02 00 00 00 00 00 00 04 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 07"},
	})
}

func TestReserveRelease(t *testing.T) {
	u := testUnit()
	runSteps(t, u, []step{
		{name: "A reserves", cdb: "16 00 00 00 00 00"},
		{name: "B is in conflict", nexus: "B", cdb: "08 00 00 00 00 00", status: conflict},
		{name: "B may inquire", nexus: "B", cdb: "12 00 00 00 24 00"},
		{name: "B cannot reserve", nexus: "B", cdb: "56 00 00 00 00 00 00 00 00 00", status: conflict},
		{name: "B's release does nothing", nexus: "B", cdb: "17 00 00 00 00 00"},
		{name: "still in conflict", nexus: "B", cdb: "0a 00 00 00 00 00", status: conflict},
		{name: "A releases", cdb: "57 00 00 00 00 00 00 00 00 00"},
		{name: "B may write", nexus: "B", cdb: "0a 00 00 00 00 00"},
		{name: "third-party reserve refused", cdb: "16 01 00 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 00 01"},
	})
	// a nexus loss drops the reservation
	runSteps(t, u, []step{{name: "A reserves again", cdb: "16 00 00 00 00 00"}})
	u.Reset(ResetNexusLoss, "A")
	runSteps(t, u, []step{{name: "free after A's nexus loss", nexus: "B", cdb: "0a 00 00 00 00 00"}})
}

// prOut builds a PERSISTENT RESERVE OUT parameter list.
func prOut(key, saKey string) string { return key + saKey + "00 00 00 00 00 00 00 00" }

func TestPersistentReservations(t *testing.T) {
	u := testUnit()
	const (
		k0 = "00 00 00 00 00 00 00 00"
		kA = "00 00 00 00 00 00 00 aa"
		kB = "00 00 00 00 00 00 00 bb"
		kC = "00 00 00 00 00 00 00 cc"
	)
	runSteps(t, u, []step{
		{name: "no keys", cdb: "5e 00 00 00 00 00 00 00 ff 00", data: "00 00 00 00 00 00 00 00"},
		{name: "A registers", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(k0, kA)},
		{name: "B registers", nexus: "B", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(k0, kB)},
		{name: "B registers with a wrong key", nexus: "B", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(kC, kC), status: conflict},
		{name: "C (unregistered) with a key", nexus: "C", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(kC, kC), status: conflict},
		{name: "read keys", cdb: "5e 00 00 00 00 00 00 00 ff 00", data: "00 00 00 02 00 00 00 10" + kA + kB},
		{name: "A reserves write exclusive", cdb: "5f 01 01 00 00 00 00 00 18 00", out: prOut(kA, k0)},
		{name: "read reservation", cdb: "5e 01 00 00 00 00 00 00 ff 00", data: "00 00 00 02 00 00 00 10" + kA + "00 00 00 00 00 01 00 00"},
		{name: "B may read", nexus: "B", cdb: "08 00 00 00 00 00"},
		{name: "B may not write", nexus: "B", cdb: "0a 00 00 00 00 00", status: conflict},
		{name: "B cannot reserve", nexus: "B", cdb: "5f 01 01 00 00 00 00 00 18 00", out: prOut(kB, k0), status: conflict},
		{name: "RESERVE(6) conflicts with it", nexus: "B", cdb: "16 00 00 00 00 00", status: conflict},
		{name: "A writes", cdb: "0a 00 00 00 00 00"},
		{name: "release with the wrong type", cdb: "5f 02 03 00 00 00 00 00 18 00", out: prOut(kA, k0), status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 04 00 00 00 00"},
		{name: "B preempts A", nexus: "B", cdb: "5f 04 03 00 00 00 00 00 18 00", out: prOut(kB, kA)},
		{name: "A sees registrations preempted", cdb: "00 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 2a 05 00 00 00 00"},
		{name: "A is in conflict (exclusive access)", cdb: "08 00 00 00 00 00", status: conflict},
		{name: "keys after preempt", cdb: "5e 00 00 00 00 00 00 00 ff 00", data: "00 00 00 03 00 00 00 08" + kB},
		{name: "reservation after preempt", cdb: "5e 01 00 00 00 00 00 00 ff 00", data: "00 00 00 03 00 00 00 10" + kB + "00 00 00 00 00 03 00 00"},
		{name: "report capabilities", cdb: "5e 02 00 00 00 00 00 00 ff 00", data: "00 08 00 80 ea 01 00 00"},
		{name: "B releases", nexus: "B", cdb: "5f 02 03 00 00 00 00 00 18 00", out: prOut(kB, k0)},
		{name: "A reads again", cdb: "08 00 00 00 00 00"},
		{name: "A registers again and clears", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(k0, kA)},
		{name: "clear", cdb: "5f 03 00 00 00 00 00 00 18 00", out: prOut(kA, k0)},
		{name: "B sees reservations preempted", nexus: "B", cdb: "00 00 00 00 00 00", status: cc, sense: "70 00 06 00 00 00 00 0a 00 00 00 00 2a 03 00 00 00 00"},
		{name: "no keys after clear", cdb: "5e 00 00 00 00 00 00 00 ff 00", data: "00 00 00 05 00 00 00 00"},
		{name: "bad service action", cdb: "5f 07 00 00 00 00 00 00 18 00", out: prOut(k0, k0), status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cc 00 01"},
		{name: "bad parameter length", cdb: "5f 00 00 00 00 00 00 00 10 00", out: prOut(k0, kA), status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 1a 00 00 00 00 00"},
		{name: "APTPL refused", cdb: "5f 00 00 00 00 00 00 00 18 00", out: k0 + kA + "00 00 00 00 01 00 00 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 88 00 14"},
		{name: "bad type", cdb: "5f 00 00 00 00 00 00 00 18 00", out: prOut(k0, kA)},
		{name: "reserve type 2", cdb: "5f 01 02 00 00 00 00 00 18 00", out: prOut(kA, k0), status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 02"},
	})
}

func TestPreventAllow(t *testing.T) {
	u := testUnit()
	runSteps(t, u, []step{
		{name: "prevent", cdb: "1e 00 00 00 01 00"},
		{name: "bad bits", cdb: "1e 00 00 00 04 00", status: cc, sense: "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ca 00 04"},
	})
	if !u.Prevented() {
		t.Fatal("not prevented")
	}
	runSteps(t, u, []step{{name: "allow", cdb: "1e 00 00 00 00 00"}})
	if u.Prevented() {
		t.Fatal("still prevented")
	}
}

func TestSenseRoundTrip(t *testing.T) {
	for _, e := range []*SenseError{
		InvalidField(4, 3), InvalidParam(300, -1), NewSense(KeyBlankCheck, CodeEndOfData),
		{Key: KeyNoSense, ASC: 0, ASCQ: 1, Filemark: true, InfoValid: true, Info: 0xfffffffe},
	} {
		got, err := ParseSense(e.Bytes())
		if err != nil || got.Error() != e.Error() || got.Info != e.Info || got.Filemark != e.Filemark {
			t.Fatalf("%v -> %v (%v)", e, got, err)
		}
	}
}

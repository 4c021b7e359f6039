package tape

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// The acknowledgment tests (docs/durability.md): a commit that fails
// reaches the host as CHECK CONDITION with the sense a full or failing
// tape gives, is counted, and leaves the cartridge at its last committed
// version; records buffered when a session ends are committed.

// failingEngine is an engine whose new items cannot be created once fail
// is set: an I/O error under the store, injected.
type failingEngine struct {
	*chunkstore.Engine
	fail error
}

func (e *failingEngine) Create(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Writer, error) {
	if e.fail != nil {
		return nil, e.fail
	}
	return e.Engine.Create(ctx, store, name, opts)
}

func commitDrive(t *testing.T, capacity int64) (*Drive, *failingEngine, *dedup.CommitFailures) {
	t.Helper()
	o := chunkstore.DefaultOptions()
	o.Workers, o.Capacity = 2, capacity
	real, err := chunkstore.Open(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	if _, err := real.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	eng := &failingEngine{Engine: real}
	var failures dedup.CommitFailures
	d, err := New(eng, Options{Serial: "HU10000009", NAA: 0x5000000000000009, Failures: &failures})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Insert(context.Background(), &Medium{Barcode: "ACK001L6", Store: "vtl", Options: cartridge.Options{Capacity: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	d.Reset(scsi.ResetNexusLoss, nexus)
	exec(t, d, "00 00 00 00 00 00", nil)
	return d, eng, &failures
}

// record is one variable-block record of n random bytes.
func record(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func write6(t *testing.T, d *Drive, data []byte) scsi.Response {
	t.Helper()
	n := len(data)
	return d.Execute(context.Background(), &scsi.Command{CDB: []byte{0x0a, 0, byte(n >> 16), byte(n >> 8), byte(n), 0},
		Nexus: nexus, DataOut: data, ExpectedLen: uint32(n)})
}

func senseIs(t *testing.T, what string, r scsi.Response, key scsi.SenseKey, code scsi.Code) {
	t.Helper()
	if r.Status != scsi.StatusCheckCondition || len(r.Sense) < 14 {
		t.Fatalf("%s: status %#x sense % x, want CHECK CONDITION", what, r.Status, r.Sense)
	}
	if got := scsi.SenseKey(r.Sense[2] & 0x0f); got != key || scsi.Code(r.Sense[12])<<8|scsi.Code(r.Sense[13]) != code {
		t.Fatalf("%s: sense % x, want key %#x code %04x", what, r.Sense, key, code)
	}
}

func segmentsOf(t *testing.T, d *Drive) []chunkstore.Item {
	t.Helper()
	its, err := d.eng.List(context.Background(), "vtl", "ACK001L6/")
	if err != nil {
		t.Fatal(err)
	}
	return its
}

// TestFilemarkOnFullStore: records written in buffered mode are GOOD;
// the WRITE FILEMARKS that commits them on a full store answers VOLUME
// OVERFLOW, and nothing of the lost records is left as a segment.
func TestFilemarkOnFullStore(t *testing.T) {
	d, _, failures := commitDrive(t, 2<<20)
	r := write6(t, d, record(1, 1<<20))
	if r.Status != scsi.StatusGood {
		t.Fatalf("first buffered WRITE: %#x % x", r.Status, r.Sense)
	}
	check(t, "filemark of what fits", exec(t, d, "10 00 00 00 01 00", nil), want{status: scsi.StatusGood})
	for i := range 4 {
		r = write6(t, d, record(uint64(10+i), 1<<20))
		if r.Status != scsi.StatusGood {
			break // the engine may report full at a WRITE already
		}
	}
	if r.Status == scsi.StatusGood {
		r = exec(t, d, "10 00 00 00 01 00", nil)
	}
	senseIs(t, "commit on a full store", r, scsi.KeyVolumeOverflow, scsi.CodeEndOfPartition)
	if got := failures.Counts(); len(got) != 1 || got[0].Protocol != "iscsi" || got[0].Reason != dedup.ReasonFull || got[0].Count != 1 {
		t.Fatalf("failures counted: %+v, want one iscsi/full", got)
	}
	if segs := segmentsOf(t, d); len(segs) != 1 || segs[0].Size > 2<<20 {
		t.Fatalf("segments after the failed commit: %+v, want the first one only", segs)
	}
}

// TestWriteEngineError: an engine I/O error is MEDIUM ERROR, WRITE ERROR
// (not a hardware error), counted, and raises TapeAlert 06h.
func TestWriteEngineError(t *testing.T) {
	d, eng, failures := commitDrive(t, 0)
	eng.fail = errors.New("injected: input/output error")
	senseIs(t, "WRITE on a failing store", write6(t, d, record(2, 4096)), scsi.KeyMediumError, scsi.CodeWriteError)
	if got := failures.Counts(); len(got) != 1 || got[0].Reason != dedup.ReasonIO {
		t.Fatalf("failures counted: %+v, want one iscsi/io", got)
	}
	if d.alerts&(1<<5) == 0 {
		t.Fatal("TapeAlert 06h (write failure) not raised")
	}
	eng.fail = nil
	check(t, "WRITE after the store recovers", write6(t, d, record(3, 4096)), want{status: scsi.StatusGood})
}

// TestSessionEndCommits: GOOD for a buffered WRITE promises the record is
// in the drive's buffer; when the host's session ends the drive commits
// it, as a real drive writes its buffer out.
func TestSessionEndCommits(t *testing.T) {
	d, _, _ := commitDrive(t, 0)
	data := record(4, 64<<10)
	check(t, "buffered WRITE", write6(t, d, data), want{status: scsi.StatusGood})
	if segs := segmentsOf(t, d); len(segs) != 0 {
		t.Fatalf("segments before the session ends: %+v", segs)
	}
	d.Reset(scsi.ResetNexusLoss, nexus)
	segs := segmentsOf(t, d)
	if len(segs) != 1 || segs[0].Size < int64(len(data)) {
		t.Fatalf("segments after the session ended: %+v, want the record committed", segs)
	}
}

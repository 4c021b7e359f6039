package iscsi_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// startLibraryCap is startLibrary on an engine of the given capacity,
// with the drives' commit failures counted.
func startLibraryCap(t *testing.T, capacity int64, failures *dedup.CommitFailures) *libFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve = capacity, 0
	eng, err := chunkstore.Open(ctx, filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := library.Open(ctx, filepath.Join(dir, "vtl"), eng, library.Options{Default: true, Failures: failures})
	if err != nil {
		t.Fatal(err)
	}
	opts := iscsi.DefaultOptions()
	opts.Addr = "127.0.0.1:0"
	srv := iscsi.New(libTargets{libs}, opts)
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(t, srv)
		libs.Close(ctx)
		eng.Close()
	})
	ts := libs.Targets()
	if len(ts) == 0 {
		t.Fatal("no default library")
	}
	return &libFixture{addr: srv.Addr(), target: ts[0].Name, eng: eng}
}

// segments lists the items of cartridge barcode in any library store.
func (f *libFixture) segments(t *testing.T, barcode string) []chunkstore.Item {
	t.Helper()
	var out []chunkstore.Item
	for _, st := range f.eng.Stores() {
		if !strings.HasPrefix(st.Name, "vtl-") {
			continue
		}
		its, err := f.eng.List(context.Background(), st.Name, barcode+"/")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, its...)
	}
	return out
}

// TestFullStoreOverISCSI: records a host streams onto a full appliance
// end in CHECK CONDITION, VOLUME OVERFLOW (at the WRITE that meets the
// full engine or at the WRITE FILEMARKS that commits), counted once, and
// no segment of the lost records exists.
func TestFullStoreOverISCSI(t *testing.T) {
	var failures dedup.CommitFailures
	f := startLibraryCap(t, 3<<20, &failures)
	c := cfg()
	c.TargetName = f.target
	s := f.dial(t, c)
	barcode := loadFirstSlot(t, s)
	do(t, s, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	var sense []byte
	for i := range 8 {
		r, err := s.Command(ctxT(t), 1, write6(1<<20), randomRecord(uint64(100+i), 1<<20), 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 0 {
			sense = r.Sense
			break
		}
	}
	if sense == nil {
		r, err := s.Command(ctxT(t), 1, []byte{0x10, 0, 0, 0, 1, 0}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 2 {
			t.Fatalf("WRITE FILEMARKS of 8 MiB on a 3 MiB appliance: status %#x", r.Status)
		}
		sense = r.Sense
	}
	if len(sense) < 14 || sense[2]&0x0f != 0x0d {
		t.Fatalf("sense % x, want VOLUME OVERFLOW", sense)
	}
	got := failures.Counts()
	if len(got) != 1 || got[0].Protocol != "iscsi" || got[0].Reason != dedup.ReasonFull || got[0].Count != 1 {
		t.Fatalf("failures counted %+v, want one iscsi/full", got)
	}
	if segs := f.segments(t, barcode); len(segs) != 0 {
		t.Fatalf("segments of the lost records: %+v", segs)
	}
}

// randomRecord is n bytes that neither compress nor dedup.
func randomRecord(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestLogoutCommitsBuffer: GOOD for a WRITE in buffered mode means the
// record is in the drive's buffer; when the host logs out, the drive
// commits it, without waiting for another host's command.
func TestLogoutCommitsBuffer(t *testing.T) {
	f := startLibraryCap(t, 4<<30, nil)
	c := cfg()
	c.TargetName = f.target
	s := f.dial(t, c)
	barcode := loadFirstSlot(t, s)
	do(t, s, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)
	for i := range 3 {
		do(t, s, 1, write6(65536), record(i, 65536), 0)
	}
	if segs := f.segments(t, barcode); len(segs) != 0 {
		t.Fatalf("segments while buffered: %+v", segs)
	}
	if err := s.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		segs := f.segments(t, barcode)
		if len(segs) == 1 && segs[0].Size >= 3*65536 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments 10 s after logout: %+v, want the 3 buffered records committed", segs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

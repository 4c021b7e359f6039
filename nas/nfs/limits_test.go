package nfs

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// A stranger that announces a record and never sends it holds a call
// place only for RecordTimeout: with one place in the whole server, a
// client behind it is still answered, and the stranger is cut off.
func TestStalledRecordReleasesItsPlace(t *testing.T) {
	a := newAppliance(t, everyone)
	o := DefaultOptions("127.0.0.1:0")
	o.MaxCalls, o.RecordTimeout = 1, 300*time.Millisecond
	srv := New(a.shares, o)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	stranger, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], 0x80000000|maxIO) // 1 MiB announced, none sent
	if _, err := stranger.Write(h[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, srv.Addr()) // its calls time out after 30 s
	if st, _ := rc.mnt("/backup"); st != mnt3OK {
		t.Fatalf("MNT behind a stalled stranger: %d", st)
	}
	if err := stranger.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the stalled connection was not closed: %v", err)
	}
}

// A header may claim up to the record limit; the server allocates as the
// bytes arrive, and refuses a record past the limit.
func TestRecordLimit(t *testing.T) {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], 0x80000000|(maxRecord+1))
	if _, err := readFragments(io.MultiReader(), h); err == nil {
		t.Fatal("a record past the limit was accepted")
	}
	binary.BigEndian.PutUint32(h[:], 0x80000000|maxIO)
	if _, err := readFragments(io.LimitReader(zeros{}, 10), h); err == nil {
		t.Fatal("a short record was accepted")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

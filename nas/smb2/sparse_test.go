package smb2

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

func (rc *rawConn) zeroData(t *testing.T, fid fileID, off, beyond uint64) Status {
	t.Helper()
	b := fileBody(57, 56, 8, func(w *buf) {
		le.PutUint32(w.b[4:], fsctlSetZeroData)
		le.PutUint32(w.b[24:], headerSize+56)
		le.PutUint32(w.b[28:], 16)
		le.PutUint32(w.b[44:], 0)
		le.PutUint32(w.b[48:], 1)
		w.u64(off)
		w.u64(beyond)
	})
	putFileID(b[8:], fid)
	st, _ := rc.do(t, cmdIoctl, b)
	return st
}

// TestSetZeroData: FSCTL_SET_ZERO_DATA zeroes the range within the file
// and never extends it; a range ending before it starts is refused
// ([MS-FSA] 2.1.5.9.35).
func TestSetZeroData(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	fs := vfs.NewMemFS(1 << 30)
	rc := newRawConn(t, srv, 1, nas.Share{Name: "data", FS: fs, Access: nas.AccessReadWrite})
	fid := rc.create(t, "z.bin")
	rc.writeAt(t, fid, 0, bytes.Repeat([]byte("x"), 100))
	if st := rc.zeroData(t, fid, 10, 50); st != StatusSuccess {
		t.Fatalf("zero [10,50): %v", st)
	}
	if st := rc.zeroData(t, fid, 90, 1<<40); st != StatusSuccess {
		t.Fatalf("zero [90,1T): %v", st)
	}
	if st := rc.zeroData(t, fid, 60, 50); st != StatusInvalidParameter {
		t.Errorf("zero [60,50): %v, want STATUS_INVALID_PARAMETER", st)
	}
	rc.close(t, fid)
	want := bytes.Repeat([]byte("x"), 100)
	copy(want[10:50], make([]byte, 40))
	copy(want[90:], make([]byte, 10))
	f, err := fs.Open(t.Context(), "z.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, 200)
	n, _ := f.ReadAt(got, 0)
	if !bytes.Equal(got[:n], want) {
		t.Fatalf("after zeroing: %q", got[:n])
	}
}

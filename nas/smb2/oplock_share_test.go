package smb2

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Oplocks against share modes, byte-range locks and renames, as Windows
// answers them (smbtorture smb2.oplock.exclusive1, batch1, brl1, doc,
// batch19).

func sharedOplockConns(t *testing.T) (a, b *rawConn) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { shutdown(t, srv) })
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	return newRawConn(t, srv, 1, share), newRawConn(t, srv, 2, share)
}

// openOplock creates name with an oplock and share access (0: none).
func (rc *rawConn) openOplock(t *testing.T, name string, oplock byte, share uint32) fileID {
	t.Helper()
	q := createBody(name, dispOpenIf, 0)
	q[3] = oplock
	le.PutUint32(q[32:], share)
	st, body := rc.do(t, cmdCreate, q)
	if st != StatusSuccess || body[2] != oplock {
		t.Fatalf("open %s: %v, oplock %#x", name, st, body[2])
	}
	return getFileID(body[64:])
}

// expectBreak reads a break notification for fid to level.
func (rc *rawConn) expectBreak(t *testing.T, fid fileID, level byte) {
	t.Helper()
	rs := rc.recvFrame(t, 10*time.Second)
	if len(rs) != 1 || rs[0].h.Command != cmdOplockBreak || rs[0].body[2] != level || getFileID(rs[0].body[8:]) != fid {
		t.Fatalf("want a break of %v to %#x, got %+v", fid, level, rs)
	}
}

// ackBreak acknowledges a break of fid to level.
func (rc *rawConn) ackBreak(t *testing.T, fid fileID, level byte) {
	t.Helper()
	ack := make([]byte, 24)
	le.PutUint16(ack, 24)
	ack[2] = level
	putFileID(ack[8:], fid)
	if st, _ := rc.do(t, cmdOplockBreak, ack); st != StatusSuccess {
		t.Fatalf("acknowledgement: %v", st)
	}
}

// TestOplockSharingViolation: an open that meets a sharing violation
// breaks no exclusive oplock; a batch oplock breaks to level II (its
// holder may close), then the open fails. Afterwards a byte-range lock
// through the level II holder breaks its own level II to none.
func TestOplockSharingViolation(t *testing.T) {
	a, b := sharedOplockConns(t)
	a.openOplock(t, "ex.bin", oplockExclusive, 0)
	if st, _ := b.do(t, cmdCreate, createBody("ex.bin", dispOpenIf, 0)); st != StatusSharingViolation {
		t.Fatalf("second open of ex.bin: %v", st)
	}
	if !a.quiet(t, 200*time.Millisecond) {
		t.Fatal("an exclusive oplock broke for an open that meets a sharing violation")
	}

	fid := a.openOplock(t, "batch.bin", oplockBatch, 0)
	b.send(t, cmdCreate, createBody("batch.bin", dispOpenIf, 0))
	if rs := b.recvFrame(t, 10*time.Second); rs[0].h.Status != StatusPending {
		t.Fatalf("second open of batch.bin: %v, want an interim STATUS_PENDING", rs[0].h.Status)
	}
	a.expectBreak(t, fid, oplockLevelII)
	a.ackBreak(t, fid, oplockLevelII)
	if rs := b.recvFrame(t, 10*time.Second); rs[0].h.Status != StatusSharingViolation {
		t.Fatalf("second open of batch.bin after the break: %v", rs[0].h.Status)
	}

	lock := fileBody(48, 24, 8, func(w *buf) {
		le.PutUint16(w.b[2:], 1)
		w.u64(0)
		w.u64(4)
		w.u32(lockExclusive | lockFailImmediately)
		w.u32(0)
	})
	putFileID(lock[8:], fid)
	a.send(t, cmdLock, lock)
	var sawBreak, sawLock bool
	for i := 0; i < 2; i++ {
		rs := a.recvFrame(t, 10*time.Second)
		switch rs[0].h.Command {
		case cmdOplockBreak:
			sawBreak = rs[0].body[2] == oplockNone && getFileID(rs[0].body[8:]) == fid
		case cmdLock:
			sawLock = rs[0].h.Status == StatusSuccess
		}
	}
	if !sawBreak || !sawLock {
		t.Fatalf("lock through the level II holder: break to none %v, lock granted %v", sawBreak, sawLock)
	}
}

// TestOplockDeletePending: an open of a file whose delete is pending
// fails with STATUS_DELETE_PENDING without breaking the batch oplock.
func TestOplockDeletePending(t *testing.T) {
	a, b := sharedOplockConns(t)
	fid := a.openOplock(t, "doc.bin", oplockBatch, shareRead|shareWrite|shareDelete)
	set := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileDispositionInformation
		le.PutUint32(w.b[4:], 1)
		le.PutUint16(w.b[8:], headerSize+32)
		w.u8(1)
	})
	putFileID(set[16:], fid)
	if st, _ := a.do(t, cmdSetInfo, set); st != StatusSuccess {
		t.Fatalf("set delete on close: %v", st)
	}
	q := createBody("doc.bin", dispOpen, 0)
	le.PutUint32(q[24:], accReadData)
	if st, _ := b.do(t, cmdCreate, q); st != StatusDeletePending {
		t.Fatalf("open of a delete-pending file: %v", st)
	}
	if !a.quiet(t, 200*time.Millisecond) {
		t.Fatal("the batch oplock broke for an open of a delete-pending file")
	}
}

// TestRenameIntoDirOpenForDelete: a rename into a directory that an open
// holds with DELETE access meets a sharing violation.
func TestRenameIntoDirOpenForDelete(t *testing.T) {
	a, _ := sharedOplockConns(t)
	q := createBody("dir", dispCreate, 1) // FILE_DIRECTORY_FILE, all access
	le.PutUint32(q[32:], shareRead|shareWrite)
	st, body := a.do(t, cmdCreate, q)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	dir := getFileID(body[64:])
	fid := a.openOplock(t, `dir\a.bin`, oplockNone, 0)
	name := utf16le(`dir\b.bin`)
	ren := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileRenameInformation
		le.PutUint32(w.b[4:], uint32(20+len(name)))
		le.PutUint16(w.b[8:], headerSize+32)
		w.zero(16)
		w.u32(uint32(len(name)))
		w.bytes(name)
	})
	putFileID(ren[16:], fid)
	if st, _ := a.do(t, cmdSetInfo, ren); st != StatusSharingViolation {
		t.Fatalf("rename with the directory open for DELETE: %v", st)
	}
	a.close(t, dir)
	if st, _ := a.do(t, cmdSetInfo, ren); st != StatusSuccess {
		t.Fatalf("rename after the directory's close: %v", st)
	}
}

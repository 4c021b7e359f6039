package smb2

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// step is one request of a compound a test sends.
type step struct {
	cmd     uint16
	body    []byte
	related bool
}

// reply is one response of a frame the server sent.
type reply struct {
	h    header
	body []byte
}

// sendCompound writes steps as one frame without waiting for responses.
func (rc *rawConn) sendCompound(t *testing.T, steps ...step) {
	t.Helper()
	var frame []byte
	for i, s := range steps {
		rc.mid++
		h := header{Command: s.cmd, MessageID: rc.mid, SessionID: rc.sid, TreeID: 1, Credit: 1, CreditCharge: 1}
		if s.related {
			h.Flags |= flagRelated
		}
		msg := make([]byte, headerSize)
		h.put(msg)
		msg = append(msg, s.body...)
		if i < len(steps)-1 {
			for len(msg)%8 != 0 {
				msg = append(msg, 0)
			}
			le.PutUint32(msg[20:], uint32(len(msg)))
		}
		frame = append(frame, msg...)
	}
	go func() { _ = rc.c.handleFrame(frame) }()
}

// recvFrame reads one frame the server sent and splits its responses; it
// fails the test when none comes within wait.
func (rc *rawConn) recvFrame(t *testing.T, wait time.Duration) []reply {
	t.Helper()
	_ = rc.peer.SetReadDeadline(time.Now().Add(wait))
	defer func() { _ = rc.peer.SetReadDeadline(time.Time{}) }()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.peer, hdr[:]); err != nil {
		t.Fatalf("no frame: %v", err)
	}
	frame := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
	if _, err := io.ReadFull(rc.peer, frame); err != nil {
		t.Fatal(err)
	}
	var out []reply
	for len(frame) > 0 {
		h, ok := parseHeader(frame)
		if !ok {
			t.Fatalf("not an SMB2 message: %x", frame)
		}
		n := len(frame)
		if h.NextCommand != 0 {
			n = int(h.NextCommand)
		}
		out = append(out, reply{h, frame[headerSize:n]})
		frame = frame[n:]
	}
	return out
}

// quiet says whether nothing arrives from the server within d.
func (rc *rawConn) quiet(t *testing.T, d time.Duration) bool {
	t.Helper()
	_ = rc.peer.SetReadDeadline(time.Now().Add(d))
	defer func() { _ = rc.peer.SetReadDeadline(time.Time{}) }()
	var b [1]byte
	_, err := rc.peer.Read(b[:])
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// statuses lists the statuses of replies.
func statuses(rs []reply) []Status {
	var out []Status
	for _, r := range rs {
		out = append(out, r.h.Status)
	}
	return out
}

func wantStatuses(t *testing.T, what string, rs []reply, want ...Status) {
	t.Helper()
	got := statuses(rs)
	if len(got) != len(want) {
		t.Fatalf("%s: statuses %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: statuses %v, want %v", what, got, want)
		}
	}
}

// createWith is a CREATE of name with the given access and oplock.
func createWith(name string, disp, options, access uint32, oplock byte) []byte {
	b := createBody(name, disp, options)
	b[3] = oplock
	le.PutUint32(b[24:], access)
	return b
}

var (
	relQueryInfo = fileBody(41, 40, 24, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileAllInformation
		le.PutUint32(w.b[4:], 4096)
	})
	relClose = fileBody(24, 24, 8, nil)
)

// oplockPair is two connections on one share; a holds f.txt with a
// batch oplock.
func oplockPair(t *testing.T) (a, b *rawConn, fid fileID) {
	t.Helper()
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { shutdown(t, srv) })
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	a = newRawConn(t, srv, 1, share)
	b = newRawConn(t, srv, 2, share)
	batch := createBody("f.txt", dispOpenIf, 0)
	batch[3] = oplockBatch
	st, body := a.do(t, cmdCreate, batch)
	if st != StatusSuccess || body[2] != oplockBatch {
		t.Fatalf("first open: %v, oplock %#x", st, body[2])
	}
	return a, b, getFileID(body[64:])
}

// TestStatOpenBreaksNoOplock: the Linux kernel's stat (CREATE asking for
// FILE_READ_ATTRIBUTES only, QUERY_INFO, CLOSE, related) of a file that
// another connection holds with a batch oplock completes at once in one
// frame, and the holder gets no break ([MS-FSA] 2.1.4.12).
func TestStatOpenBreaksNoOplock(t *testing.T) {
	a, b, _ := oplockPair(t)
	b.sendCompound(t,
		step{cmdCreate, createWith("f.txt", dispOpen, 0, accReadAttributes|accSynchronize, oplockNone), false},
		step{cmdQueryInfo, relQueryInfo, true},
		step{cmdClose, relClose, true})
	rs := b.recvFrame(t, 10*time.Second)
	wantStatuses(t, "stat compound", rs, StatusSuccess, StatusSuccess, StatusSuccess)
	if !a.quiet(t, 200*time.Millisecond) {
		t.Fatal("the holder of the batch oplock got a break for an attribute-only open")
	}
}

// TestCompoundInterimEndsFrame: a compound CREATE + QUERY_INFO + CLOSE
// whose CREATE must wait for an oplock break gets its interim response
// alone in a frame; once the holder acknowledges the break, the CREATE's
// final response and the rest of the chain, run on the new open, follow
// in the next frame ([MS-SMB2] 3.3.4.2, 3.3.5.2.7).
func TestCompoundInterimEndsFrame(t *testing.T) {
	a, b, fid := oplockPair(t)
	b.sendCompound(t,
		step{cmdCreate, createWith("f.txt", dispOpen, 0, accReadData|accReadAttributes, oplockNone), false},
		step{cmdQueryInfo, relQueryInfo, true},
		step{cmdClose, relClose, true})
	rs := b.recvFrame(t, 10*time.Second)
	wantStatuses(t, "first frame", rs, StatusPending)
	if rs[0].h.Flags&flagAsync == 0 || rs[0].h.Command != cmdCreate {
		t.Fatalf("interim: cmd %d flags %#x", rs[0].h.Command, rs[0].h.Flags)
	}
	asyncID := rs[0].h.AsyncID

	brk := a.recvFrame(t, 10*time.Second)
	if len(brk) != 1 || brk[0].h.Command != cmdOplockBreak || getFileID(brk[0].body[8:]) != fid {
		t.Fatalf("break notification: %+v", brk)
	}
	ack := make([]byte, 24)
	le.PutUint16(ack, 24)
	ack[2] = oplockLevelII
	putFileID(ack[8:], fid)
	if st, _ := a.do(t, cmdOplockBreak, ack); st != StatusSuccess {
		t.Fatalf("acknowledgement: %v", st)
	}

	rs = b.recvFrame(t, 10*time.Second)
	wantStatuses(t, "second frame", rs, StatusSuccess, StatusSuccess, StatusSuccess)
	if rs[0].h.Command != cmdCreate || rs[0].h.Flags&flagAsync == 0 || rs[0].h.AsyncID != asyncID {
		t.Fatalf("final create response: cmd %d flags %#x async id %d, want %d", rs[0].h.Command, rs[0].h.Flags, rs[0].h.AsyncID, asyncID)
	}
	if rs[1].h.Command != cmdQueryInfo || rs[2].h.Command != cmdClose {
		t.Fatalf("second frame commands %d, %d", rs[1].h.Command, rs[2].h.Command)
	}
	if !b.quiet(t, 100*time.Millisecond) {
		t.Fatal("more responses after the chain")
	}
}

// TestCompoundRules: how failures travel along a chain ([MS-SMB2]
// 3.3.5.2.7.2, with the statuses smbtorture's smb2.compound tests see
// Windows give).
func TestCompoundRules(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { shutdown(t, srv) })
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	rc := newRawConn(t, srv, 1, share)
	write := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], 5)
		w.bytes([]byte("hello"))
	})
	read := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint32(w.b[4:], 1)
		w.u8(0)
	})
	notify := fileBody(32, 32, 8, func(w *buf) {
		le.PutUint32(w.b[4:], 4096)
		le.PutUint32(w.b[24:], 1) // FILE_NOTIFY_CHANGE_FILE_NAME
	})
	objectID := fileBody(57, 56, 8, func(w *buf) {
		le.PutUint32(w.b[4:], fsctlCreateOrGetObjectID)
		le.PutUint32(w.b[44:], 64)
		le.PutUint32(w.b[48:], 1)
	})
	rc.sendCompound(t,
		step{cmdCreate, createBody("data.bin", dispCreate, 0), false},
		step{cmdWrite, write, true},
		step{cmdClose, relClose, true})
	wantStatuses(t, "create, write, close", rc.recvFrame(t, 10*time.Second), StatusSuccess, StatusSuccess, StatusSuccess)
	for _, tc := range []struct {
		name  string
		steps []step
		want  []Status
	}{
		{
			// related8: every related request on the FileId of a
			// failed CREATE gets the CREATE's status.
			"failed create fails the related requests",
			[]step{
				{cmdCreate, createBody("missing.bin", dispOpen, 0), false},
				{cmdIoctl, objectID, true},
				{cmdQueryInfo, relQueryInfo, true},
				{cmdClose, relClose, true},
			},
			[]Status{StatusObjectNameNotFound, StatusObjectNameNotFound, StatusObjectNameNotFound, StatusObjectNameNotFound},
		},
		{
			// related6: a failed WRITE does not fail the READ and
			// CLOSE after it.
			"failed write leaves the chain going",
			[]step{
				{cmdCreate, createWith("data.bin", dispOpen, 0, accReadData|accReadAttributes, oplockNone), false},
				{cmdRead, read, true},
				{cmdWrite, write, true},
				{cmdRead, read, true},
				{cmdClose, relClose, true},
			},
			[]Status{StatusSuccess, StatusSuccess, StatusAccessDenied, StatusSuccess, StatusSuccess},
		},
		{
			// invalid1: a first request marked related is invalid,
			// and so are the related ones after it; an unrelated
			// request naming the all-ones FileId names no open.
			"first request related",
			[]step{
				{cmdCreate, createBody("x.bin", dispOpenIf, 0), true},
				{cmdClose, relClose, true},
				{cmdClose, relClose, false},
			},
			[]Status{StatusInvalidParameter, StatusInvalidParameter, StatusFileClosed},
		},
		{
			// A request that would go async before the end of a
			// compound fails, as Windows and Samba answer; the chain
			// goes on.
			"change notify inside a compound",
			[]step{
				{cmdCreate, createBody("", dispOpen, optDirectory), false},
				{cmdChangeNotify, notify, true},
				{cmdClose, relClose, true},
			},
			[]Status{StatusSuccess, StatusInternalError, StatusSuccess},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc.sendCompound(t, tc.steps...)
			wantStatuses(t, tc.name, rc.recvFrame(t, 10*time.Second), tc.want...)
		})
	}
}

// TestCompoundBreakSameConn: the Linux kernel's append (`>>`) to a file
// it holds itself with a batch oplock: the compound's CREATE waits for the
// break the same connection must acknowledge, and the chain completes
// after the acknowledgement.
func TestCompoundBreakSameConn(t *testing.T) {
	_, b, _ := oplockPair(t)
	batch := createBody("g.txt", dispOpenIf, 0)
	batch[3] = oplockBatch
	st, body := b.do(t, cmdCreate, batch)
	if st != StatusSuccess || body[2] != oplockBatch {
		t.Fatalf("first open: %v, oplock %#x", st, body[2])
	}
	fid := getFileID(body[64:])
	b.sendCompound(t,
		step{cmdCreate, createWith("g.txt", dispOpen, 0, accAppendData|accReadAttributes|accSynchronize, oplockNone), false},
		step{cmdQueryInfo, relQueryInfo, true},
		step{cmdClose, relClose, true})
	// The interim response and the break come in either order.
	var interim, brk []reply
	for interim == nil || brk == nil {
		rs := b.recvFrame(t, 10*time.Second)
		if rs[0].h.Command == cmdOplockBreak {
			brk = rs
		} else {
			interim = rs
		}
	}
	wantStatuses(t, "first frame", interim, StatusPending)
	if getFileID(brk[0].body[8:]) != fid {
		t.Fatal("break for another open")
	}
	ack := make([]byte, 24)
	le.PutUint16(ack, 24)
	ack[2] = oplockLevelII
	putFileID(ack[8:], fid)
	b.sendCompound(t, step{cmdOplockBreak, ack, false})
	rs := b.recvFrame(t, 10*time.Second)
	if rs[0].h.Command == cmdOplockBreak {
		wantStatuses(t, "acknowledgement", rs, StatusSuccess)
		rs = b.recvFrame(t, 10*time.Second)
	} else {
		ackResp := b.recvFrame(t, 10*time.Second)
		wantStatuses(t, "acknowledgement", ackResp, StatusSuccess)
	}
	wantStatuses(t, "the rest of the chain", rs, StatusSuccess, StatusSuccess, StatusSuccess)
}

package smb2

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// send writes one request without waiting for its response.
func (rc *rawConn) send(t *testing.T, cmd uint16, body []byte) {
	t.Helper()
	rc.mid++
	h := header{Command: cmd, MessageID: rc.mid, SessionID: rc.sid, TreeID: 1, Credit: 1, CreditCharge: 1}
	msg := make([]byte, headerSize)
	h.put(msg)
	go func() { _ = rc.c.handleFrame(append(msg, body...)) }()
}

// recv reads one message the server sent: its header and body.
func (rc *rawConn) recv(t *testing.T) (header, []byte) {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.peer, hdr[:]); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
	if _, err := io.ReadFull(rc.peer, msg); err != nil {
		t.Fatal(err)
	}
	h, ok := parseHeader(msg)
	if !ok {
		t.Fatalf("not an SMB2 message: %x", msg)
	}
	return h, msg[headerSize:]
}

// TestOplockBreak: a second open of a file whose batch oplock another
// connection holds waits (STATUS_PENDING) until the holder acknowledges
// the break to level II, then completes with level II itself.
func TestOplockBreak(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	a := newRawConn(t, srv, 1, share)
	b := newRawConn(t, srv, 2, share)
	batch := createBody("f.txt", dispOpenIf, 0)
	batch[3] = oplockBatch
	st, body := a.do(t, cmdCreate, batch)
	if st != StatusSuccess || body[2] != oplockBatch {
		t.Fatalf("first open: %v, oplock %#x", st, body[2])
	}
	fid := getFileID(body[64:])

	b.send(t, cmdCreate, batch)
	h, _ := b.recv(t)
	if h.Status != StatusPending || h.Flags&flagAsync == 0 {
		t.Fatalf("second open: status %v flags %#x, want an interim STATUS_PENDING", h.Status, h.Flags)
	}
	h, brk := a.recv(t)
	if h.Command != cmdOplockBreak || h.MessageID != ^uint64(0) || brk[2] != oplockLevelII || getFileID(brk[8:]) != fid {
		t.Fatalf("break notification: cmd %d mid %#x level %#x", h.Command, h.MessageID, brk[2])
	}
	ack := make([]byte, 24)
	le.PutUint16(ack, 24)
	ack[2] = oplockLevelII
	putFileID(ack[8:], fid)
	if st, _ := a.do(t, cmdOplockBreak, ack); st != StatusSuccess {
		t.Fatalf("acknowledgement: %v", st)
	}
	h, body = b.recv(t)
	if h.Status != StatusSuccess || h.Flags&flagAsync == 0 || body[2] != oplockLevelII {
		t.Fatalf("second open after the break: %v, oplock %#x", h.Status, body[2])
	}
	// A write through b takes level II away from a and from b itself:
	// notifications to none.
	bfid := getFileID(body[64:])
	write := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], 1)
		w.bytes([]byte("x"))
	})
	putFileID(write[16:], bfid)
	b.send(t, cmdWrite, write)
	for i := 0; i < 2; i++ {
		switch h, resp := b.recv(t); h.Command {
		case cmdWrite:
			if h.Status != StatusSuccess {
				t.Fatalf("write: %v", h.Status)
			}
		case cmdOplockBreak:
			if resp[2] != oplockNone || getFileID(resp[8:]) != bfid {
				t.Fatalf("writer's own break: level %#x", resp[2])
			}
		default:
			t.Fatalf("unexpected %d", h.Command)
		}
	}
	h, brk = a.recv(t)
	if h.Command != cmdOplockBreak || brk[2] != oplockNone {
		t.Fatalf("level II break: cmd %d level %#x", h.Command, brk[2])
	}
}

// TestShutdownWaitsForAsync: Shutdown returns only after the goroutine of
// a create waiting for an oplock break has sent its final response. The
// test holds the connection's write lock, so that goroutine cannot end
// until the test lets it; a Shutdown that did not wait for it would
// return at once.
func TestShutdownWaitsForAsync(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	a := newRawConn(t, srv, 1, share)
	b := newRawConn(t, srv, 2, share)
	batch := createBody("f.txt", dispOpenIf, 0)
	batch[3] = oplockBatch
	if st, body := a.do(t, cmdCreate, batch); st != StatusSuccess || body[2] != oplockBatch {
		t.Fatalf("first open: %v", st)
	}
	b.send(t, cmdCreate, batch)
	if h, _ := b.recv(t); h.Status != StatusPending {
		t.Fatalf("second open: %v, want STATUS_PENDING", h.Status)
	}
	if h, _ := a.recv(t); h.Command != cmdOplockBreak {
		t.Fatalf("break notification: cmd %d", h.Command)
	}

	b.c.wmu.Lock()
	b.c.cancel() // b's connection ends: the waiting create gives up and answers
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		b.c.wmu.Unlock()
		t.Fatalf("Shutdown returned (%v) while the create's goroutine was still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	b.peer.Close() // the final response fails to send
	b.c.wmu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the create's goroutine could end")
	}
}

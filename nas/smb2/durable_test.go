package smb2

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// rawConn is a server connection past session setup (3.1.1, session id,
// tree 1 on the given share) driven by raw requests in tests.
type rawConn struct {
	c    *conn
	peer net.Conn
	mid  uint64
	sid  uint64
}

func newRawConn(t *testing.T, srv *Server, sid uint64, share nas.Share) *rawConn {
	a, b := net.Pipe()
	c := newConn(srv, a)
	c.dialect = dialect311
	c.serverCaps = capLargeMTU
	c.credits.hi = 1 << 20
	s := &session{id: sid, state: sessValid, user: testUser, trees: map[uint32]*tree{}, opens: map[uint64]*open{}}
	s.trees[1] = &tree{id: 1, files: srv.files, share: share}
	c.sessions[sid] = s
	srv.mu.Lock()
	srv.conns[c] = struct{}{}
	srv.mu.Unlock()
	t.Cleanup(func() { b.Close() })
	return &rawConn{c: c, peer: b, sid: sid}
}

// do sends one request and returns the response's status and body.
func (rc *rawConn) do(t *testing.T, cmd uint16, body []byte) (Status, []byte) {
	t.Helper()
	rc.mid++
	h := header{Command: cmd, MessageID: rc.mid, SessionID: rc.sid, TreeID: 1, Credit: 1, CreditCharge: 1}
	msg := make([]byte, headerSize)
	h.put(msg)
	msg = append(msg, body...)
	errc := make(chan error, 1)
	go func() { errc <- rc.c.handleFrame(msg) }()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.peer, hdr[:]); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
	if _, err := io.ReadFull(rc.peer, resp); err != nil {
		t.Fatal(err)
	}
	if err := testwait.Recv(t, errc); err != nil {
		t.Fatal(err)
	}
	return Status(le.Uint32(resp[8:])), resp[headerSize:]
}

// durableCreate is a CREATE with a batch oplock and one create context.
func durableCreate(name string, ctxName string, ctxData []byte) []byte {
	b := createBody(name, dispOpenIf, 0)
	b[3] = oplockBatch
	n := utf16le(name)
	var ctx buf
	ctx.u32(0)
	ctx.u16(16)
	ctx.u16(uint16(len(ctxName)))
	ctx.u16(0)
	ctx.u16(24)
	ctx.u32(uint32(len(ctxData)))
	ctx.bytes([]byte(ctxName))
	ctx.align(8)
	ctx.bytes(ctxData)
	for len(b) < 56+len(n) {
		b = append(b, 0)
	}
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	le.PutUint32(b[48:], uint32(headerSize+len(b)))
	le.PutUint32(b[52:], uint32(len(ctx.b)))
	return append(b, ctx.b...)
}

// TestDurableReconnect: a durable handle outlives its connection and is
// reclaimed, with its data, by the same user on a new connection; an
// ordinary handle is closed with its connection.
func TestDurableReconnect(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	fs := vfs.NewMemFS(1 << 30)
	share := nas.Share{Name: "data", FS: fs, Access: nas.AccessReadWrite}
	a := newRawConn(t, srv, 1, share)
	st, body := a.do(t, cmdCreate, durableCreate("keep.bin", "DHnQ", make([]byte, 16)))
	if st != StatusSuccess || body[2] != oplockBatch {
		t.Fatalf("durable create: %v, oplock %#x", st, body[2])
	}
	fid := getFileID(body[64:])
	write := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], 5)
		w.bytes([]byte("hello"))
	})
	putFileID(write[16:], fid)
	if st, _ := a.do(t, cmdWrite, write); st != StatusSuccess {
		t.Fatalf("write: %v", st)
	}
	st, _ = a.do(t, cmdCreate, durableCreate("plain.bin", "QFid", nil))
	if st != StatusSuccess {
		t.Fatalf("plain create: %v", st)
	}
	// The connection drops.
	a.c.teardown()

	b := newRawConn(t, srv, 2, share)
	dhnc := make([]byte, 16)
	putFileID(dhnc, fid)
	st, body = b.do(t, cmdCreate, durableCreate("keep.bin", "DHnC", dhnc))
	if st != StatusSuccess || getFileID(body[64:]) != fid {
		t.Fatalf("reconnect: %v, file id %v want %v", st, getFileID(body[64:]), fid)
	}
	read := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint32(w.b[4:], 5)
		w.u8(0)
	})
	putFileID(read[16:], fid)
	st, body = b.do(t, cmdRead, read)
	if st != StatusSuccess || string(body[16:]) != "hello" {
		t.Fatalf("read after reconnect: %v %q", st, body)
	}
	// A second reconnect of the same handle finds nothing.
	if st, _ := b.do(t, cmdCreate, durableCreate("keep.bin", "DHnC", dhnc)); st != StatusObjectNameNotFound {
		t.Fatalf("second reconnect: %v", st)
	}
	// The plain open died with its connection: exclusive access is free.
	c := createBody("plain.bin", dispOpen, 0)
	le.PutUint32(c[32:], 0) // no sharing
	if st, _ := b.do(t, cmdCreate, c); st != StatusSuccess {
		t.Fatalf("open of the plain file after the drop: %v", st)
	}
}

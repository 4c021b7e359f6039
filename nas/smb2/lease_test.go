package smb2

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/testwait"
)

// ctxPair is one create context of a request.
type ctxPair struct {
	name string
	data []byte
}

// createCtxs is a CREATE of name with the oplock byte and contexts.
func createCtxs(name string, disp uint32, oplock byte, ctxs ...ctxPair) []byte {
	b := createBody(name, disp, 0x40)
	b[3] = oplock
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	var w buf
	last := -1
	for _, c := range ctxs {
		if last >= 0 {
			w.align(8)
			le.PutUint32(w.b[last:], uint32(len(w.b)-last))
		}
		last = len(w.b)
		w.u32(0)
		w.u16(16)
		w.u16(uint16(len(c.name)))
		w.u16(0)
		w.u16(24)
		w.u32(uint32(len(c.data)))
		w.bytes([]byte(c.name))
		w.align(8)
		w.bytes(c.data)
	}
	if len(ctxs) > 0 {
		le.PutUint32(b[48:], uint32(headerSize+len(b)))
		le.PutUint32(b[52:], uint32(len(w.b)))
	}
	return append(b, w.b...)
}

// leaseKey is a 16-byte lease key made of n.
func leaseKey(n byte) [16]byte {
	var k [16]byte
	for i := range k {
		k[i] = n
	}
	return k
}

// rqLs is a lease request context: v1 (32 bytes) or v2 (52, with epoch).
func rqLs(key [16]byte, state uint32, v2 bool, epoch uint16) ctxPair {
	var w buf
	w.bytes(key[:])
	w.u32(state)
	w.u32(0)
	w.u64(0)
	if v2 {
		w.zero(16)
		w.u16(epoch)
		w.u16(0)
	}
	return ctxPair{"RqLs", w.b}
}

// createResp is what a test reads from a CREATE response.
type createResp struct {
	oplock byte
	fid    []byte
	ctxs   map[string][]byte
}

func parseCreateResp(t *testing.T, body []byte) createResp {
	t.Helper()
	r := createResp{oplock: body[2], fid: bytes.Clone(body[64:80])}
	b, ok := field(append(make([]byte, headerSize), body...), le.Uint32(body[80:]), le.Uint32(body[84:]))
	if !ok {
		t.Fatalf("create contexts out of range")
	}
	var st Status
	if r.ctxs, st = parseCreateContexts(b); st != StatusSuccess {
		t.Fatalf("create contexts: %v", st)
	}
	return r
}

// leaseOf returns the state, flags and epoch of the RqLs response.
func (r createResp) leaseOf(t *testing.T, key [16]byte) (state, flags uint32, epoch uint16) {
	t.Helper()
	b := r.ctxs["RqLs"]
	if r.oplock != oplockLease || len(b) < 32 || !bytes.Equal(b[:16], key[:]) {
		t.Fatalf("no lease of key %x: oplock %#x, context %x", key[0], r.oplock, b)
	}
	if len(b) >= 52 {
		epoch = le.Uint16(b[48:])
	}
	return le.Uint32(b[16:]), le.Uint32(b[20:]), epoch
}

// leaseOpen opens name with a lease and returns the response.
func leaseOpen(t *testing.T, c *tcpClient, name string, key [16]byte, state uint32, v2 bool, extra ...ctxPair) createResp {
	t.Helper()
	st, body := c.do(cmdCreate, createCtxs(name, dispOpenIf, oplockLease, append([]ctxPair{rqLs(key, state, v2, 0)}, extra...)...))
	if st != StatusSuccess {
		t.Fatalf("lease open of %s: %v", name, st)
	}
	return parseCreateResp(t, body)
}

// nextNote returns the next break notification c received, reading up
// to ten seconds for it.
func (c *tcpClient) nextNote() []byte {
	c.t.Helper()
	if len(c.notes) > 0 {
		n := c.notes[0]
		c.notes = c.notes[1:]
		return n
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	msg := readTCPFrame(c.t, c.conn)
	h, ok := parseHeader(msg)
	if !ok || h.MessageID != ^uint64(0) || h.Command != cmdOplockBreak {
		c.t.Fatalf("not a break notification: %+v", h)
	}
	return msg[headerSize:]
}

func leaseAck(key [16]byte, state uint32) []byte {
	var w buf
	w.u16(36)
	w.u16(0)
	w.u32(0)
	w.bytes(key[:])
	w.u32(state)
	w.u64(0)
	return w.b
}

const rwh = leaseRead | leaseWrite | leaseHandle

// TestLeaseGrants: each requested state gets what MS-FSA allows alone
// on a file (H and W need R), a directory gets no lease, and a key in
// use on one file is refused on another.
func TestLeaseGrants(t *testing.T) {
	env := startServer(t, Options{})
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	for _, tc := range []struct{ ask, got uint32 }{
		{0, 0}, {leaseRead, leaseRead}, {leaseHandle, 0}, {leaseWrite, 0},
		{leaseRead | leaseHandle, leaseRead | leaseHandle}, {leaseRead | leaseWrite, leaseRead | leaseWrite},
		{leaseHandle | leaseWrite, 0}, {rwh, rwh},
	} {
		r := leaseOpen(t, c, "grant.txt", leaseKey(1), tc.ask, false)
		if got, flags, _ := r.leaseOf(t, leaseKey(1)); got != tc.got || flags != 0 {
			t.Errorf("asked %#x: granted %#x flags %#x, want %#x", tc.ask, got, flags, tc.got)
		}
		if st := c.close(r.fid); st != StatusSuccess {
			t.Fatal(st)
		}
	}
	b := createCtxs("dir", dispCreate, oplockLease, rqLs(leaseKey(2), rwh, false, 0))
	le.PutUint32(b[40:], optDirectory)
	st, body := c.do(cmdCreate, b)
	if st != StatusSuccess {
		t.Fatalf("directory: %v", st)
	}
	if r := parseCreateResp(t, body); r.oplock != oplockNone || r.ctxs["RqLs"] != nil {
		t.Errorf("directory got oplock %#x, lease %x", r.oplock, r.ctxs["RqLs"])
	}
	held := leaseOpen(t, c, "one.txt", leaseKey(3), rwh, false)
	if st, _ := c.do(cmdCreate, createCtxs("two.txt", dispOpenIf, oplockLease, rqLs(leaseKey(3), rwh, false, 0))); st != StatusInvalidParameter {
		t.Errorf("key of one.txt on two.txt: %v, want INVALID_PARAMETER", st)
	}
	c.close(held.fid)
}

// TestLeaseSharedKey: opens of one key share the lease; a second open
// asking for more upgrades it, one asking for less keeps it.
func TestLeaseSharedKey(t *testing.T) {
	env := startServer(t, Options{})
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	k := leaseKey(4)
	a := leaseOpen(t, c, "shared.txt", k, leaseRead|leaseHandle, false)
	b := leaseOpen(t, c, "shared.txt", k, rwh, false)
	if got, _, _ := b.leaseOf(t, k); got != rwh {
		t.Fatalf("upgrade: %#x, want RWH", got)
	}
	d := leaseOpen(t, c, "shared.txt", k, leaseRead, false)
	if got, _, _ := d.leaseOf(t, k); got != rwh {
		t.Fatalf("a smaller request: %#x, want RWH kept", got)
	}
	for _, fid := range [][]byte{a.fid, b.fid, d.fid} {
		c.close(fid)
	}
}

// TestLeaseBreakAck: another client's open takes W from a v2 lease: the
// holder is told (ACK_REQUIRED, epoch moved on), the open waits for the
// acknowledgement and gets RH; a write by the other client then takes
// the rest, and an acknowledgement with nothing breaking is refused.
func TestLeaseBreakAck(t *testing.T) {
	env := startServer(t, Options{})
	a := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect302, leaseKey(0xA))
	b := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect302, leaseKey(0xB))
	ka, kb := leaseKey(5), leaseKey(6)
	st, body := a.do(cmdCreate, createCtxs("brk.txt", dispOpenIf, oplockLease, rqLs(ka, rwh, true, 7)))
	if st != StatusSuccess {
		t.Fatal(st)
	}
	ra := parseCreateResp(t, body)
	if got, _, epoch := ra.leaseOf(t, ka); got != rwh || epoch != 8 {
		t.Fatalf("holder: %#x epoch %d, want RWH epoch 8", got, epoch)
	}
	var wg sync.WaitGroup
	done := make(chan createResp, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		st, body := b.do(cmdCreate, createCtxs("brk.txt", dispOpenIf, oplockLease, rqLs(kb, rwh, true, 0)))
		if st != StatusSuccess {
			t.Errorf("contending open: %v", st)
			close(done)
			return
		}
		done <- parseCreateResp(t, body)
	}()
	n := a.nextNote()
	if len(n) < 44 || le.Uint16(n) != 44 || le.Uint32(n[4:])&leaseBreakAckRequired == 0 ||
		!bytes.Equal(n[8:24], ka[:]) || le.Uint32(n[24:]) != rwh || le.Uint32(n[28:]) != leaseRead|leaseHandle {
		t.Fatalf("break notification %x", n)
	}
	if epoch := le.Uint16(n[2:]); epoch != 9 {
		t.Errorf("break epoch %d, want 9", epoch)
	}
	st, body = a.do(cmdOplockBreak, leaseAck(ka, leaseRead|leaseHandle))
	if st != StatusSuccess || len(body) < 36 || le.Uint32(body[24:]) != leaseRead|leaseHandle {
		t.Fatalf("ack: %v %x", st, body)
	}
	rb := testwait.Recv(t, done) // the zero value when it failed
	wg.Wait()
	if rb.fid == nil {
		t.Fatal("contending open failed")
	}
	if got, _, _ := rb.leaseOf(t, kb); got != leaseRead|leaseHandle {
		t.Errorf("contender granted %#x, want RH", got)
	}
	if st, _ := a.do(cmdOplockBreak, leaseAck(ka, leaseRead)); st != StatusUnsuccessful {
		t.Errorf("ack with no break under way: %v, want UNSUCCESSFUL", st)
	}
	w := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], 1)
		w.u8('x')
	})
	copy(w[16:], rb.fid)
	if st, _ := b.do(cmdWrite, w); st != StatusSuccess {
		t.Fatalf("write: %v", st)
	}
	n = a.nextNote()
	if le.Uint32(n[24:]) != leaseRead|leaseHandle || le.Uint32(n[28:]) != 0 || le.Uint16(n[2:]) != 10 {
		t.Fatalf("write break %x, want RH -> none at epoch 10", n)
	}
}

// TestLeaseStatOpenBreaksNothing: an attribute-only open by another
// client leaves an RWH lease as it is: no break is under way after it.
func TestLeaseStatOpenBreaksNothing(t *testing.T) {
	env := startServer(t, Options{})
	a := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect210, leaseKey(0xA))
	b := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect210, leaseKey(0xB))
	k := leaseKey(7)
	h := leaseOpen(t, a, "stat.txt", k, rwh, false)
	fid, st := b.create("stat.txt", accReadAttributes, dispOpen)
	if st != StatusSuccess {
		t.Fatalf("stat open: %v", st)
	}
	again := leaseOpen(t, a, "stat.txt", k, 0, false)
	if got, flags, _ := again.leaseOf(t, k); got != rwh || flags&leaseFlagBreaking != 0 {
		t.Errorf("after a stat open: %#x flags %#x, want RWH and no break", got, flags)
	}
	b.close(fid)
	a.close(again.fid)
	a.close(h.fid)
}

// TestLeaseDurableReconnect: a durable v2 open with an RWH lease outlives
// its connection; the client reclaims it with DH2C and the same lease
// key (another key finds nothing), lease state intact.
func TestLeaseDurableReconnect(t *testing.T) {
	env := startServer(t, Options{})
	guid := leaseKey(0xC)
	a := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect302, guid)
	k := leaseKey(8)
	createGUID := leaseKey(0x77)
	var dh2q buf
	dh2q.u32(0)
	dh2q.u32(0)
	dh2q.u64(0)
	dh2q.bytes(createGUID[:])
	r := leaseOpen(t, a, "dur.txt", k, rwh, true, ctxPair{"DH2Q", dh2q.b})
	if r.ctxs["DH2Q"] == nil {
		t.Fatalf("no durable handle granted: %v", r.ctxs)
	}
	a.conn.Close()

	b := dialTCPAs(t, env.addr, "data", testUser, testPass, dialect302, guid)
	dh2c := func() ctxPair {
		var w buf
		w.bytes(r.fid)
		w.bytes(createGUID[:])
		w.u32(0)
		return ctxPair{"DH2C", w.b}
	}
	// The server parks the open once it has seen the drop.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		env.srv.mu.Lock()
		parked := len(env.srv.durable)
		env.srv.mu.Unlock()
		if parked == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the durable open was not kept after the drop")
		}
	}
	if st, _ := b.do(cmdCreate, createCtxs("dur.txt", dispOpen, oplockLease, rqLs(leaseKey(9), 0, true, 0), dh2c())); st != StatusObjectNameNotFound {
		t.Fatalf("reconnect with another lease key: %v, want OBJECT_NAME_NOT_FOUND", st)
	}
	st, body := b.do(cmdCreate, createCtxs("dur.txt", dispOpen, oplockLease, rqLs(k, 0, true, 0), dh2c()))
	if st != StatusSuccess {
		t.Fatalf("reconnect: %v", st)
	}
	got := parseCreateResp(t, body)
	if !bytes.Equal(got.fid, r.fid) {
		t.Errorf("reconnected file id %x, want %x", got.fid, r.fid)
	}
	if state, _, _ := got.leaseOf(t, k); state != rwh {
		t.Errorf("lease after reconnect %#x, want RWH", state)
	}
}

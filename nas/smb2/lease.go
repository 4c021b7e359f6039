package smb2

import (
	"slices"
	"strings"
)

// Leases ([MS-SMB2] 3.3.5.9.8, 3.3.4.7, 3.3.5.22.2): caching rights a
// client holds per (client GUID, lease key) on one file, shared by every
// open that names the key. R caches reads, H keeps handles open after
// the application closed them, W caches writes. An open by another key
// (or without a lease) takes W away; an open that would meet a sharing
// violation takes H; an overwrite takes everything; a write, truncate or
// SET_INFO through another key takes R. Breaks that leave W or H wait
// for the client's acknowledgement (up to oplockBreakWait) before the
// open that caused them proceeds. Directories get no lease.

// Lease states, flags and break flags ([MS-SMB2] 2.2.13.2.8, 2.2.23.2).
const (
	leaseRead   = 0x01
	leaseHandle = 0x02
	leaseWrite  = 0x04

	leaseFlagBreaking  = 0x02
	leaseFlagParentSet = 0x04

	leaseBreakAckRequired = 0x01
)

// leaseID names a lease server-wide.
type leaseID struct {
	client [16]byte
	key    [16]byte
}

// lease is the state every open of one lease key shares, guarded by
// fileTable.mu.
type lease struct {
	id        leaseID
	file      fileKey
	state     uint32
	epoch     uint16
	v2        bool
	parent    [16]byte
	hasParent bool
	breaking  bool
	from      uint32        // the state the notification under way breaks from
	breakTo   uint32        // the state the notification under way asks for
	want      uint32        // the lowest state asked for since (broken to after the ack)
	acked     chan struct{} // closed on acknowledgement, timeout or last close
	opens     int
	conn      *conn    // where break notifications go
	sess      *session // encrypts them when the client encrypts
}

// leaseReq is the RqLs context of a create.
type leaseReq struct {
	v2        bool
	key       [16]byte
	state     uint32
	parent    [16]byte
	hasParent bool
	epoch     uint16
}

// parseLease reads the RqLs context: 32 bytes (v1) or 52 (v2, SMB 3.x
// only). ok is false when the create asks for no lease.
func parseLease(q createReq, dialect uint16) (leaseReq, bool) {
	b, found := q.contexts["RqLs"]
	if !found || q.oplock != oplockLease || len(b) < 32 {
		return leaseReq{}, false
	}
	var lr leaseReq
	copy(lr.key[:], b)
	lr.state = le.Uint32(b[16:]) & (leaseRead | leaseHandle | leaseWrite)
	if lr.state&leaseRead == 0 {
		lr.state = 0 // H and W need R ([MS-FSA] 2.1.5.17)
	}
	if len(b) >= 52 && dialect >= dialect300 {
		lr.v2 = true
		if le.Uint32(b[20:])&leaseFlagParentSet != 0 {
			lr.hasParent = true
			copy(lr.parent[:], b[32:48])
		}
		lr.epoch = le.Uint16(b[48:])
	}
	return lr, true
}

// leaseCandidate is the lease a create asks for, before the grant
// resolves it against the file's leases (grantLease).
func (c *conn) leaseCandidate(q createReq) *lease {
	lr, ok := parseLease(q, c.dialect)
	if !ok {
		return nil
	}
	return &lease{
		id:    leaseID{c.clientGUID, lr.key},
		state: lr.state, epoch: lr.epoch, v2: lr.v2,
		parent: lr.parent, hasParent: lr.hasParent,
	}
}

// leaseElsewhere says whether the lease key of a create is already in
// use on another file (STATUS_INVALID_PARAMETER, as Windows answers).
func (t *fileTable) leaseElsewhere(id leaseID, key fileKey, exists bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.leases[id]
	return l != nil && (!exists || l.file != key)
}

// grantLease resolves the candidate lease of a new open o against the
// file's other opens (table lock held): the open joins the key's lease
// (upgrading it when it asks for more and nothing else stops it) or
// starts one. W needs every other open to share the key; H is not given
// beside an oplock. A new lease gets what the others allow of what it
// asks for.
func grantLease(o *open) {
	cand := o.lease
	if cand == nil {
		return
	}
	if o.isDir {
		o.lease = nil
		return
	}
	t := o.tableOf()
	allowed := uint32(leaseRead | leaseHandle | leaseWrite)
	for _, x := range o.state.opens {
		if x == o || x.lease != nil && x.lease.id == cand.id || x.lease == nil && statOpen(x.access) {
			continue // a stat open counts by the lease it holds
		}
		allowed &^= leaseWrite
		if x.op.level != oplockNone {
			allowed &^= leaseHandle
		}
	}
	if t.leases == nil {
		t.leases = map[leaseID]*lease{}
	}
	l := t.leases[cand.id]
	if l != nil && l.file != o.state.key {
		o.lease = nil // lost a race with an open of the key elsewhere
		return
	}
	if l == nil {
		cand.file = o.state.key
		cand.state &= allowed
		if cand.v2 {
			cand.epoch++
		}
		t.leases[cand.id] = cand
		l = cand
	} else if s := cand.state; !l.breaking && s&l.state == l.state && s != l.state && s&allowed == s {
		// An upgrade happens only to a strict superset the other
		// opens allow in full; otherwise the lease stays as it is.
		l.state = s
		l.epoch++
	}
	l.opens++
	l.conn, l.sess = o.conn, o.sess
	o.lease = l
}

// leaseClosed drops a closing open's part in its lease (table lock
// held); the last open ends the lease and any break waiting on it.
func (t *fileTable) leaseClosed(o *open) {
	l := o.lease
	if l == nil {
		return
	}
	l.opens--
	if l.opens > 0 {
		if l.conn == o.conn {
			// Breaks go to a connection that still has the lease open.
			for _, x := range o.state.opens {
				if x.lease == l && x.conn != nil {
					l.conn, l.sess = x.conn, x.sess
					break
				}
			}
		}
		return
	}
	if t.leases[l.id] == l {
		delete(t.leases, l.id)
	}
	if l.breaking {
		l.breaking = false
		close(l.acked)
	}
}

// leaseNote is a lease break notification to send.
type leaseNote struct {
	c        *conn
	s        *session
	key      [16]byte
	from, to uint32
	epoch    uint16
	ack      bool
}

// write sends the notification on n.c.
func (n leaseNote) write() {
	h := header{Command: cmdOplockBreak, Flags: flagResponse, MessageID: ^uint64(0)}
	msg := make([]byte, headerSize, headerSize+44)
	h.put(msg)
	var w buf
	w.u16(44)
	w.u16(n.epoch)
	if n.ack {
		w.u32(leaseBreakAckRequired)
	} else {
		w.u32(0)
	}
	w.bytes(n.key[:])
	w.u32(n.from)
	w.u32(n.to)
	w.zero(12)
	msg = append(msg, w.b...)
	var enc *session
	if n.s != nil && n.s.clientEncrypts() {
		enc = n.s
	}
	_ = n.c.writeOut(msg, enc)
}

// clientConn picks the connection a lease break goes to: the oldest of
// the lease's client (its client GUID) that has files open, as Windows
// does (smbtorture smb2.lease.v2_complex1), else the one that opened the
// lease last; with a session of it that has files open, to encrypt the
// notification when the client encrypts.
func (srv *Server) clientConn(c *conn, s *session) (*conn, *session) {
	if c.clientGUID == ([16]byte{}) {
		return c, s
	}
	srv.mu.Lock()
	var older []*conn
	for x := range srv.conns {
		if x != c && x.clientGUID == c.clientGUID && x.accepted.Before(c.accepted) && x.ctx.Err() == nil {
			older = append(older, x)
		}
	}
	srv.mu.Unlock()
	slices.SortFunc(older, func(a, b *conn) int { return a.accepted.Compare(b.accepted) })
	for _, x := range older {
		if xs := x.sessionWithOpens(); xs != nil {
			return x, xs
		}
	}
	return c, s
}

// sessionWithOpens returns a valid session of c with files open, if any.
func (c *conn) sessionWithOpens() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		s.mu.Lock()
		ok := s.state == sessValid && len(s.opens) > 0
		s.mu.Unlock()
		if ok {
			return s
		}
	}
	return nil
}

// breakLease starts taking l down to at most to (table lock held). A
// lease already breaking is broken further after its acknowledgement.
// It returns the notification to send, if any: nil when nothing changes
// or the lease has no connection (a parked durable open), whose state
// then changes at once.
func breakLease(l *lease, to uint32) *leaseNote {
	if l.breaking {
		l.want &= to
		return nil
	}
	return startBreak(l, to, true)
}

// startBreak sends a break of l to to; the epoch moves on a break that
// starts from rest, not on the steps that follow an acknowledgement
// (smbtorture smb2.lease.v2_breaking3, as Windows does).
func startBreak(l *lease, to uint32, bump bool) *leaseNote {
	if l.state&^to == 0 {
		return nil
	}
	if bump {
		l.epoch++
	}
	n := &leaseNote{c: l.conn, s: l.sess, key: l.id.key, from: l.state, to: l.state & to,
		ack: l.state&(leaseWrite|leaseHandle) != 0}
	if !l.v2 {
		n.epoch = 0
	} else {
		n.epoch = l.epoch
	}
	if n.c == nil || !n.ack {
		l.state = n.to
		if n.c == nil {
			return nil
		}
		return n
	}
	l.breaking, l.breakTo, l.want, l.from = true, n.to, n.to, n.from
	l.acked = make(chan struct{})
	return n
}

// leaseBreaks are what a create must do to the leases of other keys
// before it proceeds.
type leaseBreaks struct {
	notes  []*leaseNote
	oplock []breakNote // level II oplocks an overwrite takes away
	waits  []chan struct{}
	parked []*open // durable opens whose lease lost H: they end
}

// run ends the parked opens and sends the notifications of a request
// served on c: those to c itself at once, so that the client reads them
// before the response that follows (smbtorture smb2.lease.rename_wait
// copies the break it got before answering the rename's interim), the
// others from their own goroutines, as a slow reader must not hold the
// request up.
func (b *leaseBreaks) run(c *conn) {
	srv := c.srv
	for _, o := range b.parked {
		srv.dropDurable(o)
	}
	for _, n := range b.notes {
		n.c, n.s = srv.clientConn(n.c, n.s)
		if n.c == c {
			n.write()
		} else {
			srv.goTracked(n.write)
		}
	}
	for _, n := range b.oplock {
		srv.goTracked(n.send)
	}
}

// breakLeasesFor breaks the leases other keys hold on the file at key
// before the open q of it by mine (nil: the open has no lease). W goes
// (H instead when the open would meet a sharing violation, so that the
// holder can close its cached handles; H too for a delete on close); an
// overwrite takes everything, level II oplocks included.
func (c *conn) breakLeasesFor(key fileKey, mine *leaseID, q createReq, overwrite bool) []chan struct{} {
	t := c.srv.files
	t.mu.Lock()
	st := t.files[key]
	if st == nil {
		t.mu.Unlock()
		return nil
	}
	delay := uint32(leaseWrite)
	if shareConflict(st, q.access, q.share) {
		delay = leaseHandle
	}
	if q.options&optDeleteOnClose != 0 {
		delay |= leaseHandle
	}
	var b leaseBreaks
	var seen []*lease
	for _, o := range st.opens {
		if overwrite && o.lease == nil && o.op.level == oplockLevelII && !o.disconnected {
			o.op.level = oplockNone
			b.oplock = append(b.oplock, breakNote{o, o.conn, o.sess, oplockNone})
			continue
		}
		l := o.lease
		if l == nil || mine != nil && l.id == *mine || slices.Contains(seen, l) {
			continue
		}
		seen = append(seen, l)
		to := l.state &^ delay
		if overwrite {
			to = 0
		}
		was := l.state
		if n := breakLease(l, to); n != nil {
			b.notes = append(b.notes, n)
		}
		if l.breaking && was&delay != 0 {
			b.waits = append(b.waits, l.acked)
		}
		if l.state&leaseHandle == 0 || l.breaking && l.want&leaseHandle == 0 {
			b.parked = append(b.parked, parkedOf(st, l)...)
		}
	}
	t.mu.Unlock()
	b.run(c)
	return b.waits
}

// parkedOf lists the disconnected durable opens of lease l.
func parkedOf(st *fileState, l *lease) []*open {
	var p []*open
	for _, o := range st.opens {
		if o.lease == l && o.disconnected {
			p = append(p, o)
		}
	}
	return p
}

// breakReadLeases takes R away from the leases of keys other than o's
// on a file written through o: a write, truncate or SET_INFO. Nothing
// waits for the acknowledgement.
func (c *conn) breakReadLeases(o *open) {
	t := c.srv.files
	t.mu.Lock()
	var b leaseBreaks
	var seen []*lease
	for _, x := range o.state.opens {
		l := x.lease
		if l == nil || l == o.lease || slices.Contains(seen, l) || l.state&leaseRead == 0 {
			continue
		}
		seen = append(seen, l)
		if n := breakLease(l, 0); n != nil {
			b.notes = append(b.notes, n)
		}
		if l.state&leaseHandle == 0 || l.breaking && l.want&leaseHandle == 0 {
			b.parked = append(b.parked, parkedOf(o.state, l)...)
		}
	}
	t.mu.Unlock()
	b.run(c)
}

// setInfoBreaks breaks H of the leases other keys hold on o's file
// before a rename (which waits for the acknowledgement, so that their
// clients can close cached handles first) or a delete disposition (which
// does not wait).
func (c *conn) setInfoBreaks(o *open, class byte, d []byte) []chan struct{} {
	rename := class == fileRenameInformation
	if !rename && (class != fileDispositionInformation || len(d) < 1 || d[0]&1 == 0) {
		return nil
	}
	t := c.srv.files
	t.mu.Lock()
	var b leaseBreaks
	var seen []*lease
	for _, x := range o.state.opens {
		l := x.lease
		if l == nil || l == o.lease || slices.Contains(seen, l) {
			continue
		}
		seen = append(seen, l)
		had := l.state
		if n := breakLease(l, l.state&^leaseHandle); n != nil {
			b.notes = append(b.notes, n)
		}
		if rename && l.breaking && had&leaseHandle != 0 {
			b.waits = append(b.waits, l.acked)
		}
		if l.state&leaseHandle == 0 || l.breaking && l.want&leaseHandle == 0 {
			b.parked = append(b.parked, parkedOf(o.state, l)...)
		}
	}
	t.mu.Unlock()
	b.run(c)
	return b.waits
}

// forceLeases ends the breaks under way on the file at key whose
// acknowledgement did not come in time (table lock held).
func (t *fileTable) forceLeases(key fileKey) {
	for _, l := range t.leases {
		if l.file == key && l.breaking {
			// Windows takes the whole lease away from a client that
			// does not answer (smbtorture smb2.lease.timeout).
			l.state, l.breaking = 0, false
			close(l.acked)
		}
	}
}

// leaseBreakAck serves LEASE_BREAK_ACK ([MS-SMB2] 3.3.5.22.2).
func (c *conn) leaseBreakAck(r *request) ([]byte, Status) {
	b := r.body
	if len(b) < 36 {
		return nil, StatusInvalidParameter
	}
	id := leaseID{client: c.clientGUID}
	copy(id.key[:], b[8:24])
	state := le.Uint32(b[24:])
	t := c.srv.files
	t.mu.Lock()
	l := t.leases[id]
	switch {
	case l == nil:
		t.mu.Unlock()
		return nil, StatusObjectNameNotFound
	case !l.breaking:
		t.mu.Unlock()
		return nil, StatusUnsuccessful
	case state&^l.breakTo != 0:
		t.mu.Unlock()
		return nil, StatusRequestNotAccepted
	}
	next := ackLease(l, state)
	t.mu.Unlock()
	if next != nil {
		b := leaseBreaks{notes: []*leaseNote{next}}
		b.run(c)
	}
	var w buf
	w.u16(36)
	w.u16(0)
	w.u32(0)
	w.bytes(id.key[:])
	w.u32(state)
	w.u64(0)
	return w.b, StatusSuccess
}

// ackLease applies an acknowledged break (table lock held). When more
// was asked for meanwhile the next break starts at once, in steps as
// Windows takes them (a break that took W goes to R next, whatever was
// asked); those waiting for the lease go on waiting until no break is
// left to acknowledge.
func ackLease(l *lease, state uint32) *leaseNote {
	from := l.from
	acked, want := l.acked, l.want
	l.state, l.breaking = state, false
	var next *leaseNote
	if l.state&^want != 0 {
		to := want
		if from&leaseWrite != 0 {
			to |= leaseRead
		}
		next = startBreak(l, to, false)
		if l.breaking {
			l.acked, l.want = acked, want // the waiters go on waiting
			return next
		}
	}
	close(acked)
	return next
}

// leaseContext is the RqLs response context of an open with a lease.
func leaseContext(l *lease) []byte {
	var w buf
	w.bytes(l.id.key[:])
	w.u32(l.state)
	var flags uint32
	if l.breaking {
		flags |= leaseFlagBreaking
	}
	if l.v2 && l.hasParent {
		flags |= leaseFlagParentSet
	}
	w.u32(flags)
	w.u64(0)
	if l.v2 {
		w.bytes(l.parent[:])
		w.u16(l.epoch)
		w.u16(0)
	}
	return w.b
}

// leaseMatches checks that a durable reconnect names the lease of the
// parked open o ([MS-SMB2] 3.3.5.9.7, 3.3.5.9.12): the same key from the
// same client (else OBJECT_NAME_NOT_FOUND), and then the open's file
// (else INVALID_PARAMETER, unlike an oplock reconnect, which ignores the
// name); an open without a lease takes a reconnect without one.
func (t *fileTable) leaseMatches(o *open, lr leaseReq, has bool, client [16]byte, name string) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case o.lease == nil && !has:
		return StatusSuccess
	case o.lease == nil || !has || o.lease.id != leaseID{client, lr.key}:
		return StatusObjectNameNotFound
	}
	if p, st := sharePath(name, false); st != StatusSuccess || !strings.EqualFold(p, o.state.path) {
		return StatusInvalidParameter
	}
	return StatusSuccess
}

package smb2

import (
	"sync"
	"time"
)

// Oplock levels ([MS-SMB2] 2.2.13).
const (
	oplockNone      = 0x00
	oplockLevelII   = 0x01
	oplockExclusive = 0x08
	oplockBatch     = 0x09
	oplockLease     = 0xFF
)

// oplockBreakWait is how long a create waits for the holder of an
// exclusive or batch oplock to acknowledge its break ([MS-SMB2] 3.3.6.1
// says 35 s) before the oplock is taken away regardless.
const oplockBreakWait = 35 * time.Second

// oplockState is the oplock side of an open, guarded by fileTable.mu.
type oplockState struct {
	level    byte
	breaking bool
	breakTo  byte
	acked    chan struct{} // closed on acknowledgement or close
}

// grantOplock picks the level for a new open o of a file (the table's
// lock held): exclusive or batch when o is alone, level II when the
// others hold level II or none; directories and leases get none.
func grantOplock(o *open, requested byte) byte {
	if requested == oplockLease {
		grantLease(o)
		return oplockNone
	}
	o.lease = nil
	if o.isDir || requested == oplockNone {
		return oplockNone
	}
	alone := true
	for _, x := range o.state.opens {
		if x == o {
			continue
		}
		alone = false
		if x.lease != nil && x.lease.state&leaseHandle != 0 {
			return oplockNone // no oplock beside a handle lease
		}
		if x.op.level >= oplockExclusive || x.op.breaking {
			return oplockNone
		}
	}
	if requested == oplockExclusive || requested == oplockBatch {
		if alone {
			return requested
		}
		return oplockLevelII
	}
	return oplockLevelII
}

// breakFor starts breaking the exclusive and batch oplocks others hold on
// the file at key before a new open of it; it returns what to wait for
// (nil when nothing). toNone breaks to none (overwrite) instead of II.
// When the new open meets a sharing violation (conflict), only batch
// oplocks break, to level II: their holder may close the handle it
// keeps; an exclusive one stays ([MS-FSA] 2.1.5.1.2; smbtorture
// smb2.oplock.exclusive1, batch1).
func (c *conn) breakFor(key fileKey, toNone, conflict bool) []chan struct{} {
	t := c.srv.files
	t.mu.Lock()
	st := t.files[key]
	if st == nil {
		t.mu.Unlock()
		return nil
	}
	var waits []chan struct{}
	var notify []breakNote
	var parked []*open
	for _, o := range st.opens {
		switch {
		case o.disconnected && o.lease == nil:
			parked = append(parked, o)
		case o.op.breaking:
			waits = append(waits, o.op.acked)
		case o.op.level == oplockBatch || o.op.level == oplockExclusive && !conflict:
			o.op.breaking = true
			o.op.breakTo = oplockLevelII
			if toNone && !conflict {
				o.op.breakTo = oplockNone
			}
			o.durable = false // durability needs the batch oplock
			o.op.acked = make(chan struct{})
			waits = append(waits, o.op.acked)
			notify = append(notify, breakNote{o, o.conn, o.sess, o.op.breakTo})
		}
	}
	t.mu.Unlock()
	for _, o := range parked {
		c.srv.dropDurable(o)
	}
	for _, n := range notify {
		// Not from this goroutine: the holder's connection may be slow
		// to read, and this request must not wait on it.
		c.srv.goTracked(n.send)
	}
	return waits
}

// breakLevelII takes level II oplocks away from the opens of a file
// written through o, o's own too (no acknowledgement is expected; Windows
// breaks the writer's level II as well: smbtorture smb2.oplock.batch1).
func (c *conn) breakLevelII(o *open) {
	t := c.srv.files
	t.mu.Lock()
	var notify []breakNote
	for _, x := range o.state.opens {
		if x.op.level == oplockLevelII && !x.op.breaking && !x.disconnected {
			x.op.level = oplockNone
			notify = append(notify, breakNote{x, x.conn, x.sess, oplockNone})
		}
	}
	t.mu.Unlock()
	for _, n := range notify {
		c.srv.goTracked(n.send)
	}
	c.breakReadLeases(o)
}

// breakNote is a break notification to send, with what it needs read
// under the table's lock.
type breakNote struct {
	o     *open
	c     *conn
	s     *session
	level byte
}

func (n breakNote) send() { n.c.sendBreak(n.o, n.s, n.level) }

// sendBreak sends an OPLOCK_BREAK notification for o.
func (c *conn) sendBreak(o *open, s *session, level byte) {
	h := header{Command: cmdOplockBreak, Flags: flagResponse, MessageID: ^uint64(0)}
	msg := make([]byte, headerSize, headerSize+24)
	h.put(msg)
	var w buf
	w.u16(24)
	w.u8(level)
	w.u8(0)
	w.u32(0)
	w.u64(o.id.Persistent)
	w.u64(o.id.Volatile)
	msg = append(msg, w.b...)
	var enc *session
	if s.clientEncrypts() {
		enc = s
	}
	_ = c.writeOut(msg, enc)
}

// waitBreaks waits until every break acknowledged or oplockBreakWait
// passed, then forces the levels down.
func (c *conn) waitBreaks(key fileKey, waits []chan struct{}, cancelled <-chan struct{}) bool {
	timer := time.NewTimer(oplockBreakWait)
	defer timer.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-timer.C:
			c.forceBreaks(key)
			return true
		case <-cancelled:
			return false
		case <-c.ctx.Done():
			return false
		}
	}
	return true
}

func (c *conn) forceBreaks(key fileKey) {
	t := c.srv.files
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forceLeases(key)
	if st := t.files[key]; st != nil {
		for _, o := range st.opens {
			if o.op.breaking {
				o.op.level, o.op.breaking = o.op.breakTo, false
				close(o.op.acked)
			}
		}
	}
}

// oplockBreakAck serves the client's acknowledgement of a break.
func (c *conn) oplockBreakAck(r *request) ([]byte, Status) {
	b := r.body
	if le.Uint16(b) == 36 {
		return c.leaseBreakAck(r)
	}
	o, st := c.lookupOpen(r, b[8:])
	if st != StatusSuccess {
		return nil, st
	}
	level := b[2]
	t := c.srv.files
	t.mu.Lock()
	if !o.op.breaking {
		t.mu.Unlock()
		return nil, StatusInvalidOplockProtocol
	}
	if level > o.op.breakTo {
		level = o.op.breakTo
	}
	o.op.level, o.op.breaking = level, false
	close(o.op.acked)
	t.mu.Unlock()
	var w buf
	w.u16(24)
	w.u8(level)
	w.u8(0)
	w.u32(0)
	w.u64(o.id.Persistent)
	w.u64(o.id.Volatile)
	return w.b, StatusSuccess
}

// asyncCreate finishes a create after the oplock and lease breaks it
// waits for; it returns the interim STATUS_PENDING.
func (c *conn) asyncCreate(r *request, q createReq, path string, key fileKey, waits []chan struct{}) ([]byte, Status) {
	return c.afterBreaks(r, key, waits, func() ([]byte, Status) { return c.createOpen(r, q, path) })
}

// afterBreaks makes r async and serves it with then once the oplock and
// lease breaks of the file at key it waits for are acknowledged or timed
// out; it returns the interim STATUS_PENDING.
func (c *conn) afterBreaks(r *request, key fileKey, waits []chan struct{}, then func() ([]byte, Status)) ([]byte, Status) {
	var once sync.Once
	cancelled := make(chan struct{})
	p := c.goAsync(r, func() { once.Do(func() { close(cancelled) }) })
	r.afterSend = func() {
		c.srv.goTracked(func() {
			if !c.waitBreaks(key, waits, cancelled) {
				c.finishAsync(r, p, nil, StatusCancelled)
				return
			}
			body, st := then()
			c.finishAsync(r, p, body, st)
		})
	}
	return nil, StatusPending
}

package iscsi

import (
	"context"
	"encoding/binary"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// task is one SCSI command from its arrival to its status.
type task struct {
	itt      uint32
	cmdSN    uint32
	lunField uint64
	lun      uint64
	cdb      []byte
	edtl     uint32
	read     bool
	write    bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// guarded by session.mu
	aborted  bool
	ready    bool           // all write data is in
	preset   *scsi.Response // answered without the device
	finished bool

	// write data, guarded by session.dmu. Until its buffer is granted
	// (resv), a write that needs R2T-solicited data holds only a buffer
	// for its unsolicited part; then buf grows to the whole EDTL.
	buf            []byte
	held           int          // len(buf) counted as unsolicited data
	resv           *reservation // of the whole EDTL, nil if none is needed
	granted        bool         // buf has the whole EDTL
	received       int
	unsolicitedEnd int
	ttt            uint32 // of the outstanding R2T, Reserved if none
	r2tEnd         int
	r2tSN          uint32
	dataSN         uint32 // next expected Data-Out DataSN in the sequence
}

func (t *task) runnable() bool { return t.ready || t.aborted || t.preset != nil }

// abort marks the task aborted and cancels its context (session.mu held).
func (t *task) abort() {
	t.aborted = true
	t.cancel()
}

// finish closes done once (session.mu held).
func (t *task) finish() {
	if !t.finished {
		t.finished = true
		t.cancel()
		close(t.done)
	}
}

// scsiCommand handles a SCSI Command PDU in the reader goroutine.
func (ss *session) scsiCommand(p *wire.PDU) error {
	c := ss.conn
	flags := p.Flags()
	t := &task{
		itt: p.ITT(), cmdSN: p.Uint32(24), lunField: p.LUN(), lun: wire.DecodeLUN(p.LUN()),
		edtl: p.Uint32(20), read: flags&wire.FlagRead != 0, write: flags&wire.FlagWrite != 0,
		done: make(chan struct{}), ttt: wire.Reserved,
	}
	t.cdb = append([]byte(nil), p.BHS[32:48]...)
	if ext, ok := extendedCDB(p.AHS); ok {
		t.cdb = append(t.cdb, ext...)
	}
	t.ctx, t.cancel = context.WithCancel(ss.ctx)
	if len(p.Data) > 0 && (!t.write || !c.p.immediateData || len(p.Data) > c.p.firstBurst || len(p.Data) > int(t.edtl)) {
		return c.reject(p, rejectProtocolError)
	}
	if !ss.checkCmdSN(p) {
		return nil // outside the window: silently ignored
	}
	if p.Immediate() && ss.full() {
		// Immediate commands bypass the window: one that finds no room
		// is answered TASK SET FULL at once; its Data-Out is dropped.
		ss.respond(t, scsi.Response{Status: scsi.StatusTaskSetFull})
		return nil
	}
	if t.write && int(t.edtl) > ss.srv.opts.MaxTransfer {
		t.preset = &scsi.Response{Status: scsi.StatusCheckCondition, Sense: senseBytes(0x05, 0x24, 0x00)}
	}
	ss.mu.Lock()
	ss.tasks[t.itt] = t
	ss.queue = append(ss.queue, t)
	ss.mu.Unlock()
	if t.write && t.preset == nil {
		ss.dmu.Lock()
		defer ss.dmu.Unlock()
		t.unsolicitedEnd = len(p.Data)
		if flags&wire.FlagFinal == 0 && !c.p.initialR2T {
			t.unsolicitedEnd = min(c.p.firstBurst, int(t.edtl))
		}
		ss.writeBuffer(t)
		t.received = copy(t.buf, p.Data)
		return ss.moreData(t)
	}
	ss.markReady(t)
	return nil
}

// writeBuffer gives a new write its buffer (session.dmu held). Data the
// initiator sends unasked (at most FirstBurstLength) always has room; a
// write that needs R2T-solicited data asks for a buffer of its whole
// EDTL, and until that is granted holds only its unsolicited part and
// gets no R2T. So the data buffered is bounded by MaxWriteBytes plus
// FirstBurstLength per outstanding command, however many writes of
// whatever length the initiator announces.
func (ss *session) writeBuffer(t *task) {
	if t.unsolicitedEnd >= int(t.edtl) {
		t.buf = make([]byte, t.edtl)
		t.held = len(t.buf)
		ss.lim.holdUnsolicited(&ss.budget, t.held)
		return
	}
	t.resv = &reservation{n: int64(t.edtl), sb: &ss.budget, onGrant: func() { ss.granted(t) }}
	if ss.lim.reserve(t.resv) {
		t.buf, t.granted = make([]byte, t.edtl), true
		return
	}
	t.buf = make([]byte, t.unsolicitedEnd)
	t.held = len(t.buf)
	ss.lim.holdUnsolicited(&ss.budget, t.held)
}

// granted is called, in a goroutine of its own, when a write that waited
// for its buffer gets it: the buffer grows to the EDTL and the R2T goes.
func (ss *session) granted(t *task) {
	ss.dmu.Lock()
	defer ss.dmu.Unlock()
	ss.mu.Lock()
	dead := t.aborted || t.finished || ss.closing
	ss.mu.Unlock()
	if dead || t.resv == nil {
		return // releaseData gives the reservation back
	}
	buf := make([]byte, t.edtl)
	copy(buf, t.buf[:t.received])
	ss.lim.holdUnsolicited(&ss.budget, -t.held)
	t.buf, t.held, t.granted = buf, 0, true
	_ = ss.moreData(t) // a failed send has closed the connection
}

// releaseData gives back what a finished task held of the write budget.
func (ss *session) releaseData(t *task) {
	if !t.write {
		return
	}
	ss.dmu.Lock()
	held, resv := t.held, t.resv
	t.held, t.resv, t.buf = 0, nil, nil
	ss.dmu.Unlock()
	if held != 0 {
		ss.lim.holdUnsolicited(&ss.budget, -held)
	}
	ss.lim.release(resv)
}

// extendedCDB returns the CDB bytes beyond 16 from an Extended CDB AHS.
func extendedCDB(ahs []byte) ([]byte, bool) {
	for len(ahs) >= 4 {
		n := int(binary.BigEndian.Uint16(ahs))
		typ := ahs[2]
		end := min(len(ahs), 3+n)
		if typ == 1 && n > 1 {
			return ahs[4:end], true
		}
		ahs = ahs[(3+n+3)&^3:]
	}
	return nil, false
}

func (ss *session) markReady(t *task) {
	ss.mu.Lock()
	t.ready = true
	ss.cond.Broadcast()
	ss.mu.Unlock()
}

// moreData decides what a write task waits for next: more unsolicited
// data, a new R2T, or nothing (it is ready).
func (ss *session) moreData(t *task) error {
	switch {
	case t.received >= int(t.edtl):
		ss.markReady(t)
		return nil
	case t.received < t.unsolicitedEnd:
		return nil
	case !t.granted:
		return nil // waits for its buffer; granted sends the R2T
	case t.ttt != wire.Reserved && t.received < t.r2tEnd:
		return nil
	}
	// Solicit the next burst.
	c := ss.conn
	t.ttt = c.newTTT()
	t.r2tEnd = min(t.received+c.p.maxBurst, int(t.edtl))
	t.dataSN = 0
	r := &wire.PDU{}
	r.SetOpcode(wire.OpR2T, false)
	r.BHS[1] = wire.FlagFinal
	r.SetLUN(t.lunField)
	r.SetUint32(16, t.itt)
	r.SetUint32(20, t.ttt)
	r.SetUint32(36, t.r2tSN)
	r.SetUint32(40, uint32(t.received))
	r.SetUint32(44, uint32(t.r2tEnd-t.received))
	t.r2tSN++
	return c.send(r, statusCurrent)
}

// dataOut takes a Data-Out PDU in the reader goroutine.
func (ss *session) dataOut(p *wire.PDU) error {
	ss.dmu.Lock()
	defer ss.dmu.Unlock()
	ss.mu.Lock()
	t := ss.tasks[p.ITT()]
	aborted := t != nil && t.aborted
	ss.mu.Unlock()
	if t == nil || t.buf == nil || aborted {
		return nil // a task that ended or was aborted: its data is dropped
	}
	ttt, off := p.Uint32(20), int(p.Uint32(40))
	solicited := ttt != wire.Reserved
	switch {
	case solicited && ttt != t.ttt,
		!solicited && t.received+len(p.Data) > t.unsolicitedEnd,
		off != t.received || off+len(p.Data) > len(t.buf),
		solicited && off+len(p.Data) > t.r2tEnd:
		return ss.conn.reject(p, rejectProtocolError)
	}
	t.received += copy(t.buf[off:], p.Data)
	return ss.moreData(t)
}

// run executes one task and sends its data and status.
func (ss *session) run(t *task) {
	var resp scsi.Response
	switch {
	case t.preset != nil:
		resp = *t.preset
	default:
		resp = ss.execute(t)
	}
	if t.ctx.Err() != nil {
		return // aborted: no status (RFC 7143 4.2.3.4 / SAM)
	}
	ss.respond(t, resp)
}

// execute answers REPORT LUNS and unknown LUNs, and hands the rest to
// the device.
func (ss *session) execute(t *task) scsi.Response {
	luns := ss.luns()
	if len(t.cdb) > 0 && t.cdb[0] == opReportLUNs {
		return reportLUNs(t.cdb, luns)
	}
	dev, ok := luns[t.lun]
	if !ok {
		return unknownLUN(t.cdb)
	}
	cmd := &scsi.Command{LUN: t.lun, CDB: t.cdb, Nexus: ss.nexus, ExpectedLen: t.edtl}
	if t.write {
		cmd.DataOut = t.buf[:t.received]
	}
	return dev.Execute(t.ctx, cmd)
}

// respond sends Data-In PDUs and the status: in the last Data-In when the
// status is GOOD, else in a SCSI Response with the sense data.
func (ss *session) respond(t *task, resp scsi.Response) {
	c := ss.conn
	data := resp.Data
	var resid uint32
	var rflags byte
	switch {
	case !t.read:
		if len(data) > 0 {
			rflags, resid = wire.FlagOverflow, uint32(len(data))
		}
		data = nil
	case len(data) > int(t.edtl):
		rflags, resid = wire.FlagOverflow, uint32(len(data))-t.edtl
		data = data[:t.edtl]
	case len(data) < int(t.edtl):
		rflags, resid = wire.FlagUnderflow, t.edtl-uint32(len(data))
	}
	if t.write && !t.read && rflags == 0 && t.received < int(t.edtl) {
		rflags, resid = wire.FlagUnderflow, t.edtl-uint32(t.received)
	}
	statusInData := resp.Status == scsi.StatusGood && len(data) > 0
	var dataSN uint32
	for off := 0; off < len(data); {
		seqEnd := min((off/c.p.maxBurst+1)*c.p.maxBurst, len(data)) // this Data-In sequence
		n := min(seqEnd-off, c.p.maxXmit)
		last := off+n == len(data)
		p := &wire.PDU{}
		p.SetOpcode(wire.OpDataIn, false)
		if off+n == seqEnd {
			p.BHS[1] = wire.FlagFinal
		}
		p.SetLUN(t.lunField)
		p.SetUint32(16, t.itt)
		p.SetUint32(20, wire.Reserved)
		p.SetUint32(36, dataSN)
		p.SetUint32(40, uint32(off))
		p.Data = data[off : off+n]
		kind := statusNone
		if last && statusInData {
			p.BHS[1] |= wire.FlagStatus | rflags
			p.BHS[3] = resp.Status
			p.SetUint32(44, resid)
			ss.releaseData(t)
			ss.forget(t)
			kind = statusAdvance
		}
		if c.send(p, kind) != nil {
			return
		}
		dataSN++
		off += n
	}
	if statusInData {
		return
	}
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSIResponse, false)
	p.BHS[1] = wire.FlagFinal | rflags
	p.BHS[3] = resp.Status
	p.SetUint32(16, t.itt)
	if t.read {
		p.SetUint32(36, dataSN)
	} else {
		p.SetUint32(36, t.r2tSN)
	}
	p.SetUint32(44, resid)
	if resp.Status == scsi.StatusCheckCondition && len(resp.Sense) > 0 {
		p.Data = make([]byte, 2+len(resp.Sense))
		binary.BigEndian.PutUint16(p.Data, uint16(len(resp.Sense)))
		copy(p.Data[2:], resp.Sense)
	}
	ss.releaseData(t)
	ss.forget(t)
	_ = c.send(p, statusAdvance) // a write error is kept in c.werr and ends the connection
}

// forget drops a task from the outstanding set before its final status
// leaves, so that its ITT can be reused and the window reopens.
func (ss *session) forget(t *task) {
	ss.mu.Lock()
	if ss.tasks[t.itt] == t {
		delete(ss.tasks, t.itt)
	}
	ss.mu.Unlock()
}

package iscsi

import (
	"context"
	"fmt"
	"sync"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// session is a discovery or normal session with its one connection.
type session struct {
	srv       *Server
	conn      *conn
	lim       *bounds
	counted   bool // holds a slot of MaxSessions
	key       sessionKey
	tsih      uint16
	discovery bool
	target    Target
	nexus     string
	done      chan struct{}

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond
	expCmdSN uint32
	maxCmdSN uint32
	tasks    map[uint32]*task // outstanding tasks by ITT
	queue    []*task          // waiting for the executor, in CmdSN order
	closing  bool
	execDone chan struct{}

	// dmu guards the write data of the tasks (buf, received, R2T
	// state): the reader fills it, a grant of buffer space (which may
	// come from another goroutine) enlarges it and sends the R2T.
	dmu    sync.Mutex
	budget sessionBudget // guarded by lim.mu

	// unsolCost is what one command may bring unasked (FirstBurstLength,
	// zero if the session negotiated no unsolicited data); the window
	// keeps budget.unsol + unused window × unsolCost within unsolCap.
	unsolCost, unsolCap int64

	// text response continuation (reader goroutine only)
	textTTT  uint32
	textRest []byte
}

func newSession(c *conn, st *loginState) *session {
	ss := &session{
		srv: c.srv, conn: c, lim: c.lim, discovery: st.discovery, target: st.target,
		done: make(chan struct{}), tasks: map[uint32]*task{}, execDone: make(chan struct{}),
		expCmdSN: st.cmdSN, textTTT: wire.Reserved,
	}
	copy(ss.key.isid[:], st.first.BHS[8:14])
	ss.key.initiator, ss.key.target = st.initiator, st.target.Name
	if p := st.neg.p; !st.discovery && (p.immediateData || !p.initialR2T) {
		ss.unsolCost = int64(p.firstBurst)
		ss.unsolCap = max(c.lim.maxSessUnsol, ss.unsolCost)
	}
	ss.maxCmdSN = ss.expCmdSN - 1
	ss.maxCmdSNLocked()
	ss.cond = sync.NewCond(&ss.mu)
	ss.nexus = fmt.Sprintf("%s,i,0x%x,%s,t,0x%x", st.initiator, ss.key.isid, st.target.Name, c.srv.opts.PortalGroupTag)
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	return ss
}

// luns returns the target's logical units now.
func (ss *session) luns() map[uint64]scsi.Device {
	if ss.target.LUNs == nil {
		return nil
	}
	return ss.target.LUNs.LUNs()
}

// arrived reports the new nexus to the devices.
func (ss *session) arrived() {
	for _, d := range ss.luns() {
		d.Reset(scsi.ResetNexusLoss, ss.nexus)
	}
}

// start starts the executor.
func (ss *session) start() { go ss.executor() }

// end tears the session down after its connection ended: every task is
// aborted, the executor stops, and the devices hear of the nexus loss.
func (ss *session) end() {
	ss.mu.Lock()
	ss.closing = true
	for _, t := range ss.tasks {
		t.abort()
	}
	ss.cond.Broadcast()
	ss.mu.Unlock()
	ss.cancel()
	<-ss.execDone
	if !ss.discovery {
		for _, d := range ss.luns() {
			d.Reset(scsi.ResetNexusLoss, ss.nexus)
		}
		ss.srv.unregister(ss)
	}
	if ss.counted {
		ss.lim.sessionEnded()
	}
	close(ss.done)
}

// window returns ExpCmdSN and MaxCmdSN to send.
func (ss *session) window() (uint32, uint32) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.expCmdSN, ss.maxCmdSNLocked()
}

// maxCmdSNLocked opens the window as far as the queue depth allows for
// the tasks outstanding, never shrinking it.
func (ss *session) maxCmdSNLocked() uint32 {
	slots := ss.srv.opts.QueueDepth - len(ss.tasks)
	if ss.unsolCost > 0 {
		slots = min(slots, int((ss.unsolCap-ss.budget.unsol.Load())/ss.unsolCost))
	}
	m := ss.expCmdSN - 1 + uint32(slots)
	if int32(m-ss.maxCmdSN) > 0 {
		ss.maxCmdSN = m
	}
	return ss.maxCmdSN
}

// full reports whether an immediate command, which the window does not
// hold back, finds no room: the queue is full or its unsolicited data
// would not fit.
func (ss *session) full() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.tasks) >= ss.srv.opts.QueueDepth ||
		ss.unsolCost > 0 && ss.budget.unsol.Load()+ss.unsolCost > ss.unsolCap
}

// checkCmdSN applies the CmdSN rules (RFC 7143 4.2.2.1) to a request and
// reports whether it is to be processed. A non-immediate request must
// carry ExpCmdSN and advances it; one outside the window is ignored.
func (ss *session) checkCmdSN(p *wire.PDU) bool {
	sn := p.Uint32(24)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if p.Immediate() {
		return true
	}
	if sn != ss.expCmdSN {
		return false
	}
	ss.expCmdSN++
	return true
}

// executor runs the queued SCSI commands one at a time in CmdSN order.
func (ss *session) executor() {
	defer close(ss.execDone)
	for {
		ss.mu.Lock()
		for !ss.closing && (len(ss.queue) == 0 || !ss.queue[0].runnable()) {
			ss.cond.Wait()
		}
		if ss.closing {
			left := ss.queue
			for _, t := range left {
				t.finish()
			}
			ss.queue = nil
			ss.mu.Unlock()
			for _, t := range left {
				ss.releaseData(t)
			}
			return
		}
		t := ss.queue[0]
		ss.queue = ss.queue[1:]
		aborted := t.aborted
		ss.mu.Unlock()
		if !aborted {
			ss.run(t)
		}
		ss.complete(t)
	}
}

// complete forgets a task and wakes whoever waits for it.
func (ss *session) complete(t *task) {
	ss.mu.Lock()
	if ss.tasks[t.itt] == t {
		delete(ss.tasks, t.itt)
	}
	t.finish()
	ss.mu.Unlock()
	ss.releaseData(t)
}

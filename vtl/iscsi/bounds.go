package iscsi

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// Defaults of the limits in Options; a zero field means its default
// (docs/iscsi.md, "Limits", says why each).
const (
	DefaultMaxLoginText            = 16 << 10
	DefaultMaxPendingLogins        = 128
	DefaultMaxPendingLoginsPerAddr = 32
	DefaultMaxSessions             = 32
	DefaultMaxSessionWriteBytes    = 64 << 20
	DefaultMaxWriteBytes           = 128 << 20
	DefaultMaxSessionUnsolicited   = 2 << 20
)

// Buffered is what the server holds for its peers now (see
// Server.Buffered).
type Buffered struct {
	PendingLogins int   // connections that have not completed login
	Sessions      int   // normal sessions logged in
	LoginText     int64 // login text gathered from Continue PDUs
	Reserved      int64 // write buffers reserved for R2T-solicited data
	Unsolicited   int64 // immediate and unsolicited write data held
	WaitingWrites int   // writes waiting for a reservation
}

// bounds is the server-wide accounting of the limits in Options: the
// logins under way, the sessions and the write data held.
type bounds struct {
	maxText, maxPending, maxPerAddr, maxSessions int
	maxSessWrite, maxWrite, maxSessUnsol         int64

	mu       sync.Mutex
	pending  int
	perAddr  map[string]int
	sessions int
	text     int64
	reserved int64
	unsol    int64
	waiters  []*reservation // FIFO: grants are in arrival order
}

func newBounds(o Options) *bounds {
	b := &bounds{
		maxText: o.MaxLoginText, maxPending: o.MaxPendingLogins, maxPerAddr: o.MaxPendingLoginsPerAddr,
		maxSessions: o.MaxSessions, maxSessWrite: int64(o.MaxSessionWriteBytes), maxWrite: int64(o.MaxWriteBytes),
		perAddr: map[string]int{},
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&b.maxText, DefaultMaxLoginText)
	def(&b.maxPending, DefaultMaxPendingLogins)
	def(&b.maxPerAddr, DefaultMaxPendingLoginsPerAddr)
	def(&b.maxSessions, DefaultMaxSessions)
	if b.maxSessWrite <= 0 {
		b.maxSessWrite = DefaultMaxSessionWriteBytes
	}
	if b.maxWrite <= 0 {
		b.maxWrite = DefaultMaxWriteBytes
	}
	b.maxSessUnsol = int64(o.MaxSessionUnsolicitedBytes)
	if b.maxSessUnsol <= 0 {
		b.maxSessUnsol = DefaultMaxSessionUnsolicited
	}
	// One write of the largest allowed length must always fit, or it
	// would wait forever.
	b.maxSessWrite = max(b.maxSessWrite, int64(o.MaxTransfer))
	b.maxWrite = max(b.maxWrite, b.maxSessWrite)
	return b
}

// Buffered reports what the server holds for its peers now: logins under
// way, sessions, and the bytes of login text and write data buffered.
func (s *Server) Buffered() Buffered {
	b := s.limits
	b.mu.Lock()
	defer b.mu.Unlock()
	return Buffered{PendingLogins: b.pending, Sessions: b.sessions, LoginText: b.text,
		Reserved: b.reserved, Unsolicited: b.unsol, WaitingWrites: len(b.waiters)}
}

// addrKey is the source address a connection's login counts against.
func addrKey(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admitLogin counts a connection that starts its login, or refuses it
// when too many have not completed theirs.
func (b *bounds) admitLogin(addr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending >= b.maxPending || b.perAddr[addr] >= b.maxPerAddr {
		return false
	}
	b.pending++
	b.perAddr[addr]++
	return true
}

func (b *bounds) loginDone(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending--
	if b.perAddr[addr]--; b.perAddr[addr] <= 0 {
		delete(b.perAddr, addr)
	}
}

// addText counts n bytes of login text (negative: released).
func (b *bounds) addText(n int) {
	b.mu.Lock()
	b.text += int64(n)
	b.mu.Unlock()
}

// admitSession takes a session slot. A reinstatement may go over the
// bound by one: it replaces a session that is about to end.
func (b *bounds) admitSession(reinstating bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions >= b.maxSessions && !reinstating {
		return false
	}
	b.sessions++
	return true
}

func (b *bounds) sessionEnded() {
	b.mu.Lock()
	b.sessions--
	b.mu.Unlock()
}

// holdUnsolicited counts immediate or unsolicited write data a session
// holds (negative: released). It is not refused: RFC 7143 lets the
// initiator send up to FirstBurstLength per command unasked, and the
// CmdSN window bounds the commands.
func (b *bounds) holdUnsolicited(sb *sessionBudget, n int) {
	b.mu.Lock()
	b.unsol += int64(n)
	b.mu.Unlock()
	sb.unsol.Add(int64(n))
}

// sessionBudget is one session's share of the write accounting.
type sessionBudget struct {
	reserved int64        // guarded by bounds.mu
	unsol    atomic.Int64 // read by the CmdSN window under session.mu
}

// Reservation states.
const (
	resvWaiting = iota
	resvGranted
	resvReleased
)

// reservation is the buffer of one write's R2T-solicited data.
type reservation struct {
	n       int64
	sb      *sessionBudget
	state   int
	onGrant func() // called without locks once granted after waiting
}

func (b *bounds) fits(r *reservation) bool {
	return b.reserved+r.n <= b.maxWrite && r.sb.reserved+r.n <= b.maxSessWrite
}

func (b *bounds) grantLocked(r *reservation) {
	r.state = resvGranted
	b.reserved += r.n
	r.sb.reserved += r.n
}

// reserve asks for r.n bytes. It reports whether they are granted now;
// if not, r waits its turn and r.onGrant is called when they are.
// Grants are strictly first come first served, so a session's writes are
// granted in CmdSN order and a large one is not starved by small ones.
func (b *bounds) reserve(r *reservation) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) == 0 && b.fits(r) {
		b.grantLocked(r)
		return true
	}
	r.state = resvWaiting
	b.waiters = append(b.waiters, r)
	return false
}

// release gives r's bytes back (or takes it out of the queue) and grants
// the writes that now fit.
func (b *bounds) release(r *reservation) {
	if r == nil {
		return
	}
	b.mu.Lock()
	switch r.state {
	case resvWaiting:
		if i := slices.Index(b.waiters, r); i >= 0 {
			b.waiters = slices.Delete(b.waiters, i, i+1)
		}
	case resvGranted:
		b.reserved -= r.n
		r.sb.reserved -= r.n
	}
	r.state = resvReleased
	var granted []*reservation
	for len(b.waiters) > 0 && b.fits(b.waiters[0]) {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.grantLocked(w)
		granted = append(granted, w)
	}
	b.mu.Unlock()
	for _, w := range granted {
		// Not here: the grant takes the other session's locks and
		// sends its R2T, which must not hold up this goroutine.
		go w.onGrant()
	}
}

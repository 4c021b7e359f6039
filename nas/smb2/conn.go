package smb2

import (
	"bufio"
	"context"
	"crypto/sha512"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// frameSlack is what a frame may carry beyond MaxIO once the connection
// has an authenticated session: headers, compounds, a transform header.
const frameSlack = 64 << 10

// readBufSize is the read buffer of a connection; larger frame bodies
// are read straight into the frame.
const readBufSize = 8 << 10

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex // serialises frame writes

	ctx    context.Context
	cancel context.CancelFunc

	accepted time.Time // the start of NegotiateTimeout
	authed   bool      // a session has been valid; read by serve only

	// Negotiated state, set by negotiate.
	dialect        uint16
	clientGUID     [16]byte
	clientCaps     uint32
	clientSecMode  uint16
	clientDialects []uint16
	serverSecMode  uint16
	serverCaps     uint32
	cipher         uint16
	signAlg        uint16
	preauth        [64]byte

	mu       sync.Mutex
	sessions map[uint64]*session
	credits  creditWindow
	pending  map[uint64]*pendingReq // by message id, async requests
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		srv:      s,
		nc:       nc,
		br:       bufio.NewReaderSize(nc, readBufSize),
		ctx:      ctx,
		accepted: time.Now(),
		cancel:   cancel,
		sessions: map[uint64]*session{},
		credits:  newCreditWindow(),
		pending:  map[uint64]*pendingReq{},
	}
}

var errDisconnect = errors.New("smb2: disconnect")

func (c *conn) serve() {
	defer c.teardown()
	for {
		limit, why, preauth := c.limits()
		frame, err := c.readFrame(limit)
		if err != nil {
			c.dropped(err, why, preauth)
			return
		}
		if err := c.handleFrame(frame); err != nil {
			c.srv.opts.Logger.Debug("smb2: dropping connection", "remote", c.nc.RemoteAddr(), "err", err)
			return
		}
	}
}

// Why a connection has the read deadline it has.
const (
	waitNegotiate = "negotiate timeout"
	waitIdle      = "idle timeout"
	waitNone      = ""
)

// limits sets the read deadline before the next frame and returns the
// largest frame it may have, and whether that is the limit before
// authentication. Until a session is authenticated the frame
// is small and the connection has NegotiateTimeout from accept; then a
// connection without a session has IdleTimeout from now, one whose
// sessions hold nothing open SessionIdleTimeout, and one with an open
// file or a pending request no deadline. Deadlines are on the socket,
// so they use the real clock, not Options.Now.
func (c *conn) limits() (limit uint32, why string, preauth bool) {
	o := &c.srv.opts
	sessions, busy := c.activity()
	if sessions > 0 {
		c.authed = true
	}
	var deadline time.Time
	why = waitIdle
	switch {
	case !c.authed:
		deadline, why = c.accepted.Add(o.NegotiateTimeout), waitNegotiate
	case busy:
		why = waitNone
	case sessions == 0:
		deadline = time.Now().Add(o.IdleTimeout)
	default:
		deadline = time.Now().Add(o.SessionIdleTimeout)
	}
	_ = c.nc.SetReadDeadline(deadline)
	if sessions == 0 {
		return o.MaxPreauthFrame, why, true
	}
	return o.MaxIO + frameSlack, why, false
}

// activity counts the connection's authenticated sessions and says
// whether any holds an open file or the connection a pending request.
func (c *conn) activity() (sessions int, busy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	busy = len(c.pending) > 0
	for _, s := range c.sessions {
		s.mu.Lock()
		if s.state == sessValid {
			sessions++
			busy = busy || len(s.opens) > 0
		}
		s.mu.Unlock()
	}
	return sessions, busy
}

// errFrameTooBig is readFrame's answer to a length over the limit.
var errFrameTooBig = errors.New("smb2: frame over the limit")

// dropped counts why serve ends on a read error; preauth says the frame
// was read before authentication.
func (c *conn) dropped(err error, why string, preauth bool) {
	var ne net.Error
	switch {
	case errors.Is(err, errFrameTooBig):
		if preauth {
			c.srv.bigPreauth.Add(1)
		}
	case errors.As(err, &ne) && ne.Timeout() && why == waitNegotiate:
		c.srv.negTimeouts.Add(1)
	case errors.As(err, &ne) && ne.Timeout() && why == waitIdle:
		c.srv.idleTimeouts.Add(1)
	default:
		return
	}
	c.srv.opts.Logger.Debug("smb2: dropping connection", "remote", c.nc.RemoteAddr(), "err", err, "limit", why)
}

// readFrame reads one direct-TCP frame: a zero byte, a 24-bit length. A
// length over limit is an error before any of the body is read.
func (c *conn) readFrame(limit uint32) ([]byte, error) {
	var h [4]byte
	for {
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		if h[0] == 0x85 { // NetBIOS keep-alive
			continue
		}
		break
	}
	if h[0] != 0 {
		return nil, errDisconnect
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if n < 4 {
		return nil, errDisconnect
	}
	if n > int(limit) {
		return nil, errFrameTooBig
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *conn) writeFrame(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := len(b)
	hdr := []byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	if _, err := c.nc.Write(append(hdr, b...)); err != nil {
		c.nc.Close()
		return err
	}
	return nil
}

func (c *conn) teardown() {
	c.cancel()
	c.nc.Close()
	c.mu.Lock()
	sessions := c.sessions
	c.sessions = map[uint64]*session{}
	pend := c.pending
	c.pending = map[uint64]*pendingReq{}
	c.mu.Unlock()
	for _, p := range pend {
		p.cancel()
	}
	for _, s := range sessions {
		s.close(c.srv, true)
	}
}

// preauthUpdate folds msg into a preauth integrity hash.
func preauthUpdate(h *[64]byte, msg []byte) {
	d := sha512.New()
	d.Write(h[:])
	d.Write(msg)
	copy(h[:], d.Sum(nil))
}

func (c *conn) session(id uint64) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}

// creditWindow tracks the message ids a client may use ([MS-SMB2]
// 3.3.1.1): ids in [lo, hi) are granted, used ones are remembered until
// lo passes them.
type creditWindow struct {
	lo, hi uint64
	used   map[uint64]struct{}
}

func newCreditWindow() creditWindow {
	return creditWindow{lo: 0, hi: 1, used: map[uint64]struct{}{}}
}

// take consumes ids [mid, mid+charge); false if any is not granted or
// was used.
func (w *creditWindow) take(mid uint64, charge uint16) bool {
	n := uint64(max(charge, 1))
	if mid < w.lo || mid+n < mid || mid+n > w.hi {
		return false
	}
	for i := mid; i < mid+n; i++ {
		if _, ok := w.used[i]; ok {
			return false
		}
	}
	for i := mid; i < mid+n; i++ {
		w.used[i] = struct{}{}
	}
	for {
		if _, ok := w.used[w.lo]; !ok {
			break
		}
		delete(w.used, w.lo)
		w.lo++
	}
	return true
}

// grant adds up to want credits, keeping the window under limit and the
// client with at least one credit; it returns the number granted.
func (w *creditWindow) grant(want uint16, limit uint16) uint16 {
	outstanding := w.hi - w.lo - uint64(len(w.used))
	room := uint64(limit) - min(uint64(limit), w.hi-w.lo)
	g := uint64(want)
	if g > room {
		g = room
	}
	if g == 0 && outstanding == 0 {
		g = 1
	}
	w.hi += g
	return uint16(g)
}

package smb2

import (
	"bufio"
	"context"
	"crypto/sha512"
	"errors"
	"io"
	"net"
	"sync"
)

// maxFrame bounds one NetBIOS frame: the largest write plus headroom.
const frameSlack = 64 << 10

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex // serialises frame writes

	ctx    context.Context
	cancel context.CancelFunc

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
		br:       bufio.NewReaderSize(nc, 64<<10),
		ctx:      ctx,
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
		frame, err := c.readFrame()
		if err != nil {
			return
		}
		if err := c.handleFrame(frame); err != nil {
			c.srv.opts.Logger.Debug("smb2: dropping connection", "remote", c.nc.RemoteAddr(), "err", err)
			return
		}
	}
}

// readFrame reads one direct-TCP frame: a zero byte, a 24-bit length.
func (c *conn) readFrame() ([]byte, error) {
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
	if n < 4 || n > int(c.srv.opts.MaxIO)+frameSlack {
		return nil, errDisconnect
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

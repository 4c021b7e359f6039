package initiator

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// Errors of a Session.
var (
	ErrClosed   = errors.New("iscsi initiator: session closed")
	ErrRejected = errors.New("iscsi initiator: target rejected the PDU")
)

// RejectError is a Reject the target sent for a request.
type RejectError struct{ Reason byte }

func (e *RejectError) Error() string { return fmt.Sprintf("%v (reason %#x)", ErrRejected, e.Reason) }
func (e *RejectError) Unwrap() error { return ErrRejected }

// Session is a logged-in session over one connection.
type Session struct {
	nc     net.Conn
	br     *bufio.Reader
	cfg    Config
	params Params
	tsih   uint16

	wmu sync.Mutex // writes

	mu       sync.Mutex
	cond     *sync.Cond
	nextITT  uint32
	cmdSN    uint32
	expCmdSN uint32
	maxCmdSN uint32
	expStat  uint32
	calls    map[uint32]*call
	err      error
	// Pings counts the target's NOP-In pings answered.
	pings int
	done  chan struct{}
}

// call is one request waiting for its answer.
type call struct {
	itt     uint32
	lun     uint64
	dataOut []byte
	data    []byte
	dataIns int
	final   chan *wire.PDU
}

func newSession(nc net.Conn, cfg Config, l *login, p Params) *Session {
	s := &Session{
		nc: nc, br: bufio.NewReaderSize(nc, 64<<10), cfg: cfg, params: p, tsih: l.tsih,
		nextITT: l.itt + 1, cmdSN: l.cmdSN, expCmdSN: l.cmdSN, maxCmdSN: l.cmdSN,
		expStat: l.expStat, calls: map[uint32]*call{}, done: make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	go s.reader()
	return s
}

// Params returns the negotiated values.
func (s *Session) Params() Params { return s.params }

// TSIH is the session handle the target assigned.
func (s *Session) TSIH() uint16 { return s.tsih }

// Pings is how many NOP-In pings of the target were answered.
func (s *Session) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// Close drops the connection without logging out.
func (s *Session) Close() error {
	err := s.nc.Close()
	<-s.done
	return err
}

// Done is closed when the connection ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended, once Done is closed.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) digests() wire.Digests {
	return wire.Digests{Header: s.params.HeaderDigest, Data: s.params.DataDigest}
}

// Send writes a PDU as it is (for protocol tests).
func (s *Session) Send(p *wire.PDU) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return wire.WritePDU(s.nc, p, s.digests())
}

// SendBytes writes raw bytes (for protocol tests: broken digests).
func (s *Session) SendBytes(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.nc.Write(b)
	return err
}

// Digests are the connection's negotiated digests.
func (s *Session) Digests() wire.Digests { return s.digests() }

// newCall registers a call under a fresh ITT.
func (s *Session) newCall(lun uint64) (*call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.nextITT++
	if s.nextITT == wire.Reserved {
		s.nextITT = 1
	}
	c := &call{itt: s.nextITT, lun: lun, final: make(chan *wire.PDU, 1)}
	s.calls[c.itt] = c
	return c, nil
}

func (s *Session) drop(c *call) {
	s.mu.Lock()
	delete(s.calls, c.itt)
	s.mu.Unlock()
}

// number assigns CmdSN and ExpStatSN to a request, waiting for the
// target's window unless the request is immediate, and sends it.
func (s *Session) number(ctx context.Context, p *wire.PDU, immediate bool) error {
	s.mu.Lock()
	if !immediate {
		stop := context.AfterFunc(ctx, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		for s.err == nil && ctx.Err() == nil && int32(s.cmdSN-s.maxCmdSN) > 0 {
			s.cond.Wait()
		}
		stop()
	}
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	p.SetUint32(24, s.cmdSN)
	if !immediate {
		s.cmdSN++
	}
	p.SetUint32(28, s.expStat)
	// Send under mu so that CmdSN order is wire order.
	s.wmu.Lock()
	s.mu.Unlock()
	err := wire.WritePDU(s.nc, p, s.digests())
	s.wmu.Unlock()
	return err
}

// wait waits for the final PDU of a call.
func (s *Session) wait(ctx context.Context, c *call) (*wire.PDU, error) {
	select {
	case p := <-c.final:
		if p.Opcode() == wire.OpReject {
			return p, &RejectError{p.BHS[2]}
		}
		return p, nil
	case <-s.done:
		select {
		case p := <-c.final:
			return p, nil
		default:
		}
		return nil, s.Err()
	case <-ctx.Done():
		s.drop(c)
		return nil, ctx.Err()
	}
}

// RoundTrip sends p (its ITT, CmdSN and ExpStatSN are filled in) and
// returns the target's answer: the PDU with the same ITT, or a Reject
// naming it (as a *RejectError).
func (s *Session) RoundTrip(ctx context.Context, p *wire.PDU) (*wire.PDU, error) {
	c, err := s.newCall(p.LUN())
	if err != nil {
		return nil, err
	}
	defer s.drop(c)
	p.SetUint32(16, c.itt)
	if err := s.number(ctx, p, p.Immediate()); err != nil {
		return nil, err
	}
	return s.wait(ctx, c)
}

// reader routes the target's PDUs.
func (s *Session) reader() {
	var err error
	for {
		var p *wire.PDU
		p, err = wire.ReadPDU(s.br, s.digests(), max(s.params.MaxRecv, 8192))
		if err != nil {
			break
		}
		if err = s.handle(p); err != nil {
			break
		}
	}
	s.mu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("%w: %v", ErrClosed, err)
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.nc.Close()
	close(s.done)
}

func (s *Session) handle(p *wire.PDU) error {
	op := p.Opcode()
	s.mu.Lock()
	switch op {
	case wire.OpSCSIResponse, wire.OpTaskMgmtResp, wire.OpTextResp, wire.OpLogoutResp, wire.OpReject, wire.OpNopIn:
		if op != wire.OpNopIn || p.ITT() != wire.Reserved {
			s.expStat = p.Uint32(24) + 1
		}
	case wire.OpDataIn:
		if p.Flags()&wire.FlagStatus != 0 {
			s.expStat = p.Uint32(24) + 1
		}
	}
	if exp, mx := p.Uint32(28), p.Uint32(32); int32(mx-(exp-1)) >= 0 {
		if int32(exp-s.expCmdSN) > 0 {
			s.expCmdSN = exp
		}
		if int32(mx-s.maxCmdSN) > 0 {
			s.maxCmdSN = mx
		}
		s.cond.Broadcast()
	}
	itt := p.ITT()
	if op == wire.OpReject && len(p.Data) >= wire.BHSLen {
		itt = binary.BigEndian.Uint32(p.Data[16:])
	}
	c := s.calls[itt]
	s.mu.Unlock()

	switch op {
	case wire.OpNopIn:
		if p.ITT() == wire.Reserved { // the target pings
			if p.Uint32(20) != wire.Reserved && !s.cfg.IgnorePings {
				return s.pong(p)
			}
			return nil
		}
	case wire.OpR2T:
		if c == nil {
			return nil
		}
		if c.dataOut == nil { // a raw RoundTrip: the caller sees the R2T
			break
		}
		off, n := int(p.Uint32(40)), int(p.Uint32(44))
		// A write error has no caller to go to here; the call waiting for
		// its status sees the broken connection.
		go func() { _ = s.sendData(c, p.Uint32(20), off, n) }()
		return nil
	case wire.OpDataIn:
		if c == nil {
			return nil
		}
		off := int(p.Uint32(40))
		if end := off + len(p.Data); end > len(c.data) {
			c.data = append(c.data, make([]byte, end-len(c.data))...)
		}
		copy(c.data[off:], p.Data)
		c.dataIns++
		if p.Flags()&wire.FlagStatus == 0 {
			return nil
		}
	case wire.OpAsync:
		return nil
	}
	if c != nil {
		select {
		case c.final <- p:
		default:
		}
	}
	return nil
}

// pong answers a target's NOP-In ping.
func (s *Session) pong(in *wire.PDU) error {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpNopOut, true)
	p.BHS[1] = wire.FlagFinal
	copy(p.BHS[8:16], in.BHS[8:16])
	p.SetUint32(16, wire.Reserved)
	p.SetUint32(20, in.Uint32(20))
	s.mu.Lock()
	s.pings++
	s.mu.Unlock()
	return s.number(context.Background(), p, true)
}

// sendData answers an R2T (or sends unsolicited data when ttt is
// Reserved) with Data-Out PDUs no longer than the target takes.
func (s *Session) sendData(c *call, ttt uint32, off, n int) error {
	end := min(off+n, len(c.dataOut))
	var sn uint32
	for off < end {
		k := min(end-off, s.params.MaxXmit)
		p := &wire.PDU{}
		p.SetOpcode(wire.OpDataOut, false)
		if off+k == end {
			p.BHS[1] = wire.FlagFinal
		}
		p.SetLUN(c.lun)
		p.SetUint32(16, c.itt)
		p.SetUint32(20, ttt)
		s.mu.Lock()
		p.SetUint32(28, s.expStat)
		s.mu.Unlock()
		p.SetUint32(36, sn)
		p.SetUint32(40, uint32(off))
		p.Data = c.dataOut[off : off+k]
		if err := s.Send(p); err != nil {
			return err
		}
		sn++
		off += k
	}
	return nil
}

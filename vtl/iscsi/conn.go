package iscsi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// conn is one TCP connection: its login, then the full feature phase of
// the session it belongs to.
type conn struct {
	srv *Server
	lim *bounds
	nc  net.Conn
	br  *bufio.Reader
	p   params

	// wmu serializes writes and guards statSN.
	wmu    sync.Mutex
	statSN uint32
	werr   error

	sess *session
	// ping state, reader goroutine only
	pingTTT  uint32
	pingSent time.Time
	nextTTT  uint32
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{srv: s, lim: s.limits, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), p: defaultParams(), pingTTT: wire.Reserved}
}

func (c *conn) serve() {
	defer c.nc.Close()
	addr := addrKey(c.nc.RemoteAddr())
	if !c.lim.admitLogin(addr) {
		c.srv.log.Debug("iscsi: too many logins under way, connection closed", "remote", c.nc.RemoteAddr().String())
		return
	}
	ss, err := c.login()
	c.lim.loginDone(addr)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.srv.log.Info("iscsi: login failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		}
		return
	}
	c.sess = ss
	ss.start()
	// readLoop returns only when the connection ends, always with an error.
	err = c.readLoop()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errLogout) {
		c.srv.log.Info("iscsi: connection ends", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	c.nc.Close()
	ss.end()
}

var errLogout = errors.New("iscsi: logged out")

// newTTT returns a target transfer tag (never the reserved value).
func (c *conn) newTTT() uint32 {
	c.nextTTT++
	if c.nextTTT == wire.Reserved {
		c.nextTTT = 1
	}
	return c.nextTTT
}

// sendKind says how a PDU's StatSN field is filled.
type sendKind int

const (
	statusNone    sendKind = iota // StatSN field left alone (zero or set by caller)
	statusCurrent                 // carries the next StatSN, not advanced
	statusAdvance                 // carries StatSN, which then advances
)

// send writes p after filling StatSN (offset 24) as kind says and
// ExpCmdSN/MaxCmdSN (28/32) from the session's window.
func (c *conn) send(p *wire.PDU, kind sendKind) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	switch kind {
	case statusCurrent:
		p.SetUint32(24, c.statSN)
	case statusAdvance:
		p.SetUint32(24, c.statSN)
		c.statSN++
	}
	if c.sess != nil {
		exp, max := c.sess.window()
		p.SetUint32(28, exp)
		p.SetUint32(32, max)
	}
	c.werr = c.write(p)
	if c.werr != nil {
		c.nc.Close()
	}
	return c.werr
}

// write sends header, data and digests with one writev, without copying
// the data segment.
func (c *conn) write(p *wire.PDU) error {
	d := c.p.digests()
	n := len(p.Data)
	p.BHS[4] = byte(len(p.AHS) / 4)
	p.BHS[5], p.BHS[6], p.BHS[7] = byte(n>>16), byte(n>>8), byte(n)
	hdr := make([]byte, 0, wire.BHSLen+len(p.AHS)+4)
	hdr = append(hdr, p.BHS[:]...)
	hdr = append(hdr, p.AHS...)
	if d.Header {
		hdr = binary.LittleEndian.AppendUint32(hdr, wire.CRC32C(hdr))
	}
	bufs := net.Buffers{hdr}
	if n > 0 {
		bufs = append(bufs, p.Data)
		var tail []byte
		pad := (4 - n%4) % 4
		tail = append(tail, make([]byte, pad)...)
		if d.Data {
			crc := wire.CRC32C(p.Data)
			if pad > 0 {
				crc = wire.CRC32CUpdate(crc, tail[:pad])
			}
			tail = binary.LittleEndian.AppendUint32(tail, crc)
		}
		if len(tail) > 0 {
			bufs = append(bufs, tail)
		}
	}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// readPDU reads the next PDU of the full feature phase, pinging an idle
// initiator with NOP-In when the server is configured to.
func (c *conn) readPDU() (*wire.PDU, error) {
	o := c.srv.opts
	for o.NopInterval > 0 {
		wait := o.NopInterval
		if c.pingTTT != wire.Reserved {
			wait = time.Until(c.pingSent.Add(o.NopTimeout))
		}
		c.nc.SetReadDeadline(time.Now().Add(wait))
		_, err := c.br.Peek(1)
		if err == nil {
			break
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return nil, err
		}
		if c.pingTTT != wire.Reserved {
			return nil, errors.New("iscsi: initiator did not answer the NOP-In ping")
		}
		if err := c.ping(); err != nil {
			return nil, err
		}
	}
	if o.NopInterval > 0 {
		c.nc.SetReadDeadline(time.Now().Add(o.NopInterval + o.NopTimeout))
	}
	return wire.ReadPDU(c.br, c.p.digests(), c.p.maxRecv)
}

// ping sends a NOP-In that asks for a NOP-Out answer.
func (c *conn) ping() error {
	c.pingTTT = c.newTTT()
	c.pingSent = time.Now()
	p := &wire.PDU{}
	p.SetOpcode(wire.OpNopIn, false)
	p.BHS[1] = wire.FlagFinal
	p.SetUint32(16, wire.Reserved)
	p.SetUint32(20, c.pingTTT)
	return c.send(p, statusCurrent)
}

// reject sends a Reject carrying the offending header.
func (c *conn) reject(bad *wire.PDU, reason byte) error {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpReject, false)
	p.BHS[1] = wire.FlagFinal
	p.BHS[2] = reason
	p.SetUint32(16, wire.Reserved)
	p.Data = append([]byte(nil), bad.BHS[:]...)
	return c.send(p, statusAdvance)
}

// Reject reasons (RFC 7143 11.17.1).
const (
	rejectDataDigest    = 0x02
	rejectProtocolError = 0x04
	rejectNotSupported  = 0x05
	rejectInvalidField  = 0x09
)

package iscsi

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// readLoop reads and dispatches the PDUs of the full feature phase until
// the connection ends or the session logs out.
func (c *conn) readLoop() error {
	ss := c.sess
	for {
		p, err := c.readPDU()
		if errors.Is(err, wire.ErrDataDigest) {
			// The header is sound: reject the PDU, the initiator
			// recovers (at ERL 0 by retrying or resetting the task).
			if err := c.reject(p, rejectDataDigest); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := ss.dispatch(p); err != nil {
			return err
		}
	}
}

func (ss *session) dispatch(p *wire.PDU) error {
	c := ss.conn
	op := p.Opcode()
	if ss.discovery {
		switch op {
		case wire.OpNopOut, wire.OpTextReq, wire.OpLogoutReq:
		default:
			return c.reject(p, rejectProtocolError)
		}
	}
	switch op {
	case wire.OpNopOut:
		return ss.nopOut(p)
	case wire.OpSCSICommand:
		return ss.scsiCommand(p)
	case wire.OpDataOut:
		return ss.dataOut(p)
	case wire.OpTaskMgmt:
		return ss.taskMgmt(p)
	case wire.OpTextReq:
		return ss.text(p)
	case wire.OpLogoutReq:
		return ss.logout(p)
	case wire.OpLoginReq, wire.OpSNACK:
		return c.reject(p, rejectProtocolError)
	}
	return c.reject(p, rejectNotSupported)
}

// nopOut answers a ping, or takes the answer to ours.
func (ss *session) nopOut(p *wire.PDU) error {
	c := ss.conn
	if ttt := p.Uint32(20); ttt != wire.Reserved {
		if ttt == c.pingTTT {
			c.pingTTT = wire.Reserved
		}
		return nil
	}
	if !ss.checkCmdSN(p) || p.ITT() == wire.Reserved {
		return nil
	}
	r := &wire.PDU{}
	r.SetOpcode(wire.OpNopIn, false)
	r.BHS[1] = wire.FlagFinal
	copy(r.BHS[8:16], p.BHS[8:16])
	r.SetUint32(16, p.ITT())
	r.SetUint32(20, wire.Reserved)
	r.Data = p.Data
	return c.send(r, statusAdvance)
}

// Task management functions and responses (RFC 7143 11.5, 11.6).
const (
	tmfAbortTask       = 1
	tmfAbortTaskSet    = 2
	tmfClearACA        = 3
	tmfClearTaskSet    = 4
	tmfLUNReset        = 5
	tmfTargetWarmReset = 6
	tmfTargetColdReset = 7
	tmfTaskReassign    = 8
	tmfComplete        = 0
	tmfNoTask          = 1
	tmfNoLUN           = 2
	tmfReassignNotSupp = 4
	tmfNotSupported    = 5
	tmfRejected        = 255
)

// taskMgmt aborts what the function names, waits for those tasks to end,
// reports resets to the devices and answers.
func (ss *session) taskMgmt(p *wire.PDU) error {
	c := ss.conn
	if !ss.checkCmdSN(p) {
		return nil
	}
	fn := p.Flags() & 0x7f
	lun := wire.DecodeLUN(p.LUN())
	luns := ss.luns()
	_, lunOK := luns[lun]
	var victims []*task
	response := byte(tmfComplete)
	ss.mu.Lock()
	switch fn {
	case tmfAbortTask:
		rtt := p.Uint32(20)
		if t := ss.tasks[rtt]; t != nil && t.lun == lun {
			victims = append(victims, t)
		} else if ref := p.Uint32(32); int32(ref-ss.expCmdSN) >= 0 {
			response = tmfNoTask // never received: RFC 7143 11.5.1 b)
		}
	case tmfAbortTaskSet, tmfClearTaskSet, tmfLUNReset:
		if !lunOK {
			response = tmfNoLUN
			break
		}
		for _, t := range ss.tasks {
			if t.lun == lun {
				victims = append(victims, t)
			}
		}
	case tmfTargetWarmReset, tmfTargetColdReset:
		for _, t := range ss.tasks {
			victims = append(victims, t)
		}
	case tmfTaskReassign:
		response = tmfReassignNotSupp
	default:
		response = tmfNotSupported
	}
	for _, t := range victims {
		t.abort()
	}
	ss.cond.Broadcast()
	ss.mu.Unlock()

	respond := func() {
		for _, t := range victims {
			<-t.done
		}
		switch {
		case response != tmfComplete:
		case fn == tmfLUNReset:
			luns[lun].Reset(scsi.ResetLUN, ss.nexus)
		case fn == tmfTargetWarmReset || fn == tmfTargetColdReset:
			for _, d := range luns {
				d.Reset(scsi.ResetTarget, ss.nexus)
			}
		}
		r := &wire.PDU{}
		r.SetOpcode(wire.OpTaskMgmtResp, false)
		r.BHS[1] = wire.FlagFinal
		r.BHS[2] = response
		r.SetUint32(16, p.ITT())
		_ = c.send(r, statusAdvance) // a write error is kept in c.werr and ends the connection
		if fn == tmfTargetColdReset && response == tmfComplete {
			c.nc.Close() // a cold reset ends the connection after the response
		}
	}
	if len(victims) == 0 {
		respond()
		return nil
	}
	// The reader goes on: an aborted write may still get Data-Out. After
	// Shutdown began nothing runs: the connection is closing anyway.
	c.srv.loop.Go(func(context.Context) { respond() })
	return nil
}

// logout ends the session (or its only connection, which at ERL 0 is the
// same) after the outstanding tasks were aborted.
func (ss *session) logout(p *wire.PDU) error {
	c := ss.conn
	if !ss.checkCmdSN(p) {
		return nil
	}
	reason := p.Flags() & 0x7f
	response := byte(0)
	if reason == 2 {
		response = 2 // connection recovery is not supported at ERL 0
	}
	var victims []*task
	if response == 0 {
		ss.mu.Lock()
		for _, t := range ss.tasks {
			t.abort()
			victims = append(victims, t)
		}
		ss.cond.Broadcast()
		ss.mu.Unlock()
		for _, t := range victims {
			<-t.done
		}
	}
	r := &wire.PDU{}
	r.SetOpcode(wire.OpLogoutResp, false)
	r.BHS[1] = wire.FlagFinal
	r.BHS[2] = response
	r.SetUint32(16, p.ITT())
	r.BHS[40], r.BHS[41] = byte(c.p.time2Wait>>8), byte(c.p.time2Wait)
	r.BHS[42], r.BHS[43] = byte(c.p.time2Retain>>8), byte(c.p.time2Retain)
	if err := c.send(r, statusAdvance); err != nil {
		return err
	}
	if response != 0 {
		return nil
	}
	return errLogout
}

// text answers a Text Request: SendTargets, continued when the answer is
// longer than the initiator takes in one PDU.
func (ss *session) text(p *wire.PDU) error {
	c := ss.conn
	if !ss.checkCmdSN(p) {
		return nil
	}
	var out []byte
	if ttt := p.Uint32(20); ttt != wire.Reserved && ttt == ss.textTTT {
		out = ss.textRest
	} else {
		kv, err := wire.ParseText(p.Data)
		if err != nil {
			return c.reject(p, rejectProtocolError)
		}
		var ans wire.Text
		for _, x := range kv {
			if x.Key == "SendTargets" {
				ans = append(ans, ss.sendTargets(x.Value)...)
				continue
			}
			ans = append(ans, wire.KV{Key: x.Key, Value: "NotUnderstood"})
		}
		out = ans.Encode()
	}
	r := &wire.PDU{}
	r.SetOpcode(wire.OpTextResp, false)
	r.SetUint32(16, p.ITT())
	if len(out) > c.p.maxXmit {
		ss.textTTT = c.newTTT()
		ss.textRest = out[c.p.maxXmit:]
		out = out[:c.p.maxXmit]
		r.BHS[1] = wire.FlagContinue
		r.SetUint32(20, ss.textTTT)
	} else {
		ss.textTTT, ss.textRest = wire.Reserved, nil
		r.BHS[1] = wire.FlagFinal
		r.SetUint32(20, wire.Reserved)
	}
	r.Data = out
	return c.send(r, statusAdvance)
}

// sendTargets lists targets with the address the initiator connected to.
func (ss *session) sendTargets(which string) wire.Text {
	c := ss.conn
	addr := c.nc.LocalAddr().String()
	if ta, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
		ip := ta.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		addr = net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
	}
	portal := addr + "," + strconv.Itoa(int(ss.srv.opts.PortalGroupTag))
	var out wire.Text
	for _, t := range ss.srv.src.Targets() {
		switch {
		case ss.discovery && which == "All", which == t.Name,
			!ss.discovery && which == "" && t.Name == ss.target.Name:
			out = append(out, wire.KV{Key: "TargetName", Value: t.Name}, wire.KV{Key: "TargetAddress", Value: portal})
		}
	}
	return out
}

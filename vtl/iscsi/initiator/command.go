package initiator

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// Result is the outcome of a SCSI command.
type Result struct {
	Status byte
	Data   []byte // Data-In
	Sense  []byte
	// Residual with the overflow/underflow flag the target set.
	Residual            uint32
	Overflow, Underflow bool
	// StatusInData says the status came in the last Data-In PDU.
	StatusInData bool
	DataIns      int
}

// Command runs one SCSI command on lun (a LUN number) with dataOut as
// its write data (nil for none) and readLen bytes of expected Data-In.
// The Expected Data Transfer Length is len(dataOut) for a write, else
// readLen.
func (s *Session) Command(ctx context.Context, lun uint64, cdb []byte, dataOut []byte, readLen int) (*Result, error) {
	c, err := s.newCall(wire.EncodeLUN(lun))
	if err != nil {
		return nil, err
	}
	defer s.drop(c)
	c.dataOut = dataOut
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | 0x01 // simple task attribute
	edtl := readLen
	if dataOut != nil {
		p.BHS[1] |= wire.FlagWrite
		edtl = len(dataOut)
	}
	if readLen > 0 {
		p.BHS[1] |= wire.FlagRead
	}
	p.SetLUN(c.lun)
	p.SetUint32(16, c.itt)
	p.SetUint32(20, uint32(edtl))
	if len(cdb) > 16 {
		ahs := make([]byte, 4+((len(cdb)-16+3)&^3))
		binary.BigEndian.PutUint16(ahs, uint16(len(cdb)-16+1))
		ahs[2] = 1
		copy(ahs[4:], cdb[16:])
		p.AHS = ahs
		copy(p.BHS[32:48], cdb[:16])
	} else {
		copy(p.BHS[32:48], cdb)
	}
	prm := s.params
	unsolicited := 0
	if dataOut != nil {
		if prm.ImmediateData {
			p.Data = dataOut[:min(len(dataOut), prm.FirstBurst, prm.MaxXmit)]
		}
		if !prm.InitialR2T {
			unsolicited = min(len(dataOut), prm.FirstBurst)
		}
		if unsolicited > len(p.Data) {
			p.BHS[1] &^= wire.FlagFinal // unsolicited Data-Out follows
		}
	}
	if err := s.number(ctx, p, false); err != nil {
		return nil, err
	}
	if unsolicited > len(p.Data) {
		if err := s.sendData(c, wire.Reserved, len(p.Data), unsolicited-len(p.Data)); err != nil {
			return nil, err
		}
	}
	r, err := s.wait(ctx, c)
	if err != nil {
		return nil, err
	}
	res := &Result{Status: r.BHS[3], Data: c.data, DataIns: c.dataIns, Residual: r.Uint32(44),
		Overflow: r.Flags()&wire.FlagOverflow != 0, Underflow: r.Flags()&wire.FlagUnderflow != 0}
	switch r.Opcode() {
	case wire.OpDataIn:
		res.StatusInData = true
	case wire.OpSCSIResponse:
		if r.BHS[2] != 0 {
			return res, errors.New("iscsi initiator: target failure response")
		}
		if len(r.Data) >= 2 {
			n := int(binary.BigEndian.Uint16(r.Data))
			res.Sense = r.Data[2:min(2+n, len(r.Data))]
		}
	}
	if want := readLen; res.Underflow && int(res.Residual) <= want {
		if len(res.Data) > want-int(res.Residual) {
			res.Data = res.Data[:want-int(res.Residual)]
		}
	}
	return res, nil
}

// Task management functions.
const (
	AbortTask       = 1
	AbortTaskSet    = 2
	ClearTaskSet    = 4
	LUNReset        = 5
	TargetWarmReset = 6
	TargetColdReset = 7
	TaskReassign    = 8
)

// TaskMgmt sends a task management request (immediate) and returns the
// target's response code. ref is the ITT of the task to abort.
func (s *Session) TaskMgmt(ctx context.Context, fn byte, lun uint64, ref uint32, refCmdSN uint32) (byte, error) {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpTaskMgmt, true)
	p.BHS[1] = 0x80 | fn
	p.SetLUN(wire.EncodeLUN(lun))
	p.SetUint32(20, ref)
	p.SetUint32(32, refCmdSN)
	r, err := s.RoundTrip(ctx, p)
	if err != nil {
		return 0, err
	}
	return r.BHS[2], nil
}

// LastITT is the Initiator Task Tag given to the latest call (to name a
// task for ABORT TASK in tests).
func (s *Session) LastITT() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextITT
}

// CmdSN is the CmdSN the next non-immediate request will carry.
func (s *Session) CmdSN() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmdSN
}

// Window returns the target's ExpCmdSN and MaxCmdSN as last seen.
func (s *Session) Window() (uint32, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expCmdSN, s.maxCmdSN
}

// Nop sends a NOP-Out ping and waits for the echo.
func (s *Session) Nop(ctx context.Context, data []byte) ([]byte, error) {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpNopOut, true)
	p.BHS[1] = wire.FlagFinal
	p.SetUint32(20, wire.Reserved)
	p.Data = data
	r, err := s.RoundTrip(ctx, p)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// Text sends a Text Request and gathers the (possibly continued) answer.
func (s *Session) Text(ctx context.Context, kv wire.Text) (wire.Text, error) {
	var all []byte
	ttt := uint32(wire.Reserved)
	data := kv.Encode()
	for {
		p := &wire.PDU{}
		p.SetOpcode(wire.OpTextReq, false)
		p.BHS[1] = wire.FlagFinal
		p.SetUint32(20, ttt)
		p.Data = data
		r, err := s.RoundTrip(ctx, p)
		if err != nil {
			return nil, err
		}
		all = append(all, r.Data...)
		if r.Flags()&wire.FlagContinue == 0 {
			return wire.ParseText(all)
		}
		ttt, data = r.Uint32(20), nil
	}
}

// SendTargets asks for targets ("All" in a discovery session).
func (s *Session) SendTargets(ctx context.Context, which string) (map[string][]string, error) {
	t, err := s.Text(ctx, wire.Text{{Key: "SendTargets", Value: which}})
	if err != nil {
		return nil, err
	}
	return ParseTargets(t), nil
}

// Logout closes the session and the connection.
func (s *Session) Logout(ctx context.Context) error {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpLogoutReq, true)
	p.BHS[1] = wire.FlagFinal // reason 0: close the session
	r, err := s.RoundTrip(ctx, p)
	if err != nil {
		return err
	}
	s.nc.Close()
	<-s.done
	if r.BHS[2] != 0 {
		return errors.New("iscsi initiator: logout refused")
	}
	return nil
}

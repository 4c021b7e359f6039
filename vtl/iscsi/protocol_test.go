package iscsi_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

func TestNop(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) {
		o.NopInterval, o.NopTimeout = 50*time.Millisecond, 5*time.Second
	})
	s := f.dial(t, cfg())
	got, err := s.Nop(ctxT(t), []byte("ping data"))
	if err != nil || string(got) != "ping data" {
		t.Fatalf("NOP-Out echo %q %v", got, err)
	}
	// Idle, the target pings and the initiator answers; the session lives.
	eventually(t, "three target pings", func() bool { return s.Pings() >= 3 })
	if _, err := s.Nop(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
}

// TestNopTimeout: an initiator that stops answering is dropped, and the
// device hears of the nexus loss.
func TestNopTimeout(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) {
		o.NopInterval, o.NopTimeout = 20*time.Millisecond, 50*time.Millisecond
	})
	c := cfg()
	c.IgnorePings = true
	s := f.dial(t, c)
	testwait.Recv(t, s.Done()) // the target closed the silent connection
	eventually(t, "no session left", func() bool { return len(f.srv.Sessions()) == 0 })
}

func TestTaskManagement(t *testing.T) {
	f := start(t, nil)
	s := f.dial(t, cfg())
	ctx := ctxT(t)

	// ABORT TASK of a command the device is executing: the device's
	// context ends, the task gets no status, the TMF completes.
	res := make(chan error, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, err := s.Command(cctx, 1, []byte{0xf0, 0, 0, 0, 0, 0}, nil, 0)
		res <- err
	}()
	testwait.Recv(t, f.tape.started)
	itt := s.LastITT()
	resp, err := s.TaskMgmt(ctx, initiator.AbortTask, 1, itt, s.CmdSN()-1)
	if err != nil || resp != 0 {
		t.Fatalf("abort task: %v %d", err, resp)
	}
	select {
	case err := <-res:
		t.Fatalf("aborted task answered: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	testwait.Recv(t, res)

	tests := []struct {
		name     string
		fn       byte
		lun      uint64
		ref      uint32
		refSN    uint32
		response byte
		reset    scsi.ResetKind
	}{
		{"abort task never received", initiator.AbortTask, 1, 0x7777, s.CmdSN() + 5, 1, -1},
		{"abort task already done", initiator.AbortTask, 1, 0x7777, s.CmdSN() - 1, 0, -1},
		{"abort task set", initiator.AbortTaskSet, 1, 0, 0, 0, -1},
		{"clear task set", initiator.ClearTaskSet, 1, 0, 0, 0, -1},
		{"LUN reset", initiator.LUNReset, 1, 0, 0, 0, scsi.ResetLUN},
		{"LUN reset of a missing LUN", initiator.LUNReset, 9, 0, 0, 2, -1},
		{"target warm reset", initiator.TargetWarmReset, 0, 0, 0, 0, scsi.ResetTarget},
		{"task reassign at ERL 0", initiator.TaskReassign, 1, 0, 0, 4, -1},
		{"clear ACA", 3, 1, 0, 0, 5, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.tape.resetKinds())
			resp, err := s.TaskMgmt(ctx, tc.fn, tc.lun, tc.ref, tc.refSN)
			if err != nil || resp != tc.response {
				t.Fatalf("response %d (%v), want %d", resp, err, tc.response)
			}
			after := f.tape.resetKinds()[before:]
			if tc.reset >= 0 && !slices.Equal(after, []scsi.ResetKind{tc.reset}) {
				t.Fatalf("resets %v, want %v", after, tc.reset)
			}
			if tc.reset < 0 && len(after) != 0 {
				t.Fatalf("resets %v", after)
			}
		})
	}
	// LUN reset while a command runs: it is aborted first.
	cctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	go func() {
		_, err := s.Command(cctx2, 1, []byte{0xf0, 0, 0, 0, 0, 0}, nil, 0)
		res <- err
	}()
	testwait.Recv(t, f.tape.started)
	if resp, err := s.TaskMgmt(ctx, initiator.LUNReset, 1, 0, 0); err != nil || resp != 0 {
		t.Fatalf("LUN reset: %v %d", err, resp)
	}
	// Cold reset: the response, then the connection ends.
	if resp, err := s.TaskMgmt(ctx, initiator.TargetColdReset, 0, 0, 0); err != nil || resp != 0 {
		t.Fatalf("cold reset: %v %d", err, resp)
	}
	testwait.Recv(t, s.Done())
	testwait.Recv(t, res)
	eventually(t, "nexus loss", func() bool {
		k := f.tape.resetKinds()
		return k[len(k)-1] == scsi.ResetNexusLoss
	})
}

// TestAbortWriteWaitingForData aborts a write whose data never comes.
func TestAbortWriteWaitingForData(t *testing.T) {
	f := start(t, nil)
	c := cfg()
	c.InitialR2T, c.ImmediateData = true, false
	s := f.dial(t, c)
	ctx := ctxT(t)
	// Send the command by hand so that no Data-Out answers the R2T.
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | wire.FlagWrite | 1
	p.SetLUN(wire.EncodeLUN(1))
	p.SetUint32(20, 1000)
	copy(p.BHS[32:], write6(1000))
	sn := s.CmdSN()
	r2t := make(chan *wire.PDU, 1)
	go func() {
		r, _ := s.RoundTrip(ctx, p)
		r2t <- r
	}()
	got := testwait.Recv(t, r2t)
	if got == nil || got.Opcode() != wire.OpR2T || got.Uint32(44) != 1000 {
		t.Fatalf("no R2T: %+v", got)
	}
	resp, err := s.TaskMgmt(ctx, initiator.AbortTask, 1, got.ITT(), sn)
	if err != nil || resp != 0 {
		t.Fatalf("abort: %v %d", err, resp)
	}
	// The session goes on.
	if r, err := s.Command(ctx, 1, []byte{0, 0, 0, 0, 0, 0}, nil, 0); err != nil || r.Status != 0 {
		t.Fatal(err, r)
	}
}

func TestReject(t *testing.T) {
	f := start(t, nil)
	c := cfg()
	c.HeaderDigest, c.DataDigest = true, true
	s := f.dial(t, c)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name   string
		op     byte
		reason byte
	}{{"unknown opcode", 0x1c, 0x05}, {"SNACK at ERL 0", wire.OpSNACK, 0x04}, {"login in full feature phase", wire.OpLoginReq, 0x04}} {
		t.Run(tc.name, func(t *testing.T) {
			p := &wire.PDU{}
			p.SetOpcode(tc.op, true)
			p.BHS[1] = 0x80
			_, err := s.RoundTrip(ctx, p)
			var re *initiator.RejectError
			if !errors.As(err, &re) || re.Reason != tc.reason {
				t.Fatalf("got %v, want reject reason %#x", err, tc.reason)
			}
		})
	}
	// Immediate data when the data is a read: protocol error.
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | wire.FlagRead
	p.SetLUN(wire.EncodeLUN(1))
	p.Data = []byte("unexpected")
	if _, err := s.RoundTrip(ctx, p); !errors.Is(err, initiator.ErrRejected) {
		t.Fatalf("data with a read: %v", err)
	}
	// A NOP-Out whose data digest is wrong is rejected with reason 2 and
	// the connection lives.
	nop := &wire.PDU{}
	nop.SetOpcode(wire.OpNopOut, true)
	nop.BHS[1] = 0x80
	nop.SetUint32(16, 0x4242)
	nop.SetUint32(20, wire.Reserved)
	nop.Data = []byte("digest me")
	b := nop.Append(nil, s.Digests())
	b[len(b)-1] ^= 0xff
	if err := s.SendBytes(b); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Nop(ctx, []byte("still there")); err != nil || string(got) != "still there" {
		t.Fatalf("after a data digest error: %q %v", got, err)
	}
	// A header digest error ends the connection (ERL 0).
	b = nop.Append(nil, s.Digests())
	b[wire.BHSLen] ^= 0xff
	s.SendBytes(b)
	testwait.Recv(t, s.Done())
	eventually(t, "session gone", func() bool { return len(f.srv.Sessions()) == 0 })
}

// TestCmdSNWindow: a command outside the window is ignored, the window is
// the queue depth.
func TestCmdSNWindow(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) { o.QueueDepth = 8 })
	s := f.dial(t, cfg())
	ctx := ctxT(t)
	if _, err := s.Nop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	exp, max := s.Window()
	if exp != s.CmdSN() || max != exp+7 {
		t.Fatalf("window %d..%d, CmdSN %d", exp, max, s.CmdSN())
	}
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal
	p.SetUint32(16, 0x999)
	p.SetUint32(24, exp+100)
	if err := s.Send(p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Nop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Window(); e != exp {
		t.Fatalf("ExpCmdSN moved to %d by a command outside the window", e)
	}
	if r, err := s.Command(ctx, 1, []byte{0, 0, 0, 0, 0, 0}, nil, 0); err != nil || r.Status != 0 {
		t.Fatal(err, r)
	}
}

// TestSessionLifecycle: login and logout, a dropped connection and
// session reinstatement all reach the device as nexus events.
func TestSessionLifecycle(t *testing.T) {
	f := start(t, nil)
	c := cfg()
	c.ISID = [6]byte{0x80, 1, 2, 3, 4, 5}
	s := f.dial(t, c)
	if got := f.tape.resetKinds(); !slices.Equal(got, []scsi.ResetKind{scsi.ResetNexusLoss}) {
		t.Fatalf("after login %v", got)
	}
	info := f.srv.Sessions()
	if len(info) != 1 || info[0].Initiator != initName || info[0].ISID != "800102030405" {
		t.Fatalf("sessions %+v", info)
	}
	// Same initiator and ISID again: the old session is reinstated.
	s2 := f.dial(t, c)
	testwait.Recv(t, s.Done())
	if len(f.srv.Sessions()) != 1 || s2.TSIH() == s.TSIH() {
		t.Fatalf("after reinstatement %+v", f.srv.Sessions())
	}
	// A dropped connection ends the session.
	s2.Close()
	eventually(t, "session gone", func() bool { return len(f.srv.Sessions()) == 0 })
	eventually(t, "nexus events", func() bool {
		return len(f.tape.resetKinds()) == 4 // login, end, login, end
	})
	f.tape.mu.Lock()
	nexus := f.tape.resets[0].nexus
	f.tape.mu.Unlock()
	if want := initName + ",i,0x800102030405," + tgtName + ",t,0x1"; nexus != want {
		t.Fatalf("nexus %q, want %q", nexus, want)
	}
}

// TestWriteDataAfterDrop: a connection dropped in the middle of a write's
// Data-Out never hands the partial record to the device.
func TestWriteDataAfterDrop(t *testing.T) {
	f := start(t, nil)
	c := cfg()
	c.InitialR2T, c.ImmediateData = true, false
	s := f.dial(t, c)
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | wire.FlagWrite
	p.SetLUN(wire.EncodeLUN(1))
	p.SetUint32(20, 4096)
	copy(p.BHS[32:], write6(4096))
	got := make(chan *wire.PDU, 1)
	go func() {
		r, _ := s.RoundTrip(ctxT(t), p)
		got <- r
	}()
	r2t := testwait.Recv(t, got)
	d := &wire.PDU{}
	d.SetOpcode(wire.OpDataOut, false)
	d.SetLUN(wire.EncodeLUN(1))
	d.SetUint32(16, r2t.ITT())
	d.SetUint32(20, r2t.Uint32(20))
	d.Data = bytes.Repeat([]byte{1}, 1024)
	s.Send(d)
	s.Close()
	eventually(t, "session gone", func() bool { return len(f.srv.Sessions()) == 0 })
	f.tape.mu.Lock()
	defer f.tape.mu.Unlock()
	if len(f.tape.records) != 0 {
		t.Fatalf("the device got %d records", len(f.tape.records))
	}
}

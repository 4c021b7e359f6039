package iscsi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// loginPDU is a Login Request of the security stage with data.
func loginPDU(cont bool, data []byte) *wire.PDU {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpLoginReq, true)
	if cont {
		p.BHS[1] = wire.FlagContinue
	}
	copy(p.BHS[8:14], []byte{0x80, 1, 2, 3, 4, 5})
	p.SetUint32(16, 1)
	p.Data = data
	return p
}

// drain reads the target's PDUs until the connection ends, sending the
// last one it read; it ends on its own when the server drops us.
func drain(nc net.Conn) <-chan *wire.PDU {
	out := make(chan *wire.PDU, 1)
	go func() {
		var last *wire.PDU
		for {
			p, err := wire.ReadPDU(nc, wire.Digests{}, 1<<20)
			if err != nil {
				out <- last
				return
			}
			last = p
		}
	}()
	return out
}

func recvPDU(t *testing.T, ch <-chan *wire.PDU, what string) *wire.PDU {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

func TestLoginContinueFlood(t *testing.T) {
	const limit = 12 << 10
	f := start(t, func(o *iscsi.Options, _ *source) {
		o.MaxLoginText = limit
		o.DiscoveryCHAP = iscsi.CHAP{User: "u", Secret: "secret-secret"}
	})
	nc, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	last := drain(nc)
	chunk := bytes.Repeat([]byte("X-junk=aaaaaaaa"), 8192/15)
	sent := 0
	for sent < 64<<20 {
		if err := wire.WritePDU(nc, loginPDU(true, chunk), wire.Digests{}); err != nil {
			break // the server hung up: what we want
		}
		sent += len(chunk)
		if b := f.srv.Buffered(); b.LoginText > limit {
			t.Fatalf("server buffers %d bytes of login text, limit %d", b.LoginText, limit)
		}
	}
	if sent > 32<<20 {
		t.Fatalf("sent %d bytes without being cut off", sent)
	}
	p := recvPDU(t, last, "the end of the connection")
	if p == nil || p.Opcode() != wire.OpLoginResp || p.BHS[36] != 2 || p.BHS[37] != 0 {
		t.Fatalf("last PDU %+v, want a login reject 0200h", p)
	}
	eventually(t, "login text released", func() bool {
		b := f.srv.Buffered()
		return b.LoginText == 0 && b.PendingLogins == 0
	})
}

func TestLoginTimeout(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) { o.LoginTimeout = 300 * time.Millisecond })
	tests := []struct {
		name string
		send func(net.Conn)
	}{
		{"silent", func(net.Conn) {}},
		{"one byte at a time", func(nc net.Conn) {
			var b [wire.BHSLen]byte
			copy(b[:], loginPDU(false, []byte("InitiatorName=x\x00")).BHS[:])
			for i := range b {
				if _, err := nc.Write(b[i : i+1]); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", f.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			go tc.send(nc)
			nc.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.ReadAll(nc)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a connection that never logged in")
			}
		})
	}
}

func TestPendingLogins(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) {
		o.MaxPendingLogins, o.MaxPendingLoginsPerAddr = 3, 2
		o.LoginTimeout = time.Minute
	})
	dial := func(src string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		nc, err := d.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc
	}
	// closed reports whether the server dropped nc at once.
	closed := func(nc net.Conn) bool {
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := nc.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	a1, _ := dial("127.0.0.1"), dial("127.0.0.1")
	eventually(t, "two pending logins", func() bool { return f.srv.Buffered().PendingLogins == 2 })
	if !closed(dial("127.0.0.1")) {
		t.Fatal("a third login from one address was kept")
	}
	dial("127.0.0.2")
	eventually(t, "three pending logins", func() bool { return f.srv.Buffered().PendingLogins == 3 })
	if !closed(dial("127.0.0.3")) {
		t.Fatal("a fourth login was kept")
	}
	a1.Close()
	eventually(t, "a slot freed", func() bool { return f.srv.Buffered().PendingLogins == 2 })
	// The freed slot serves a real login.
	s := f.dial(t, cfg())
	if r, err := s.Command(ctxT(t), 0, []byte{0, 0, 0, 0, 0, 0}, nil, 0); err != nil || r.Status != 0 {
		t.Fatalf("TUR: %v %+v", err, r)
	}
}

func TestMaxSessions(t *testing.T) {
	f := start(t, func(o *iscsi.Options, _ *source) { o.MaxSessions = 2 })
	c1, c2 := cfg(), cfg()
	c1.ISID = [6]byte{0x80, 0, 0, 0, 0, 1}
	c2.ISID = [6]byte{0x80, 0, 0, 0, 0, 2}
	s1 := f.dial(t, c1)
	f.dial(t, c2)
	c3 := cfg()
	c3.ISID = [6]byte{0x80, 0, 0, 0, 0, 3}
	_, err := initiator.Dial(ctxT(t), f.addr, c3)
	var le *initiator.LoginError
	if !errors.As(err, &le) || le.Class != 3 || le.Detail != 2 {
		t.Fatalf("third session: %v, want 0302h out of resources", err)
	}
	// Reinstating a session is no new session.
	f.dial(t, c1)
	eventually(t, "the reinstated session to end", func() bool {
		select {
		case <-s1.Done():
			return true
		default:
			return false
		}
	})
	if err := f.dial(t, c2).Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a session slot freed", func() bool { return f.srv.Buffered().Sessions == 1 })
	f.dial(t, c3)
}

// writeCmd is a WRITE(6) of edtl bytes with CmdSN sn and no data.
func writeCmd(itt, sn uint32, edtl int) *wire.PDU {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpSCSICommand, false)
	p.BHS[1] = wire.FlagFinal | wire.FlagWrite | 1
	p.SetUint32(16, itt)
	p.SetUint32(20, uint32(edtl))
	p.SetUint32(24, sn)
	copy(p.BHS[32:], write6(edtl))
	return p
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestAnnouncedWritesNotAllocated announces many writes of the largest
// length and never sends their data: the target must not buffer their
// EDTL up front, only what its write budget allows.
func TestAnnouncedWritesNotAllocated(t *testing.T) {
	const edtl = 64 << 20
	f := start(t, func(o *iscsi.Options, _ *source) { o.QueueDepth = 64 })
	before := heapInUse()
	s := f.dial(t, cfg())
	sn := s.CmdSN()
	for i := range 64 {
		if err := s.Send(writeCmd(uint32(1000+i), sn+uint32(i), edtl)); err != nil {
			t.Fatal(err)
		}
	}
	// The first write gets its buffer (and an R2T), the others wait.
	eventually(t, "the writes to arrive", func() bool {
		b := f.srv.Buffered()
		return b.Reserved == edtl && b.WaitingWrites > 0
	})
	b := f.srv.Buffered()
	grew := int64(heapInUse()) - int64(before)
	bound := int64(iscsi.DefaultMaxSessionWriteBytes + iscsi.DefaultMaxSessionUnsolicited)
	t.Logf("heap grew %d MiB; buffered %+v", grew>>20, b)
	if grew > bound+16<<20 {
		t.Fatalf("heap grew %d bytes for one session, bound %d", grew, bound)
	}
	s.Close()
	eventually(t, "the budget released", func() bool {
		b := f.srv.Buffered()
		return b.Reserved == 0 && b.Unsolicited == 0 && b.WaitingWrites == 0 && b.Sessions == 0
	})
}

// TestWritesWaitForBudget: writes from several sessions larger than the
// whole target's write budget together still complete, each waiting for
// its buffer, with every kind of unsolicited data.
func TestWritesWaitForBudget(t *testing.T) {
	const n, records, size = 4, 3, 700 << 10
	tapes := make([]*memTape, n)
	f := start(t, func(o *iscsi.Options, s *source) {
		for i := range tapes {
			tapes[i] = newMemTape(1)
			s.targets = append(s.targets, iscsi.Target{Name: fmt.Sprintf("%s.%d", tgtName, i), LUNs: lunSet{0: tapes[i]}})
		}
		o.MaxTransfer = 1 << 20
		o.MaxSessionWriteBytes, o.MaxWriteBytes = 1<<20, 1<<20
		o.MaxSessionUnsolicitedBytes = 1 // raised to FirstBurstLength: a window of one write
	})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- func() error {
				c := cfg()
				c.TargetName = fmt.Sprintf("%s.%d", tgtName, i)
				c.ImmediateData, c.InitialR2T = i%2 == 0, i/2 == 1
				s, err := initiator.Dial(ctxT(t), f.addr, c)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := ctxT(t)
				rec := func(j int) []byte { return bytes.Repeat([]byte{byte(i*16 + j)}, size+j) }
				done := make(chan error, records)
				for j := range records {
					go func() {
						r, err := s.Command(ctx, 0, write6(size+j), rec(j), 0)
						if err == nil && r.Status != 0 {
							err = fmt.Errorf("write status %d", r.Status)
						}
						done <- err
					}()
				}
				for range records {
					select {
					case err := <-done:
						if err != nil {
							return err
						}
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				tapes[i].mu.Lock()
				got := tapes[i].records
				tapes[i].mu.Unlock()
				if len(got) != records {
					return fmt.Errorf("%d records on tape %d", len(got), i)
				}
				for _, got := range got {
					j := len(got) - size
					if j < 0 || j >= records || !bytes.Equal(got, rec(j)) {
						return fmt.Errorf("tape %d: record of %d bytes differs", i, len(got))
					}
				}
				return s.Logout(ctx)
			}()
		}()
	}
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("timed out")
		}
	}
	eventually(t, "the budget released", func() bool {
		b := f.srv.Buffered()
		return b.Reserved == 0 && b.Unsolicited == 0 && b.WaitingWrites == 0
	})
}

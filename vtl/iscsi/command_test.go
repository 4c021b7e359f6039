package iscsi_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"testing"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
)

func write6(n int) []byte { return []byte{0x0a, 0, byte(n >> 16), byte(n >> 8), byte(n), 0} }
func read6(n int) []byte  { return []byte{0x08, 0, byte(n >> 16), byte(n >> 8), byte(n), 0} }

// TestWriteRead writes records of many sizes through every combination of
// immediate, unsolicited and solicited data, with and without digests,
// and reads them back.
func TestWriteRead(t *testing.T) {
	f := start(t, nil)
	configs := []struct {
		name string
		mod  func(*initiator.Config)
	}{
		{"immediate+unsolicited", nil},
		{"R2T only", func(c *initiator.Config) { c.InitialR2T, c.ImmediateData = true, false }},
		{"immediate then R2T", func(c *initiator.Config) { c.InitialR2T = true }},
		{"unsolicited only", func(c *initiator.Config) { c.ImmediateData = false }},
		{"small PDUs and bursts", func(c *initiator.Config) {
			c.MaxRecvDataSegmentLength, c.MaxBurstLength, c.FirstBurstLength = 512, 4096, 1536
		}},
		{"digests", func(c *initiator.Config) { c.HeaderDigest, c.DataDigest = true, true }},
		{"digests, big PDUs", func(c *initiator.Config) {
			c.HeaderDigest, c.DataDigest = true, true
			c.MaxRecvDataSegmentLength, c.MaxBurstLength, c.FirstBurstLength = 1<<20, 1<<20, 1<<18
		}},
	}
	sizes := []int{1, 3, 512, 8191, 8192, 65536, 65537, 262145, 1<<20 + 3}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg()
			if tc.mod != nil {
				tc.mod(&c)
			}
			s := f.dial(t, c)
			ctx := ctxT(t)
			rng := rand.New(rand.NewPCG(1, 2))
			var recs [][]byte
			for _, n := range sizes {
				rec := make([]byte, n)
				for i := range rec {
					rec[i] = byte(rng.Uint32())
				}
				recs = append(recs, rec)
				r, err := s.Command(ctx, 1, write6(n), rec, 0)
				if err != nil || r.Status != 0 || r.Residual != 0 {
					t.Fatalf("write %d: %v %+v", n, err, r)
				}
			}
			if r, err := s.Command(ctx, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0); err != nil || r.Status != 0 {
				t.Fatalf("rewind: %v %+v", err, r)
			}
			for i, n := range sizes {
				r, err := s.Command(ctx, 1, read6(n), nil, n)
				if err != nil || r.Status != 0 {
					t.Fatalf("read %d: %v %+v", n, err, r)
				}
				if !r.StatusInData {
					t.Errorf("read %d: status not in the last Data-In", n)
				}
				if !bytes.Equal(r.Data, recs[i]) {
					t.Fatalf("read %d: data differs", n)
				}
			}
			if err := s.Logout(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestResiduals(t *testing.T) {
	f := start(t, nil)
	s := f.dial(t, cfg())
	ctx := ctxT(t)
	rec := bytes.Repeat([]byte("backstop"), 1000) // 8000 bytes
	if r, err := s.Command(ctx, 1, write6(len(rec)), rec, 0); err != nil || r.Status != 0 {
		t.Fatal(err, r)
	}
	if r, err := s.Command(ctx, 1, write6(len(rec)), rec, 0); err != nil || r.Status != 0 {
		t.Fatal(err, r)
	}
	s.Command(ctx, 1, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0)

	// READ of 10000 bytes finds an 8000-byte record: the data, then CHECK
	// CONDITION with ILI in a SCSI Response, residual underflow 2000.
	r, err := s.Command(ctx, 1, read6(10000), nil, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 2 || r.StatusInData || !r.Underflow || r.Residual != 2000 || !bytes.Equal(r.Data, rec) {
		t.Fatalf("short read: %+v", r)
	}
	if r.Sense[2]&0x20 == 0 || binary.BigEndian.Uint32(r.Sense[3:]) != 2000 {
		t.Fatalf("sense % x", r.Sense)
	}
	// The device answers 100 bytes: allocation 40 is an overflow of 60,
	// 300 an underflow of 200.
	for _, tc := range []struct {
		alloc      int
		over       bool
		resid, got int
	}{{40, true, 60, 40}, {300, false, 200, 100}, {100, false, 0, 100}} {
		r, err := s.Command(ctx, 1, []byte{0xf1, 0, 0, 0, 0, 0}, nil, tc.alloc)
		if err != nil || r.Status != 0 || r.Overflow != tc.over || r.Underflow != (!tc.over && tc.resid > 0) ||
			int(r.Residual) != tc.resid || len(r.Data) != tc.got {
			t.Errorf("alloc %d: %v %+v", tc.alloc, err, r)
		}
	}
	// Data the initiator did not ask for is an overflow of all of it.
	r, err = s.Command(ctx, 1, []byte{0xf1, 0, 0, 0, 0, 0}, nil, 0)
	if err != nil || !r.Overflow || r.Residual != 100 || len(r.Data) != 0 {
		t.Errorf("no read expected: %v %+v", err, r)
	}
}

func TestLUNs(t *testing.T) {
	f := start(t, nil)
	s := f.dial(t, cfg())
	ctx := ctxT(t)
	r, err := s.Command(ctx, 0, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256)
	if err != nil || r.Status != 0 {
		t.Fatal(err, r)
	}
	want := []byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(r.Data, want) {
		t.Fatalf("REPORT LUNS % x", r.Data)
	}
	tests := []struct {
		name   string
		lun    uint64
		cdb    []byte
		alloc  int
		status byte
		data   []byte // prefix
		sense  []byte // key, asc, ascq
	}{
		{"report luns to a missing LUN", 9, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, 16, 0, []byte{0, 0, 0, 16}, nil},
		{"report luns, short allocation", 0, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, 8, 2, nil, []byte{5, 0x24, 0}},
		{"report luns, bad select", 0, []byte{0xa0, 0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256, 2, nil, []byte{5, 0x24, 0}},
		{"inquiry of a missing LUN", 7, []byte{0x12, 0, 0, 0, 36, 0}, 36, 0, []byte{0x7f}, nil},
		{"TUR of a missing LUN", 7, []byte{0, 0, 0, 0, 0, 0}, 0, 2, nil, []byte{5, 0x25, 0}},
		{"request sense of a missing LUN", 7, []byte{3, 0, 0, 0, 18, 0}, 18, 0, []byte{0x70, 0, 5}, nil},
		{"inquiry of the tape", 1, []byte{0x12, 0, 0, 0, 36, 0}, 36, 0, []byte{0x01}, nil},
		{"inquiry of the changer", 0, []byte{0x12, 0, 0, 0, 36, 0}, 36, 0, []byte{0x08}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Command(ctx, tc.lun, tc.cdb, nil, tc.alloc)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status || !bytes.HasPrefix(r.Data, tc.data) {
				t.Fatalf("status %d data % x", r.Status, r.Data)
			}
			if tc.sense != nil && (len(r.Sense) < 14 || r.Sense[2]&0xf != tc.sense[0] || r.Sense[12] != tc.sense[1] || r.Sense[13] != tc.sense[2]) {
				t.Fatalf("sense % x", r.Sense)
			}
		})
	}
}

// TestManySessions runs 20 sessions at once, each writing and reading its
// own target's tape with commands from several goroutines.
func TestManySessions(t *testing.T) {
	const n = 20
	tapes := make([]*memTape, n)
	f := start(t, func(o *iscsi.Options, s *source) {
		for i := range tapes {
			tapes[i] = newMemTape(1)
			s.targets = append(s.targets, iscsi.Target{Name: fmt.Sprintf("%s.%d", tgtName, i), LUNs: lunSet{0: tapes[i]}})
		}
		o.QueueDepth = 4
	})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- func() error {
				c := cfg()
				c.TargetName = fmt.Sprintf("%s.%d", tgtName, i)
				c.DataDigest = i%2 == 0
				s, err := initiator.Dial(ctxT(t), f.addr, c)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := ctxT(t)
				// Concurrent TURs exercise the CmdSN window (depth 4).
				done := make(chan error, 16)
				for range 16 {
					go func() {
						r, err := s.Command(ctx, 0, []byte{0, 0, 0, 0, 0, 0}, nil, 0)
						if err == nil && r.Status != 0 {
							err = fmt.Errorf("TUR status %d", r.Status)
						}
						done <- err
					}()
				}
				for range 16 {
					if err := <-done; err != nil {
						return err
					}
				}
				exp, max := s.Window()
				if max-exp+1 != 4 {
					return fmt.Errorf("window %d..%d", exp, max)
				}
				rec := bytes.Repeat([]byte{byte(i)}, 100000+i)
				for range 4 {
					if r, err := s.Command(ctx, 0, write6(len(rec)), rec, 0); err != nil || r.Status != 0 {
						return fmt.Errorf("write: %v %+v", err, r)
					}
				}
				s.Command(ctx, 0, []byte{1, 0, 0, 0, 0, 0}, nil, 0)
				for range 4 {
					r, err := s.Command(ctx, 0, read6(len(rec)), nil, len(rec))
					if err != nil || r.Status != 0 || !bytes.Equal(r.Data, rec) {
						return fmt.Errorf("read: %v", err)
					}
				}
				return s.Logout(ctx)
			}()
		}()
	}
	for range n {
		if err := testwait.Recv(t, errs); err != nil {
			t.Error(err)
		}
	}
	// The target ends a session just after it answers the logout.
	deadline := time.Now().Add(10 * time.Second)
	for len(f.srv.Sessions()) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(f.srv.Sessions()); got != 0 {
		t.Errorf("%d sessions left", got)
	}
}

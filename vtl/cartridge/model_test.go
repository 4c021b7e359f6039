package cartridge

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// model is the tape as a list of objects (nil: a filemark) and a position.
type model struct {
	objs [][]byte
	pos  int
}

// TestAgainstModel runs random operations on a cartridge and on a plain
// in-memory model of a tape and compares positions, errors and data,
// with commits forced often (small CommitBytes, a clock that jumps) and
// the cartridge reopened from its item now and then.
func TestAgainstModel(t *testing.T) {
	seeds := 10 // make test-vtldev
	if testing.Short() {
		seeds = 3
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		runModel(t, seed)
	}
}

func runModel(t *testing.T, seed uint64) {
	ctx := context.Background()
	eng := testEngine(t)
	rnd := rand.New(rand.NewPCG(seed, 99))
	now := time.Unix(0, 0)
	opts := Options{Capacity: 1 << 30, CommitBytes: 64 << 10, CommitInterval: time.Minute, Now: func() time.Time { return now }}
	tp, err := Open(ctx, eng, "vtl", "MODEL1L6", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tp.Close(ctx) }()
	m := &model{}
	nextFM := func(p int) int {
		for ; p < len(m.objs); p++ {
			if m.objs[p] == nil {
				return p
			}
		}
		return len(m.objs)
	}
	prevFM := func(p int) int {
		for p--; p >= 0; p-- {
			if m.objs[p] == nil {
				return p
			}
		}
		return -1
	}
	for step := 0; step < 300; step++ {
		now = now.Add(time.Duration(rnd.IntN(20)) * time.Second)
		var wantErr, gotErr error
		var wantRes, gotRes int64
		op := rnd.IntN(11)
		switch op {
		case 0, 1, 2: // write a record
			rec := record(rnd.Uint64(), 1+rnd.IntN(20000))
			if rnd.IntN(3) == 0 {
				rec = record(7, 4096) // equal sizes make runs
			}
			gotErr = tp.Write(ctx, rec)
			m.objs = append(m.objs[:m.pos], rec)
			m.pos++
		case 3: // filemarks
			n := rnd.IntN(3)
			gotErr = tp.WriteFilemarks(ctx, uint64(n))
			if n > 0 {
				m.objs = m.objs[:m.pos]
				for i := 0; i < n; i++ {
					m.objs = append(m.objs, nil)
				}
				m.pos += n
			}
		case 4: // read
			buf := make([]byte, 20000)
			n, err := tp.Read(ctx, buf)
			gotErr = err
			switch {
			case m.pos >= len(m.objs):
				wantErr = ErrEndOfData
			case m.objs[m.pos] == nil:
				wantErr = ErrFilemark
				m.pos++
			default:
				if err == nil && !bytes.Equal(buf[:n], m.objs[m.pos]) {
					t.Fatalf("seed %d step %d: record %d differs", seed, step, m.pos)
				}
				m.pos++
			}
		case 5: // space records
			n := int64(rnd.IntN(9) - 4)
			gotRes, gotErr = tp.SpaceRecords(ctx, n)
			switch {
			case n > 0 && m.pos >= len(m.objs):
				wantRes, wantErr = n, ErrEndOfData
			case n > 0:
				fm := nextFM(m.pos)
				if m.pos+int(n) <= fm {
					m.pos += int(n)
				} else if fm >= len(m.objs) {
					wantRes, wantErr = n-int64(fm-m.pos), ErrEndOfData
					m.pos = len(m.objs)
				} else {
					wantRes, wantErr = n-int64(fm-m.pos), ErrFilemark
					m.pos = fm + 1
				}
			case n < 0:
				k := int(-n)
				pf := prevFM(m.pos)
				if m.pos-(pf+1) >= k {
					m.pos -= k
				} else if pf < 0 {
					wantRes, wantErr = -int64(k-m.pos), ErrBeginning
					m.pos = 0
				} else {
					wantRes, wantErr = -int64(k-(m.pos-pf-1)), ErrFilemark
					m.pos = pf
				}
			}
		case 6: // space filemarks
			n := int64(rnd.IntN(5) - 2)
			gotRes, gotErr = tp.SpaceFilemarks(ctx, n)
			for i := int64(0); i < n; i++ {
				fm := nextFM(m.pos)
				if fm >= len(m.objs) {
					m.pos, wantRes, wantErr = len(m.objs), n-i, ErrEndOfData
					break
				}
				m.pos = fm + 1
			}
			for i := int64(0); i < -n; i++ {
				pf := prevFM(m.pos)
				if pf < 0 {
					m.pos, wantRes, wantErr = 0, n+i, ErrBeginning
					break
				}
				m.pos = pf
			}
		case 7: // locate
			to := rnd.IntN(len(m.objs) + 3)
			gotErr = tp.Locate(ctx, uint64(to))
			if to > len(m.objs) {
				to, wantErr = len(m.objs), ErrEndOfData
			}
			m.pos = to
		case 8: // rewind or EOD
			if rnd.IntN(2) == 0 {
				gotErr = tp.Rewind(ctx)
				m.pos = 0
			} else {
				gotErr = tp.SpaceEOD(ctx)
				m.pos = len(m.objs)
			}
		case 9: // erase
			gotErr = tp.Erase(ctx)
			m.objs = m.objs[:m.pos]
		case 10: // unload and load again (position back to BOT)
			if err := tp.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if tp, err = Open(ctx, eng, "vtl", "MODEL1L6", opts); err != nil {
				t.Fatalf("seed %d step %d: reopen: %v", seed, step, err)
			}
			m.pos = 0
		}
		if !errors.Is(gotErr, wantErr) || (wantErr == nil && gotErr != nil) || gotRes != wantRes {
			t.Fatalf("seed %d step %d op %d: got (%d, %v), want (%d, %v)", seed, step, op, gotRes, gotErr, wantRes, wantErr)
		}
		if int(tp.Position()) != m.pos || int(tp.Map().Objects()) != len(m.objs) {
			t.Fatalf("seed %d step %d op %d: position %d of %d, model %d of %d", seed, step, op, tp.Position(), tp.Map().Objects(), m.pos, len(m.objs))
		}
	}
	// everything reads back after a final reopen
	if err := tp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if tp, err = Open(ctx, eng, "vtl", "MODEL1L6", opts); err != nil {
		t.Fatal(err)
	}
	items, _, err := segments(ctx, eng, "vtl", "MODEL1L6")
	if err != nil || len(items) != len(tp.segs) {
		t.Fatalf("seed %d: %d items for %d segments in the table (%v)", seed, len(items), len(tp.segs), err)
	}
	buf := make([]byte, 20000)
	for i, o := range m.objs {
		n, err := tp.Read(ctx, buf)
		if o == nil {
			if !errors.Is(err, ErrFilemark) {
				t.Fatalf("seed %d: object %d: %v, want a filemark", seed, i, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(buf[:n], o) {
			t.Fatalf("seed %d: object %d differs (%v)", seed, i, err)
		}
	}
	if _, err := tp.Read(ctx, buf); !errors.Is(err, ErrEndOfData) {
		t.Fatalf("seed %d: after the last object: %v", seed, err)
	}
}

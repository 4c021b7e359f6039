package cartridge

import "context"

// SpaceRecords moves over n records, forward (n > 0) or backward. A
// filemark stops it (past the filemark going forward, before it going
// backward) with ErrFilemark, EOD with ErrEndOfData, the beginning with
// ErrBeginning; residual is the count not spaced.
func (t *Tape) SpaceRecords(ctx context.Context, n int64) (residual int64, err error) {
	if err := t.Flush(ctx); err != nil {
		return n, err
	}
	eod := t.m.Objects()
	if n > 0 {
		if t.pos >= eod {
			return n, ErrEndOfData
		}
		fm := t.m.NextFilemark(t.pos)
		if t.pos+uint64(n) <= fm {
			t.pos += uint64(n)
			return 0, nil
		}
		spaced := int64(fm - t.pos)
		if fm >= eod {
			t.pos = eod
			return n - spaced, ErrEndOfData
		}
		t.pos = fm + 1
		return n - spaced, ErrFilemark
	}
	if n == 0 {
		return 0, nil
	}
	k := uint64(-n)
	pf := t.m.PrevFilemark(t.pos)
	lower := uint64(pf + 1)
	if t.pos-lower >= k {
		t.pos -= k
		return 0, nil
	}
	spaced := t.pos - lower
	if pf < 0 {
		t.pos = 0
		return -int64(k - spaced), ErrBeginning
	}
	t.pos = uint64(pf)
	return -int64(k - spaced), ErrFilemark
}

// SpaceFilemarks moves over n filemarks, forward (ending past the last)
// or backward (ending before it).
func (t *Tape) SpaceFilemarks(ctx context.Context, n int64) (residual int64, err error) {
	if err := t.Flush(ctx); err != nil {
		return n, err
	}
	eod := t.m.Objects()
	for i := int64(0); i < n; i++ {
		fm := t.m.NextFilemark(t.pos)
		if fm >= eod {
			t.pos = eod
			return n - i, ErrEndOfData
		}
		t.pos = fm + 1
	}
	for i := int64(0); i < -n; i++ {
		pf := t.m.PrevFilemark(t.pos)
		if pf < 0 {
			t.pos = 0
			return n + i, ErrBeginning
		}
		t.pos = uint64(pf)
	}
	return 0, nil
}

// SpaceEOD moves to the end of data.
func (t *Tape) SpaceEOD(ctx context.Context) error {
	if err := t.Flush(ctx); err != nil {
		return err
	}
	t.pos = t.m.Objects()
	return nil
}

// Locate moves to object obj; beyond EOD it stops at EOD with
// ErrEndOfData.
func (t *Tape) Locate(ctx context.Context, obj uint64) error {
	if err := t.Flush(ctx); err != nil {
		return err
	}
	if obj > t.m.Objects() {
		t.pos = t.m.Objects()
		return ErrEndOfData
	}
	t.pos = obj
	return nil
}

// Rewind commits and moves to the beginning.
func (t *Tape) Rewind(ctx context.Context) error {
	if err := t.Flush(ctx); err != nil {
		return err
	}
	t.pos = 0
	return nil
}

package vfs

var _ Sparser = (*memFile)(nil)

func (n *memNode) sparse() bool { return n.info.Attributes&AttrSparse != 0 }

// PunchHole implements Sparser.
func (f *memFile) PunchHole(off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	switch {
	case f.closed:
		return ErrClosed
	case f.n.info.IsDir:
		return ErrIsDir
	case f.flag&OpenWrite == 0:
		return ErrReadOnly
	case off < 0 || n < 0 || off > off+n:
		return ErrInvalid
	}
	end := min(off+n, int64(len(f.n.data)))
	if off >= end {
		return nil
	}
	clear(f.n.data[off:end])
	if f.n.sparse() {
		f.n.holes.Add(off, end)
	}
	f.touch()
	return nil
}

// DataRanges implements Sparser.
func (f *memFile) DataRanges(off, n int64) ([]Range, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	switch {
	case f.closed:
		return nil, ErrClosed
	case f.n.info.IsDir:
		return nil, ErrIsDir
	case off < 0 || n < 0 || off > off+n:
		return nil, ErrInvalid
	}
	end := min(off+n, int64(len(f.n.data)))
	if off >= end {
		return nil, nil
	}
	return f.n.holes.Data(off, end), nil
}

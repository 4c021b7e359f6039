package smb2

import "github.com/backstop-appliance/backstop/nas/vfs"

// Sparse files: FSCTL_SET_SPARSE ([MS-FSA] 2.1.5.10.36),
// FSCTL_SET_ZERO_DATA ([MS-FSCC] 2.3.85, [MS-FSA] 2.1.5.10.39) and
// FSCTL_QUERY_ALLOCATED_RANGES ([MS-FSCC] 2.3.51/2.3.52, [MS-FSA]
// 2.1.5.10.22); section numbers of the current revisions on
// learn.microsoft.com (older revisions number MS-FSCC's FSCTLs lower). The holes
// are the filesystem's (vfs.Sparser; sharefs keeps a hole map beside the
// inode); a filesystem without them has every byte allocated and zeroes
// ranges by writing zeros.
const fsctlSetZeroData = 0x000980C8

// zeroPiece is the size of the zero buffer written at a time.
const zeroPiece = 1 << 20

// setSparse sets or clears FILE_ATTRIBUTE_SPARSE; without a buffer it
// sets it. Clearing it fills the file's holes (the filesystem's rule).
func (c *conn) setSparse(o *open, in []byte) Status {
	if o.isDir {
		return StatusInvalidParameter // Windows 2008 and 2012 alike
	}
	if o.access&(accWriteData|accWriteAttributes|accAppendData) == 0 {
		return StatusAccessDenied
	}
	info, err := o.f.Stat()
	if err != nil {
		return statusOf(err)
	}
	a := info.Attributes | vfs.AttrSparse
	if len(in) >= 1 && in[0] == 0 {
		a &^= vfs.AttrSparse
	}
	if a == info.Attributes {
		return StatusSuccess
	}
	return statusOf(o.f.SetAttr(vfs.SetAttr{Attributes: &a}))
}

// allocatedRanges answers FSCTL_QUERY_ALLOCATED_RANGES: the ranges of
// [FileOffset, +Length) that hold data, clipped to the end of file; as
// many as fit in maxOut, with STATUS_BUFFER_OVERFLOW when some did not.
func (c *conn) allocatedRanges(o *open, in []byte, maxOut uint32) ([]byte, Status) {
	if o.access&accReadData == 0 {
		return nil, StatusAccessDenied
	}
	if len(in) < 16 || o.isDir {
		return nil, StatusInvalidParameter
	}
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	off, n := le.Uint64(in), le.Uint64(in[8:])
	if n == 0 || info.Size == 0 || off >= uint64(info.Size) {
		return nil, StatusSuccess // nothing to report
	}
	if off+n < off || int64(off+n) < 0 {
		return nil, StatusInvalidParameter
	}
	if maxOut < 16 {
		return nil, StatusBufferTooSmall
	}
	ranges := []vfs.Range{{Off: int64(off), Len: min(int64(off+n), info.Size) - int64(off)}}
	if sp, ok := o.f.(vfs.Sparser); ok {
		if ranges, err = sp.DataRanges(int64(off), int64(n)); err != nil {
			return nil, statusOf(err)
		}
	}
	var w buf
	for _, r := range ranges {
		if uint32(len(w.b))+16 > maxOut {
			return w.b, StatusBufferOverflow
		}
		w.u64(uint64(r.Off))
		w.u64(uint64(r.Len))
	}
	return w.b, StatusSuccess
}

// setZeroData zeroes [FileOffset, BeyondFinalZero) of o's file up to
// its end; it never extends the file. In a sparse file the range becomes
// a hole.
func (c *conn) setZeroData(o *open, in []byte) ([]byte, Status) {
	if len(in) < 16 {
		return nil, StatusInvalidParameter
	}
	if o.isDir {
		return nil, StatusInvalidParameter
	}
	if o.access&accWriteData == 0 {
		return nil, StatusAccessDenied
	}
	off, beyond := int64(le.Uint64(in)), int64(le.Uint64(in[8:]))
	if off < 0 || beyond < 0 || off > beyond {
		return nil, StatusInvalidParameter
	}
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	end := min(beyond, info.Size)
	if off >= end {
		return nil, StatusSuccess
	}
	if c.srv.files.lockConflict(o, off, uint64(end-off), true) {
		return nil, StatusFileLockConflict
	}
	c.breakLevelII(o)
	o.beforeModify()
	if err := zeroRange(o.f, off, end); err != nil {
		return nil, c.srv.commitFailed("zero data", o, err)
	}
	o.written = true
	o.modified(c.srv.opts.Now)
	return nil, StatusSuccess
}

// zeroRange zeroes [off, end) of f: a hole punched where f can, else
// zeros written.
func zeroRange(f vfs.File, off, end int64) error {
	if sp, ok := f.(vfs.Sparser); ok {
		return sp.PunchHole(off, end-off)
	}
	zero := make([]byte, min(zeroPiece, end-off))
	for p := off; p < end; p += int64(len(zero)) {
		n := min(int64(len(zero)), end-p)
		if _, err := f.WriteAt(zero[:n], p); err != nil {
			return err
		}
	}
	return nil
}

package smb2

// fsctlSetZeroData zeroes a range of a file ([MS-FSCC] 2.3.67,
// [MS-FSA] 2.1.5.9.35). On sharefs the zeros are written like any data
// and deduplicate: a zeroed range of any length stores one zero chunk at
// most.
const fsctlSetZeroData = 0x000980C8

// zeroPiece is the size of the zero buffer written at a time.
const zeroPiece = 1 << 20

// setZeroData zeroes [FileOffset, BeyondFinalZero) of o's file up to
// its end; it never extends the file.
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
	zero := make([]byte, min(zeroPiece, end-off))
	for p := off; p < end; p += int64(len(zero)) {
		n := min(int64(len(zero)), end-p)
		if _, err := o.f.WriteAt(zero[:n], p); err != nil {
			return nil, c.srv.commitFailed("zero data", o, err)
		}
	}
	o.written = true
	o.modified(c.srv.opts.Now)
	return nil, StatusSuccess
}

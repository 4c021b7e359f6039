package smb2

import (
	"errors"
	"io"
)

func (c *conn) read(r *request) ([]byte, Status) {
	b := r.body
	o, st := c.lookupOpen(r, b[16:])
	if st != StatusSuccess {
		return nil, st
	}
	length := le.Uint32(b[4:])
	off := le.Uint64(b[8:])
	minCount := le.Uint32(b[32:])
	if o.isDir {
		return nil, StatusInvalidDeviceRequest
	}
	if o.access&(accReadData|accExecute) == 0 {
		return nil, StatusAccessDenied
	}
	if length > c.maxIO() {
		return nil, StatusInvalidParameter
	}
	if off > 1<<62 {
		return nil, StatusEndOfFile
	}
	if c.srv.files.lockConflict(o, int64(off), uint64(length), false) {
		return nil, StatusFileLockConflict
	}
	out := make([]byte, 16, 16+int(length))
	out = out[:16+int(length)]
	n, err := o.f.ReadAt(out[16:], int64(off))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, statusOf(err)
	}
	if n == 0 && length > 0 || uint32(n) < minCount {
		return nil, StatusEndOfFile
	}
	out = out[:16+n]
	o.pos = int64(off) + int64(n)
	le.PutUint16(out, 17)
	out[2] = headerSize + 16
	le.PutUint32(out[4:], uint32(n))
	return out, StatusSuccess
}

func (c *conn) maxIO() uint32 {
	if c.dialect == dialect202 {
		return 65536
	}
	return c.srv.opts.MaxIO
}

func (c *conn) write(r *request) ([]byte, Status) {
	b := r.body
	o, st := c.lookupOpen(r, b[16:])
	if st != StatusSuccess {
		return nil, st
	}
	length := le.Uint32(b[4:])
	off := le.Uint64(b[8:])
	data, ok := field(r.msg, uint32(le.Uint16(b[2:])), length)
	if !ok || length > c.maxIO() {
		return nil, StatusInvalidParameter
	}
	if o.isDir {
		return nil, StatusInvalidDeviceRequest
	}
	if o.access&(accWriteData|accAppendData) == 0 {
		return nil, StatusAccessDenied
	}
	if off == ^uint64(0) || o.access&accWriteData == 0 {
		info, err := o.f.Stat()
		if err != nil {
			return nil, statusOf(err)
		}
		off = uint64(info.Size)
	}
	if off > 1<<62 || off+uint64(length) > 1<<62 {
		return nil, StatusInvalidParameter
	}
	if c.srv.files.lockConflict(o, int64(off), uint64(length), true) {
		return nil, StatusFileLockConflict
	}
	c.breakLevelII(o)
	o.beforeModify()
	n, err := o.f.WriteAt(data, int64(off))
	if err != nil {
		return nil, c.srv.commitFailed("write", o, err)
	}
	o.modified(c.srv.opts.Now)
	o.pos = int64(off) + int64(n)
	o.written = true
	if o.writeThrough || le.Uint32(b[44:])&writeFlagWriteThrough != 0 {
		// Write-through: the data is committed before the answer.
		if err := o.f.Sync(); err != nil {
			return nil, c.srv.commitFailed("write-through", o, err)
		}
	}
	var w buf
	w.u16(17)
	w.u16(0)
	w.u32(uint32(n))
	w.u32(0)
	w.u32(0)
	return w.b, StatusSuccess
}

func (c *conn) flush(r *request) ([]byte, Status) {
	o, st := c.lookupOpen(r, r.body[8:])
	if st != StatusSuccess {
		return nil, st
	}
	if !o.isDir && o.access&(accWriteData|accAppendData) == 0 {
		return nil, StatusAccessDenied
	}
	if err := o.f.Sync(); err != nil {
		return nil, c.srv.commitFailed("flush", o, err)
	}
	return []byte{4, 0, 0, 0}, StatusSuccess
}

package smb2

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Server-side copy and block cloning ([MS-SMB2] 3.3.5.15.5, 3.3.5.15.6,
// 3.3.5.15.17; [MS-FSCC] 2.3.7, 2.3.8). Both end in vfs.Cloner where the
// filesystem has it (sharefs splices recipes: no data is copied), else in
// a read-and-write copy.
const (
	fsctlSrvCopyChunk            = 0x001440F2
	fsctlSrvCopyChunkWrite       = 0x001480F2
	fsctlDuplicateExtentsToFile  = 0x00098344
	fsctlDuplicateExtentsToFileX = 0x000983E8

	// The limits Windows Server uses ([MS-SMB2] 3.3.3 and its notes).
	copyChunkMaxChunks = 256
	copyChunkMaxChunk  = 1 << 20
	copyChunkMaxTotal  = 16 << 20

	// StatusInvalidViewSize: a copychunk source range past the end of the
	// source file.
	statusInvalidViewSize Status = 0xC000001F

	// fsSupportsBlockRefcounting is FILE_SUPPORTS_BLOCK_REFCOUNTING
	// ([MS-FSCC] 2.5.1).
	fsSupportsBlockRefcounting = 0x08000000
)

// resumeKeyTag fills the last 8 bytes of a resume key.
var resumeKeyTag = [8]byte{'B', 'k', 's', 't', 'p', 'R', 'K', 1}

// resumeKey answers FSCTL_SRV_REQUEST_RESUME_KEY: the open's FileId and a
// tag, 24 bytes, then ContextLength 0 and 4 bytes of context (32 bytes,
// as Windows sends). The key names an open of the caller's own session.
func resumeKey(o *open) []byte {
	var w buf
	w.u64(o.id.Persistent)
	w.u64(o.id.Volatile)
	w.bytes(resumeKeyTag[:])
	w.u32(0)
	w.u32(0)
	return w.b
}

// openByKey finds the open of the session that a resume key names.
func openByKey(r *request, key []byte) *open {
	if !bytes.Equal(key[16:24], resumeKeyTag[:]) {
		return nil
	}
	return sessionOpen(r, fileID{Persistent: le.Uint64(key), Volatile: le.Uint64(key[8:])})
}

func sessionOpen(r *request, id fileID) *open {
	r.sess.mu.Lock()
	o := r.sess.opens[id.Volatile]
	r.sess.mu.Unlock()
	if o == nil || o.id.Persistent != id.Persistent || o.closed {
		return nil
	}
	return o
}

// copyChunkLimits is the SRV_COPYCHUNK_RESPONSE of a refused request: the
// server's limits ([MS-SMB2] 3.3.5.15.6.2).
func copyChunkLimits() []byte {
	var w buf
	w.u32(copyChunkMaxChunks)
	w.u32(copyChunkMaxChunk)
	w.u32(copyChunkMaxTotal)
	return w.b
}

// copyChunk serves FSCTL_SRV_COPYCHUNK and _WRITE into the open o.
func (c *conn) copyChunk(r *request, o *open, code uint32, in []byte, maxOut uint32) ([]byte, Status) {
	if maxOut < 12 {
		return nil, StatusInvalidParameter
	}
	if len(in) < 32 {
		return copyChunkLimits(), StatusInvalidParameter
	}
	src := openByKey(r, in[:24])
	if src == nil {
		return nil, StatusObjectNameNotFound
	}
	count := le.Uint32(in[24:])
	if count > copyChunkMaxChunks || uint64(len(in)) < 32+24*uint64(count) {
		return copyChunkLimits(), StatusInvalidParameter
	}
	type chunk struct{ src, dst, n int64 }
	chunks := make([]chunk, count)
	var total int64
	for i := range chunks {
		e := in[32+24*i:]
		ch := chunk{int64(le.Uint64(e)), int64(le.Uint64(e[8:])), int64(le.Uint32(e[16:]))}
		if ch.n == 0 || ch.n > copyChunkMaxChunk || ch.src < 0 || ch.dst < 0 {
			return copyChunkLimits(), StatusInvalidParameter
		}
		total += ch.n
		chunks[i] = ch
	}
	if total > copyChunkMaxTotal {
		return copyChunkLimits(), StatusInvalidParameter
	}
	need := uint32(accWriteData)
	if code == fsctlSrvCopyChunk {
		need |= accReadData // COPYCHUNK needs read on the target too
	}
	if o.isDir || src.isDir {
		return nil, StatusInvalidDeviceRequest
	}
	// The source needs FILE_READ_DATA or FILE_EXECUTE (Windows and Samba
	// agree; smbtorture smb2.ioctl.copy_chunk_bad_access).
	if o.access&need != need || src.access&(accReadData|accExecute) == 0 {
		return nil, StatusAccessDenied
	}
	var done uint32
	var written int64
	for _, ch := range chunks {
		if c.srv.files.lockConflict(src, ch.src, uint64(ch.n), false) ||
			c.srv.files.lockConflict(o, ch.dst, uint64(ch.n), true) {
			return copyProgress(done, written), StatusFileLockConflict
		}
		if st := c.copyRange(o, src, ch.src, ch.dst, ch.n, statusInvalidViewSize); st != StatusSuccess {
			return copyProgress(done, written), st
		}
		done++
		written += ch.n
	}
	return copyProgress(done, written), StatusSuccess
}

func copyProgress(chunks uint32, total int64) []byte {
	var w buf
	w.u32(chunks)
	w.u32(0)
	w.u32(uint32(total))
	return w.b
}

// duplicateExtents serves FSCTL_DUPLICATE_EXTENTS_TO_FILE and _EX
// ([MS-SMB2] 3.3.5.15.17, [MS-FSA] 2.1.5.10.4): the source is an open
// of the session named by its FileId.
func (c *conn) duplicateExtents(r *request, o *open, code uint32, in []byte) ([]byte, Status) {
	if code == fsctlDuplicateExtentsToFileX {
		// DUPLICATE_EXTENTS_DATA_EX: StructureSize(8) first, Flags after.
		if len(in) < 52 || le.Uint64(in) != uint64(len(in)) && le.Uint64(in) != 0x30 {
			return nil, StatusInvalidParameter
		}
		in = in[8:]
	}
	if len(in) < 40 {
		return nil, StatusInvalidParameter
	}
	src := sessionOpen(r, getFileID(in))
	if src == nil {
		return nil, StatusInvalidHandle
	}
	srcOff, dstOff, n := int64(le.Uint64(in[16:])), int64(le.Uint64(in[24:])), int64(le.Uint64(in[32:]))
	if srcOff < 0 || dstOff < 0 || n < 0 || srcOff > 1<<62-n || dstOff > 1<<62-n {
		return nil, StatusInvalidParameter
	}
	if o.isDir || src.isDir {
		return nil, StatusInvalidDeviceRequest
	}
	if o.access&accWriteData == 0 || src.access&accReadData == 0 {
		return nil, StatusAccessDenied
	}
	if _, ok := o.f.(vfs.Cloner); !ok {
		return nil, StatusInvalidDeviceRequest // [MS-FSA]: cloning is optional
	}
	if src.state == o.state && srcOff < dstOff+n && dstOff < srcOff+n {
		return nil, StatusNotSupported // overlapping ranges of one file ([MS-FSCC] 2.3.8)
	}
	if n == 0 {
		return nil, StatusSuccess
	}
	if c.srv.files.lockConflict(src, srcOff, uint64(n), false) || c.srv.files.lockConflict(o, dstOff, uint64(n), true) {
		return nil, StatusFileLockConflict
	}
	return nil, c.copyRange(o, src, srcOff, dstOff, n, StatusNotSupported)
}

// copyRange makes [dst, dst+n) of o's file the bytes [srcOff, +n) of
// src's: cloned when the filesystem can, else read and written. A source
// range past its end fails with pastEnd.
func (c *conn) copyRange(o, src *open, srcOff, dstOff, n int64, pastEnd Status) Status {
	info, err := src.f.Stat()
	if err != nil {
		return statusOf(err)
	}
	if srcOff+n > info.Size {
		return pastEnd
	}
	c.breakLevelII(o)
	err = vfs.ErrUnsupported
	if cl, ok := o.f.(vfs.Cloner); ok {
		err = cl.CloneRange(c.ctx, src.f, srcOff, dstOff, n)
	}
	if errors.Is(err, vfs.ErrUnsupported) {
		err = copyBytes(c.ctx, o.f, src.f, srcOff, dstOff, n)
	}
	if err != nil {
		return c.srv.commitFailed("copy", o, err)
	}
	o.written = true
	if o.writeThrough {
		if err := o.f.Sync(); err != nil {
			return c.srv.commitFailed("write-through", o, err)
		}
	}
	return StatusSuccess
}

// copyBytes copies through a buffer, for filesystems that cannot clone.
func copyBytes(ctx context.Context, dst, src vfs.File, srcOff, dstOff, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(int64(len(buf)), n)
		k, err := src.ReadAt(buf[:m], srcOff)
		if int64(k) < m {
			if err == nil || err == io.EOF {
				err = vfs.ErrInvalid
			}
			return err
		}
		if _, err := dst.WriteAt(buf[:m], dstOff); err != nil {
			return err
		}
		srcOff, dstOff, n = srcOff+m, dstOff+m, n-m
	}
	return nil
}

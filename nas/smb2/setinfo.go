package smb2

import (
	"errors"
	"slices"
	"strings"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

func (c *conn) setInfo(r *request) ([]byte, Status) {
	b := r.body
	typ, class := b[2], b[3]
	data, ok := field(r.msg, uint32(le.Uint16(b[8:])), le.Uint32(b[4:]))
	if !ok {
		return nil, StatusInvalidParameter
	}
	o, st := c.lookupOpen(r, b[16:])
	if st != StatusSuccess {
		return nil, st
	}
	switch typ {
	case infoFile:
	case infoSecurity:
		if r.tree.share.Access != nas.AccessReadWrite {
			return nil, StatusAccessDenied
		}
		return []byte{2, 0}, StatusSuccess // ACLs are not kept; accepted
	case infoFilesystem, infoQuota:
		return nil, StatusNotSupported
	default:
		return nil, StatusInvalidParameter
	}
	if r.tree.share.Access != nas.AccessReadWrite && class != filePositionInformation && class != fileModeInformation {
		return nil, StatusAccessDenied
	}
	if waits := c.setInfoBreaks(o, class, data); len(waits) > 0 { // lease.go
		d := slices.Clone(data) // the request's buffer is not kept while it waits
		return c.afterBreaks(r, o.state.key, waits, func() ([]byte, Status) { return c.setInfoNow(r, o, class, d) })
	}
	return c.setInfoNow(r, o, class, data)
}

// setInfoNow sets the information once no lease break holds it back.
func (c *conn) setInfoNow(r *request, o *open, class byte, data []byte) ([]byte, Status) {
	st := c.setFileInfo(o, class, data)
	if st != StatusSuccess {
		return nil, st
	}
	if class != filePositionInformation && class != fileModeInformation {
		c.srv.files.changed(r.tree.share.Name, o.path(c.srv.files))
	}
	return []byte{2, 0}, StatusSuccess
}

func (c *conn) setFileInfo(o *open, class byte, d []byte) Status {
	need := func(n int, access uint32) Status {
		if len(d) < n {
			return StatusInfoLengthMismatch
		}
		if o.access&access != access {
			return StatusAccessDenied
		}
		return StatusSuccess
	}
	switch class {
	case fileBasicInformation:
		if st := need(36, accWriteAttributes); st != StatusSuccess {
			return st
		}
		return c.setBasic(o, d)
	case fileEndOfFileInformation:
		if st := need(8, accWriteData); st != StatusSuccess {
			return st
		}
		if o.isDir {
			return StatusInvalidParameter
		}
		size := le.Uint64(d)
		if size > 1<<62 {
			return StatusInvalidParameter
		}
		c.breakLevelII(o)
		return c.truncate(o, int64(size))
	case fileAllocationInformation:
		if st := need(8, accWriteData); st != StatusSuccess {
			return st
		}
		if o.isDir {
			return StatusInvalidParameter
		}
		info, err := o.f.Stat()
		if err != nil {
			return statusOf(err)
		}
		c.breakLevelII(o) // as for the end of file (smb2.oplock.batch12)
		if alloc := int64(le.Uint64(d)); alloc < info.Size && alloc >= 0 {
			return c.truncate(o, alloc)
		}
		return StatusSuccess
	case fileDispositionInformation:
		if st := need(1, accDelete); st != StatusSuccess {
			return st
		}
		return c.setDisposition(o, d[0]&1 != 0)
	case fileRenameInformation:
		if st := need(20, accDelete); st != StatusSuccess {
			return st
		}
		return c.rename(o, d)
	case filePositionInformation:
		if len(d) < 8 {
			return StatusInfoLengthMismatch
		}
		o.pos = int64(le.Uint64(d))
		return StatusSuccess
	case fileModeInformation:
		if len(d) < 4 {
			return StatusInfoLengthMismatch
		}
		o.mode = le.Uint32(d)
		return StatusSuccess
	case fileFullEaInformation:
		return StatusEAsNotSupported
	case fileLinkInformation:
		if st := need(20, 0); st != StatusSuccess {
			return st
		}
		return c.link(o, d)
	}
	return StatusInvalidInfoClass
}

// Attributes a client may set.
const (
	attrTemporary = 0x100
	settableAttrs = vfs.AttrReadOnly | vfs.AttrHidden | vfs.AttrSystem | vfs.AttrArchive |
		vfs.AttrNormal | attrTemporary | 0x1000 | 0x2000
)

// StatusEAsNotSupported: extended attributes are not kept.
const StatusEAsNotSupported Status = 0xC000004F

func (c *conn) setBasic(o *open, d []byte) Status {
	var set vfs.SetAttr
	if st := basicTimes(o, d, &set); st != StatusSuccess {
		return st
	}
	if a := le.Uint32(d[32:]); a != 0 {
		// TEMPORARY on a directory is refused (as Windows does); bits
		// that cannot be set are dropped (smbclient's tar sends the
		// unix mode here, which Samba accepts too).
		if o.isDir && a&attrTemporary != 0 {
			return StatusInvalidParameter
		}
		a &= settableAttrs
		if info, err := o.f.Stat(); err == nil {
			a |= info.Attributes & vfs.AttrSparse // FSCTL_SET_SPARSE's alone
		}
		if a&^vfs.AttrNormal != 0 {
			a &^= vfs.AttrNormal
		}
		set.Attributes = &a
	}
	return statusOf(o.f.SetAttr(set))
}

// truncate changes the size of o's file, a modification of it.
func (c *conn) truncate(o *open, size int64) Status {
	o.beforeModify()
	if err := o.f.Truncate(size); err != nil {
		return statusOf(err)
	}
	o.modified(c.srv.opts.Now)
	return StatusSuccess
}

func (c *conn) setDisposition(o *open, del bool) Status {
	t := c.srv.files
	if del {
		info, err := o.f.Stat()
		if err != nil {
			return statusOf(err)
		}
		if info.Attributes&vfs.AttrReadOnly != 0 {
			return StatusCannotDelete
		}
		if o.isDir {
			list, err := o.tree.share.FS.ReadDir(c.ctx, o.path(t))
			if err != nil {
				return statusOf(err)
			}
			if len(list) > 0 {
				return StatusDirectoryNotEmpty
			}
		}
	}
	t.mu.Lock()
	o.state.deletePending = del
	t.mu.Unlock()
	if !del {
		o.deleteOnClose = false
	}
	return StatusSuccess
}

func (c *conn) rename(o *open, d []byte) Status {
	replace := d[0] != 0
	// 2.x and 3.x lay the struct out the same way: ReplaceIfExists(1),
	// Reserved(7), RootDirectory(8), FileNameLength(4), FileName.
	n := int(le.Uint32(d[16:]))
	if n == 0 || n%2 != 0 || 20+n > len(d) {
		return StatusInvalidParameter
	}
	if le.Uint64(d[8:]) != 0 {
		return StatusInvalidParameter
	}
	target, st := sharePath(fromUTF16le(d[20:20+n]), false)
	if st != StatusSuccess {
		return st
	}
	if target == "" {
		return StatusAccessDenied
	}
	t := c.srv.files
	fs := o.tree.share.FS
	from := o.path(t)
	if from == "" {
		return StatusAccessDenied
	}
	if from == target {
		return StatusSuccess
	}
	if strings.HasPrefix(target+"/", from+"/") {
		return StatusInvalidParameter
	}
	if info, err := fs.Stat(c.ctx, target); err == nil {
		if !strings.EqualFold(from, target) {
			if !replace {
				return StatusObjectNameCollision
			}
			if info.IsDir {
				return StatusAccessDenied
			}
			if st := t.lookupState(fileKey{o.tree.share.Name, info.ID}); st != nil {
				return StatusAccessDenied
			}
		}
	} else if !errors.Is(err, vfs.ErrNotExist) {
		return StatusObjectPathNotFound
	}
	if st := t.renameParentCheck(c.ctx, o.tree.share, target); st != StatusSuccess {
		return st
	}
	if o.isDir {
		// Refuse while files below are open (Windows: ACCESS_DENIED).
		t.mu.Lock()
		for _, st := range t.files {
			if st.fs == fs && strings.HasPrefix(st.path, from+"/") {
				t.mu.Unlock()
				return StatusAccessDenied
			}
		}
		t.mu.Unlock()
	}
	if err := fs.Rename(c.ctx, from, target, replace); err != nil {
		if errors.Is(err, vfs.ErrNotExist) {
			return StatusObjectPathNotFound
		}
		return statusOf(err)
	}
	t.mu.Lock()
	o.state.path = target
	t.mu.Unlock()
	t.changed(o.tree.share.Name, from)
	return StatusSuccess
}

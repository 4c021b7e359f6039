package smb2

import (
	"strings"

	"backstop/nas/vfs"
)

// Directory information classes ([MS-FSCC] 2.4).
const (
	fileDirectoryInformation       = 1
	fileFullDirectoryInformation   = 2
	fileBothDirectoryInformation   = 3
	fileNamesInformation           = 12
	fileIDBothDirectoryInformation = 37
	fileIDFullDirectoryInformation = 38

	qdRestartScans      = 0x01
	qdReturnSingleEntry = 0x02
	qdIndexSpecified    = 0x04
	qdReopen            = 0x10
)

// dirCursor is the state of a directory enumeration on one open.
type dirCursor struct {
	pattern string
	entries []vfs.Info
	next    int
}

func (c *conn) queryDirectory(r *request) ([]byte, Status) {
	b := r.body
	class := b[2]
	flags := b[3]
	o, st := c.lookupOpen(r, b[8:])
	if st != StatusSuccess {
		return nil, st
	}
	pb, ok := field(r.msg, uint32(le.Uint16(b[24:])), uint32(le.Uint16(b[26:])))
	outLen := le.Uint32(b[28:])
	if !ok || outLen > c.maxIO() {
		return nil, StatusInvalidParameter
	}
	switch class {
	case fileDirectoryInformation, fileFullDirectoryInformation, fileBothDirectoryInformation,
		fileNamesInformation, fileIDBothDirectoryInformation, fileIDFullDirectoryInformation:
	default:
		return nil, StatusInvalidInfoClass
	}
	if !o.isDir {
		return nil, StatusInvalidParameter
	}
	if o.access&accReadData == 0 {
		return nil, StatusAccessDenied
	}
	pattern := fromUTF16le(pb)
	if len(pb) == 0 {
		if o.dir == nil {
			return nil, StatusInvalidParameter
		}
		pattern = o.dir.pattern
	}
	if strings.ContainsAny(pattern, `\/:|`) {
		return nil, StatusObjectNameInvalid
	}
	if o.dir == nil || flags&(qdRestartScans|qdReopen) != 0 || len(pb) > 0 && pattern != o.dir.pattern && o.dir.next == 0 {
		cur, st := c.scanDir(o, pattern)
		if st != StatusSuccess {
			return nil, st
		}
		o.dir = cur
	}
	cur := o.dir
	if cur.next >= len(cur.entries) {
		if len(cur.entries) == 0 {
			return nil, StatusNoSuchFile
		}
		return nil, StatusNoMoreFiles
	}
	var out buf
	last := -1
	for cur.next < len(cur.entries) {
		e := encodeDirEntry(class, cur.entries[cur.next], uint32(cur.next))
		start := len(out.b)
		if last >= 0 {
			start = (start + 7) &^ 7
		}
		if uint32(start+len(e)) > outLen {
			break
		}
		out.align(8)
		if last >= 0 {
			le.PutUint32(out.b[last:], uint32(start-last))
		}
		last = start
		out.bytes(e)
		cur.next++
		if flags&qdReturnSingleEntry != 0 {
			break
		}
	}
	if last < 0 {
		return nil, StatusBufferTooSmall
	}
	var w buf
	w.u16(9)
	w.u16(headerSize + 8)
	w.u32(uint32(len(out.b)))
	w.bytes(out.b)
	return w.b, StatusSuccess
}

// scanDir lists a directory with "." and "..", filtered by pattern.
func (c *conn) scanDir(o *open, pattern string) (*dirCursor, Status) {
	fs := o.tree.share.FS
	p := o.path(c.srv.files)
	list, err := fs.ReadDir(c.ctx, p)
	if err != nil {
		return nil, statusOf(err)
	}
	self, err := fs.Stat(c.ctx, p)
	if err != nil {
		return nil, statusOf(err)
	}
	parent := self
	if p != "" {
		d, _ := parentOf(p)
		if pi, err := fs.Stat(c.ctx, d); err == nil {
			parent = pi
		}
	}
	self.Name, parent.Name = ".", ".."
	cur := &dirCursor{pattern: pattern}
	all := append([]vfs.Info{self, parent}, list...)
	exact := !strings.ContainsAny(pattern, `*?<>"`)
	for _, e := range all {
		if exact && strings.EqualFold(e.Name, pattern) || !exact && matchPattern(pattern, e.Name) {
			cur.entries = append(cur.entries, e)
			if exact {
				break
			}
		}
	}
	return cur, StatusSuccess
}

func encodeDirEntry(class byte, e vfs.Info, index uint32) []byte {
	name := utf16le(e.Name)
	var w buf
	w.u32(0) // NextEntryOffset, patched
	w.u32(index)
	if class == fileNamesInformation {
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b
	}
	putTimes(&w, e)
	w.u64(uint64(e.Size))
	w.u64(uint64(e.AllocSize))
	w.u32(attrsOf(e))
	w.u32(uint32(len(name)))
	switch class {
	case fileFullDirectoryInformation:
		w.u32(0)
	case fileBothDirectoryInformation:
		w.u32(0)
		w.u8(0)
		w.u8(0)
		w.zero(24)
	case fileIDBothDirectoryInformation:
		w.u32(0)
		w.u8(0)
		w.u8(0)
		w.zero(24)
		w.u16(0)
		w.u64(e.ID)
	case fileIDFullDirectoryInformation:
		w.u32(0)
		w.u32(0)
		w.u64(e.ID)
	}
	w.bytes(name)
	return w.b
}

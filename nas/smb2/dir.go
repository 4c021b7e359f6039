package smb2

import (
	"strings"

	"github.com/backstop-appliance/backstop/nas/vfs"
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

// dirCursor is the state of a directory enumeration on one open. The
// directory is listed again on every QUERY_DIRECTORY and resumes after
// the last name returned, so entries deleted or changed meanwhile are
// seen as they are now.
type dirCursor struct {
	pattern  string
	returned int    // entries returned so far (the dot entries first)
	last     string // last name returned, "" before any non-dot entry
	started  bool
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
	if o.dir == nil || flags&(qdRestartScans|qdReopen) != 0 {
		o.dir = &dirCursor{pattern: pattern}
	}
	cur := o.dir
	entries, st := c.scanDir(o, cur.pattern)
	if st != StatusSuccess {
		return nil, st
	}
	// Resume: the dot entries by count, the others after the last name.
	i := 0
	for i < len(entries) && i < cur.returned && isDot(entries[i].Name) {
		i++
	}
	if cur.last != "" {
		for i < len(entries) && (isDot(entries[i].Name) || entries[i].Name <= cur.last) {
			i++
		}
	}
	if i >= len(entries) {
		if !cur.started {
			cur.started = true
			return nil, StatusNoSuchFile
		}
		return nil, StatusNoMoreFiles
	}
	cur.started = true
	var out buf
	last := -1
	for ; i < len(entries); i++ {
		e := encodeDirEntry(class, entries[i], uint32(cur.returned))
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
		cur.returned++
		if !isDot(entries[i].Name) {
			cur.last = entries[i].Name
		}
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

func isDot(name string) bool { return name == "." || name == ".." }

// scanDir lists a directory with "." and "..", filtered by pattern.
func (c *conn) scanDir(o *open, pattern string) ([]vfs.Info, Status) {
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
	var out []vfs.Info
	all := append([]vfs.Info{self, parent}, list...)
	exact := !strings.ContainsAny(pattern, `*?<>"`)
	for _, e := range all {
		if exact && strings.EqualFold(e.Name, pattern) || !exact && matchPattern(pattern, e.Name) {
			out = append(out, e)
			if exact {
				break
			}
		}
	}
	return out, StatusSuccess
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
		putShortName(&w, e.Name)
	case fileIDBothDirectoryInformation:
		w.u32(0)
		putShortName(&w, e.Name)
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

// putShortName writes ShortNameLength, Reserved and the 24-byte
// ShortName of a directory entry.
func putShortName(w *buf, name string) {
	var sn []byte
	if !isDot(name) {
		sn = utf16le(shortName(name))
	}
	if len(sn) > 24 {
		sn = sn[:24]
	}
	w.u8(uint8(len(sn)))
	w.u8(0)
	w.bytes(sn)
	w.zero(24 - len(sn))
}

// shortName is the 8.3 name of a file: the name itself when it is a
// valid upper-case 8.3 name, else a mangled BASE~XY.EXT form derived
// from a hash of the name (stable, not guaranteed unique).
func shortName(name string) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	valid := func(s string, n int) bool {
		if len(s) == 0 && n == 8 || len(s) > n {
			return false
		}
		for _, r := range s {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("$%'-_@~`!(){}^#&", r)) {
				return false
			}
		}
		return true
	}
	if valid(strings.ToUpper(base), 8) && valid(strings.ToUpper(ext), 3) && strings.Count(name, ".") <= 1 {
		return strings.ToUpper(name)
	}
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range strings.ToUpper(s) {
			if b.Len() >= n {
				break
			}
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := clean(base, 5) + "~" + string(digits[h%36]) + string(digits[(h/36)%36])
	if e := clean(ext, 3); e != "" {
		out += "." + e
	}
	return out
}

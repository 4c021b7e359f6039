package nfs

import (
	"context"
	"errors"
	"path"
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// NFSv3 status codes (RFC 1813 section 2.6).
const (
	nfs3OK             = 0
	nfs3ErrPerm        = 1
	nfs3ErrNoEnt       = 2
	nfs3ErrIO          = 5
	nfs3ErrAcces       = 13
	nfs3ErrExist       = 17
	nfs3ErrNotDir      = 20
	nfs3ErrIsDir       = 21
	nfs3ErrInval       = 22
	nfs3ErrNoSpc       = 28
	nfs3ErrROFS        = 30
	nfs3ErrNameLong    = 63
	nfs3ErrNotEmpty    = 66
	nfs3ErrStale       = 70
	nfs3ErrBadHandle   = 10001
	nfs3ErrBadCookie   = 10003
	nfs3ErrNotSupp     = 10004
	nfs3ErrServerFault = 10006
	nfs3ErrJukebox     = 10008
)

// status maps a vfs error to an NFSv3 status.
func status(err error) uint32 {
	switch {
	case err == nil:
		return nfs3OK
	case errors.Is(err, vfs.ErrNotExist):
		return nfs3ErrNoEnt
	case errors.Is(err, vfs.ErrExist):
		return nfs3ErrExist
	case errors.Is(err, vfs.ErrNotDir):
		return nfs3ErrNotDir
	case errors.Is(err, vfs.ErrIsDir):
		return nfs3ErrIsDir
	case errors.Is(err, vfs.ErrNotEmpty):
		return nfs3ErrNotEmpty
	case errors.Is(err, vfs.ErrReadOnly):
		return nfs3ErrROFS
	case errors.Is(err, vfs.ErrNoSpace):
		return nfs3ErrNoSpc
	case errors.Is(err, vfs.ErrInvalid):
		return nfs3ErrInval
	case errors.Is(err, vfs.ErrImmutable):
		return nfs3ErrAcces
	case errors.Is(err, vfs.ErrUnsupported):
		return nfs3ErrNotSupp
	case errors.Is(err, vfs.ErrUnavailable):
		return nfs3ErrJukebox
	case errors.Is(err, vfs.ErrClosed), errors.Is(err, context.Canceled):
		return nfs3ErrStale
	}
	return nfs3ErrIO
}

const nobody = 65534

func anon(e export) (uid, gid uint32) {
	uid, gid = e.NFS.AnonUID, e.NFS.AnonGID
	if uid == 0 {
		uid = nobody
	}
	if gid == 0 {
		gid = nobody
	}
	return uid, gid
}

// putAttr writes a fattr3. Shares keep no POSIX owners or modes: every
// file belongs to the export's anonymous uid and gid, with mode 0777
// for directories and 0666 for files, less the write bits on a
// read-only export or a file with the read-only attribute.
func putAttr(w *xdrWriter, e export, info vfs.Info) {
	typ, mode := uint32(1), uint32(0o666)
	if info.IsDir {
		typ, mode = 2, 0o777
	}
	if e.NFS.ReadOnly || info.Attributes&vfs.AttrReadOnly != 0 && !info.IsDir {
		mode &^= 0o222
	}
	links := info.Links
	if links == 0 {
		links = 1
	}
	uid, gid := anon(e)
	w.u32(typ)
	w.u32(mode)
	w.u32(links)
	w.u32(uid)
	w.u32(gid)
	w.u64(uint64(max(info.Size, 0)))
	w.u64(uint64(max(info.AllocSize, info.Size, 0)))
	w.u32(0) // rdev
	w.u32(0)
	w.u64(e.id)
	w.u64(info.ID)
	putTime(w, info.Access)
	putTime(w, info.Write)
	putTime(w, info.Change)
}

func putTime(w *xdrWriter, t time.Time) {
	if t.IsZero() || t.Unix() < 0 {
		w.u32(0)
		w.u32(0)
		return
	}
	w.u32(uint32(t.Unix()))
	w.u32(uint32(t.Nanosecond()))
}

// putPostAttr writes post_op_attr of the file at p (none if it fails).
func putPostAttr(ctx context.Context, w *xdrWriter, e export, p string) {
	info, err := e.FS.Stat(ctx, p)
	if err != nil {
		w.bool(false)
		return
	}
	w.bool(true)
	putAttr(w, e, info)
}

// putWcc writes wcc_data without the pre-operation attributes.
func putWcc(ctx context.Context, w *xdrWriter, e export, p string) {
	w.bool(false)
	putPostAttr(ctx, w, e, p)
}

// join makes a child path.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// parent is the directory of p.
func parent(p string) string {
	d := path.Dir(p)
	if d == "." {
		return ""
	}
	return d
}

// validName refuses names a vfs path cannot hold.
func validName(name string) uint32 {
	switch {
	case name == "" || name == "." || name == ".." || containsAny(name, "/\x00"):
		return nfs3ErrInval
	case len(name) > 255:
		return nfs3ErrNameLong
	}
	return nfs3OK
}

func containsAny(s, chars string) bool {
	for i := range len(s) {
		for j := range len(chars) {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

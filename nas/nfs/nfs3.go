package nfs

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// NFSv3 procedures (RFC 1813 section 3).
const (
	procGetattr = iota + 1
	procSetattr
	procLookup
	procAccess
	procReadlink
	procRead
	procWrite
	procCreate
	procMkdir
	procSymlink
	procMknod
	procRemove
	procRmdir
	procRename
	procLink
	procReaddir
	procReaddirplus
	procFsstat
	procFsinfo
	procPathconf
	procCommit
)

// Write stability (stable_how).
const (
	unstable = 0
	fileSync = 2
)

// target is the object a call's first file handle names.
type target struct {
	e    export
	path string
	id   uint64
}

// resolve decodes a file handle to its export and path.
func (s *Server) resolve(ctx context.Context, cl *call, fh []byte) (target, uint32) {
	eid, id, ok := parseHandle(fh)
	if !ok {
		return target{}, nfs3ErrBadHandle
	}
	e, ok := s.findExport(ctx, cl.client, "", eid)
	if !ok {
		return target{}, nfs3ErrStale
	}
	p, err := e.ids.PathOf(ctx, id)
	if err != nil {
		if errors.Is(err, vfs.ErrNotExist) {
			return target{}, nfs3ErrStale
		}
		return target{}, status(err)
	}
	return target{e: e, path: p, id: id}, nfs3OK
}

// nfs3 runs one NFSv3 procedure.
func (s *Server) nfs3(ctx context.Context, cl *call) reply {
	if cl.proc == 0 {
		return reply{accept: acceptSuccess}
	}
	if cl.proc > procCommit {
		return reply{accept: acceptProcUnavail}
	}
	r := &cl.args
	fh := r.opaque(64)
	if r.err != nil {
		return reply{accept: acceptGarbageArgs}
	}
	rep := reply{accept: acceptSuccess}
	w := &rep.body
	t, st := s.resolve(ctx, cl, fh)
	if st != nfs3OK {
		w.u32(st)
		failBody(w, cl.proc)
		return rep
	}
	switch cl.proc {
	case procGetattr:
		info, err := t.e.FS.Stat(ctx, t.path)
		w.u32(status(err))
		if err == nil {
			putAttr(w, t.e, info)
		}
	case procSetattr:
		s.setattr(ctx, t, r, w)
	case procLookup:
		s.lookup(ctx, t, r, w)
	case procAccess:
		s.access(ctx, t, r, w)
	case procRead:
		s.read(ctx, t, r, w)
	case procWrite:
		s.write(ctx, t, r, w)
	case procCommit:
		s.commit(ctx, t, w)
	case procCreate, procMkdir:
		s.create(ctx, t, r, w, cl.proc == procMkdir)
	case procRemove, procRmdir:
		s.remove(ctx, t, r, w)
	case procRename:
		s.rename(ctx, cl, t, r, w)
	case procLink:
		s.link(ctx, cl, t, r, w)
	case procReaddir, procReaddirplus:
		s.readdir(ctx, t, r, w, cl.proc == procReaddirplus)
	case procFsstat:
		s.fsstat(ctx, t, w)
	case procFsinfo:
		s.fsinfo(ctx, t, w)
	case procPathconf:
		s.pathconf(ctx, t, w)
	default: // READLINK, SYMLINK, MKNOD: shares hold files and directories only
		w.u32(nfs3ErrNotSupp)
		failBody(w, cl.proc)
	}
	if r.err != nil {
		return reply{accept: acceptGarbageArgs}
	}
	return rep
}

// failBody writes the empty attributes a failed procedure answers after
// its status.
func failBody(w *xdrWriter, proc uint32) {
	switch proc {
	case procGetattr, procFsinfo, procFsstat, procPathconf, procLookup, procAccess, procRead, procReadlink,
		procReaddir, procReaddirplus:
		w.bool(false) // post_op_attr
	case procLink:
		w.bool(false)
		w.bool(false)
		w.bool(false)
	case procRename:
		for range 4 {
			w.bool(false)
		}
	default: // wcc_data
		w.bool(false)
		w.bool(false)
	}
}

// writable refuses changes on a read-only export.
func writable(t target) uint32 {
	if t.e.NFS.ReadOnly {
		return nfs3ErrROFS
	}
	return nfs3OK
}

// sattr3 is what SETATTR, CREATE and MKDIR may set; modes and owners
// are accepted and ignored (shares keep none).
type sattr3 struct {
	size  *int64
	atime *time.Time
	mtime *time.Time
}

func readSattr(r *xdrReader, now time.Time) sattr3 {
	var a sattr3
	if r.bool() {
		r.u32() // mode
	}
	if r.bool() {
		r.u32() // uid
	}
	if r.bool() {
		r.u32() // gid
	}
	if r.bool() {
		sz := int64(r.u64())
		a.size = &sz
	}
	a.atime = readSetTime(r, now)
	a.mtime = readSetTime(r, now)
	return a
}

func readSetTime(r *xdrReader, now time.Time) *time.Time {
	switch r.u32() {
	case 1: // SET_TO_SERVER_TIME
		return &now
	case 2: // SET_TO_CLIENT_TIME
		t := time.Unix(int64(r.u32()), int64(r.u32()))
		return &t
	}
	return nil
}

func (s *Server) setattr(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	a := readSattr(r, s.opts.Now())
	if r.bool() { // guard: ctime must match
		r.u32()
		r.u32()
	}
	if r.err != nil {
		return
	}
	if a.size != nil || a.atime != nil || a.mtime != nil {
		if st := writable(t); st != nfs3OK {
			w.u32(st)
			putWcc(ctx, w, t.e, t.path)
			return
		}
	}
	var err error
	if a.size != nil {
		err = s.withFile(ctx, t, func(f vfs.File) error { return f.Truncate(*a.size) })
	}
	if err == nil && (a.atime != nil || a.mtime != nil) {
		err = t.e.FS.SetAttr(ctx, t.path, vfs.SetAttr{Access: a.atime, Write: a.mtime})
	}
	w.u32(status(err))
	putWcc(ctx, w, t.e, t.path)
}

func (s *Server) lookup(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	name := r.str(1024)
	if r.err != nil {
		return
	}
	var p string
	switch name {
	case ".":
		p = t.path
	case "..":
		p = parent(t.path)
	default:
		if st := validName(name); st != nfs3OK {
			w.u32(st)
			putPostAttr(ctx, w, t.e, t.path)
			return
		}
		p = join(t.path, name)
	}
	info, err := t.e.FS.Stat(ctx, p)
	if err != nil {
		w.u32(status(err))
		putPostAttr(ctx, w, t.e, t.path)
		return
	}
	w.u32(nfs3OK)
	w.opaque(makeHandle(t.e.id, info.ID))
	w.bool(true)
	putAttr(w, t.e, info)
	putPostAttr(ctx, w, t.e, t.path)
}

// ACCESS bits.
const (
	accessRead    = 0x01
	accessLookup  = 0x02
	accessModify  = 0x04
	accessExtend  = 0x08
	accessDelete  = 0x10
	accessExecute = 0x20
)

func (s *Server) access(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	want := r.u32()
	if r.err != nil {
		return
	}
	info, err := t.e.FS.Stat(ctx, t.path)
	if err != nil {
		w.u32(status(err))
		w.bool(false)
		return
	}
	if t.e.NFS.ReadOnly || !info.IsDir && info.Attributes&vfs.AttrReadOnly != 0 {
		want &^= accessModify | accessExtend | accessDelete
	}
	w.u32(nfs3OK)
	w.bool(true)
	putAttr(w, t.e, info)
	w.u32(want)
}

func (s *Server) read(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	off, count := r.u64(), r.u32()
	if r.err != nil {
		return
	}
	count = min(count, maxIO)
	buf := make([]byte, count)
	var n int
	err := s.withFile(ctx, t, func(f vfs.File) error {
		var rerr error
		n, rerr = f.ReadAt(buf, int64(off))
		return rerr
	})
	eof := errors.Is(err, io.EOF)
	if eof {
		err = nil
	}
	info, serr := t.e.FS.Stat(ctx, t.path)
	if err == nil && serr == nil && int64(off)+int64(n) >= info.Size {
		eof = true
	}
	w.u32(status(err))
	w.bool(serr == nil)
	if serr == nil {
		putAttr(w, t.e, info)
	}
	if err != nil {
		return
	}
	w.u32(uint32(n))
	w.bool(eof)
	w.opaque(buf[:n])
}

// write answers after the bytes are in the file; with FILE_SYNC or
// DATA_SYNC asked it commits first, and answers FILE_SYNC.
func (s *Server) write(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	off, count, stable := r.u64(), r.u32(), r.u32()
	data := r.opaque(maxIO)
	if r.err != nil {
		return
	}
	if st := writable(t); st != nfs3OK {
		w.u32(st)
		putWcc(ctx, w, t.e, t.path)
		return
	}
	data = data[:min(int(count), len(data))]
	err := s.withFile(ctx, t, func(f vfs.File) error {
		if _, err := f.WriteAt(data, int64(off)); err != nil {
			return err
		}
		if stable != unstable {
			return f.Sync()
		}
		return nil
	})
	w.u32(status(err))
	putWcc(ctx, w, t.e, t.path)
	if err != nil {
		return
	}
	w.u32(uint32(len(data)))
	if stable != unstable {
		stable = fileSync
	}
	w.u32(stable)
	w.fixed(s.opts.Verifier[:])
}

// commit syncs the file's open vfs.File, the commit SMB's FLUSH uses:
// the answer means the bytes are in chunkstore.
func (s *Server) commit(ctx context.Context, t target, w *xdrWriter) {
	err := s.syncOpen(t)
	w.u32(status(err))
	putWcc(ctx, w, t.e, t.path)
	if err == nil {
		w.fixed(s.opts.Verifier[:])
	}
}

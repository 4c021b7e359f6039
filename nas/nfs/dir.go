package nfs

import (
	"context"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// create answers CREATE and MKDIR. GUARDED and EXCLUSIVE creates fail on
// an existing name (an EXCLUSIVE retransmission then sees EEXIST: the
// verifier is not stored).
func (s *Server) create(ctx context.Context, t target, r *xdrReader, w *xdrWriter, dir bool) {
	name := r.str(1024)
	flag := vfs.OpenCreate | vfs.OpenRead
	var a sattr3
	if dir {
		flag |= vfs.OpenDir | vfs.OpenExcl
		a = readSattr(r, s.opts.Now())
	} else {
		flag |= vfs.OpenFile | vfs.OpenWrite
		switch r.u32() {
		case 0: // UNCHECKED
			a = readSattr(r, s.opts.Now())
		case 1: // GUARDED
			a = readSattr(r, s.opts.Now())
			flag |= vfs.OpenExcl
		default: // EXCLUSIVE
			r.fixed(8)
			flag |= vfs.OpenExcl
		}
	}
	if r.err != nil {
		return
	}
	st := writable(t)
	if st == nfs3OK {
		st = validName(name)
	}
	if st != nfs3OK {
		w.u32(st)
		putWcc(ctx, w, t.e, t.path)
		return
	}
	p := join(t.path, name)
	if a.size != nil && *a.size == 0 {
		flag |= vfs.OpenTruncate
	}
	f, err := t.e.FS.Open(ctx, p, flag)
	var info vfs.Info
	if err == nil {
		info, err = f.Stat()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && (a.atime != nil || a.mtime != nil) {
		err = t.e.FS.SetAttr(ctx, p, vfs.SetAttr{Access: a.atime, Write: a.mtime})
	}
	w.u32(status(err))
	if err == nil {
		w.bool(true)
		w.opaque(makeHandle(t.e.id, info.ID))
		putPostAttr(ctx, w, t.e, p)
	}
	putWcc(ctx, w, t.e, t.path)
}

func (s *Server) remove(ctx context.Context, t target, r *xdrReader, w *xdrWriter) {
	name := r.str(1024)
	if r.err != nil {
		return
	}
	st := writable(t)
	if st == nfs3OK {
		st = validName(name)
	}
	if st != nfs3OK {
		w.u32(st)
		putWcc(ctx, w, t.e, t.path)
		return
	}
	p := join(t.path, name)
	info, err := t.e.FS.Stat(ctx, p)
	if err == nil {
		err = t.e.FS.Remove(ctx, p)
	}
	if err == nil && !info.IsDir {
		s.forget(fileKey{t.e.id, info.ID})
	}
	w.u32(status(err))
	putWcc(ctx, w, t.e, t.path)
}

func (s *Server) rename(ctx context.Context, cl *call, t target, r *xdrReader, w *xdrWriter) {
	from := r.str(1024)
	to, st := s.resolve(ctx, cl, r.opaque(64))
	toName := r.str(1024)
	if r.err != nil {
		return
	}
	if st == nfs3OK && to.e.id != t.e.id {
		st = 18 // NFS3ERR_XDEV
	}
	for _, check := range []uint32{writable(t), validName(from), validName(toName)} {
		if st == nfs3OK {
			st = check
		}
	}
	var err error
	if st == nfs3OK {
		dst := join(to.path, toName)
		old, serr := t.e.FS.Stat(ctx, dst)
		err = t.e.FS.Rename(ctx, join(t.path, from), dst, true)
		if err == nil && serr == nil && !old.IsDir {
			s.forget(fileKey{t.e.id, old.ID})
		}
		st = status(err)
	}
	w.u32(st)
	putWcc(ctx, w, t.e, t.path)
	if to.e.FS != nil {
		putWcc(ctx, w, to.e, to.path)
	} else {
		w.bool(false)
		w.bool(false)
	}
}

func (s *Server) link(ctx context.Context, cl *call, t target, r *xdrReader, w *xdrWriter) {
	dir, st := s.resolve(ctx, cl, r.opaque(64))
	name := r.str(1024)
	if r.err != nil {
		return
	}
	linker, ok := t.e.FS.(vfs.Linker)
	for _, check := range []uint32{writable(t), validName(name)} {
		if st == nfs3OK {
			st = check
		}
	}
	if st == nfs3OK && (!ok || dir.e.id != t.e.id) {
		st = nfs3ErrNotSupp
	}
	if st == nfs3OK {
		st = status(linker.Link(ctx, t.path, join(dir.path, name)))
	}
	w.u32(st)
	putPostAttr(ctx, w, t.e, t.path)
	if dir.e.FS != nil {
		putWcc(ctx, w, dir.e, dir.path)
	} else {
		w.bool(false)
		w.bool(false)
	}
}

// readdir answers READDIR and READDIRPLUS. A cookie is the position in
// the name-sorted listing (1 and 2 are "." and ".."), and the cookie
// verifier is 0: a directory changed between calls may skip or repeat
// a name, as on servers without verifiers (what the Linux client
// expects of most).
func (s *Server) readdir(ctx context.Context, t target, r *xdrReader, w *xdrWriter, plus bool) {
	cookie := r.u64()
	r.fixed(8)
	maxBytes := r.u32() // count (READDIR) or dircount (READDIRPLUS)
	if plus {
		maxBytes = r.u32() // maxcount bounds the reply
	}
	if r.err != nil {
		return
	}
	list, err := t.e.FS.ReadDir(ctx, t.path)
	if err != nil {
		w.u32(status(err))
		putPostAttr(ctx, w, t.e, t.path)
		return
	}
	self, err := t.e.FS.Stat(ctx, t.path)
	if err != nil {
		w.u32(status(err))
		w.bool(false)
		return
	}
	up := self
	if t.path != "" {
		if pi, perr := t.e.FS.Stat(ctx, parent(t.path)); perr == nil {
			up = pi
		}
	}
	entries := make([]vfs.Info, 0, len(list)+2)
	dot, dotdot := self, up
	dot.Name, dotdot.Name = ".", ".."
	entries = append(append(entries, dot, dotdot), list...)
	if cookie > uint64(len(entries)) {
		w.u32(nfs3ErrBadCookie)
		putPostAttr(ctx, w, t.e, t.path)
		return
	}
	w.u32(nfs3OK)
	w.bool(true)
	putAttr(w, t.e, self)
	w.fixed(make([]byte, 8))
	budget := int(maxBytes) - 200
	n := 0
	i := int(cookie)
	for ; i < len(entries); i++ {
		var ew xdrWriter
		e := entries[i]
		ew.bool(true)
		ew.u64(e.ID)
		ew.str(e.Name)
		ew.u64(uint64(i + 1))
		if plus {
			ew.bool(true)
			putAttr(&ew, t.e, e)
			ew.bool(true)
			ew.opaque(makeHandle(t.e.id, e.ID))
		}
		if len(ew.b) > budget && n > 0 || len(ew.b) > budget && budget < 0 {
			break
		}
		budget -= len(ew.b)
		w.b = append(w.b, ew.b...)
		n++
	}
	if n == 0 && i < len(entries) {
		w.b = w.b[:0]
		w.u32(10005) // NFS3ERR_TOOSMALL
		w.bool(false)
		return
	}
	w.bool(false)
	w.bool(i == len(entries))
}

func (s *Server) fsstat(ctx context.Context, t target, w *xdrWriter) {
	fi, err := t.e.FS.StatFS(ctx)
	w.u32(status(err))
	putPostAttr(ctx, w, t.e, t.path)
	if err != nil {
		return
	}
	total, free := uint64(max(fi.TotalBytes, 0)), uint64(max(fi.FreeBytes, 0))
	w.u64(total)
	w.u64(free)
	w.u64(free)
	w.u64(1 << 40) // files: no inode limit
	w.u64(1 << 40)
	w.u64(1 << 40)
	w.u32(0) // invarsec
}

func (s *Server) fsinfo(ctx context.Context, t target, w *xdrWriter) {
	w.u32(nfs3OK)
	putPostAttr(ctx, w, t.e, t.path)
	for _, v := range []uint32{maxIO, maxIO, 4096, maxIO, maxIO, 4096, 64 << 10} {
		w.u32(v) // rtmax rtpref rtmult wtmax wtpref wtmult dtpref
	}
	w.u64(1<<63 - 1) // maxfilesize
	w.u32(0)         // time_delta: nanoseconds
	w.u32(1)
	w.u32(0x0001 | 0x0008 | 0x0010) // FSF3_LINK, FSF3_HOMOGENEOUS, FSF3_CANSETTIME
}

func (s *Server) pathconf(ctx context.Context, t target, w *xdrWriter) {
	fi, err := t.e.FS.StatFS(ctx)
	w.u32(status(err))
	putPostAttr(ctx, w, t.e, t.path)
	if err != nil {
		return
	}
	w.u32(1 << 16) // linkmax
	w.u32(255)     // name_max
	w.bool(true)   // no_trunc
	w.bool(true)   // chown_restricted
	w.bool(fi.CaseInsensitive)
	w.bool(true) // case_preserving
}

package smb2

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Create dispositions, options and actions ([MS-SMB2] 2.2.13).
const (
	dispSupersede   = 0
	dispOpen        = 1
	dispCreate      = 2
	dispOpenIf      = 3
	dispOverwrite   = 4
	dispOverwriteIf = 5

	optDirectory     = 0x00000001
	optNonDirectory  = 0x00000040
	optDeleteOnClose = 0x00001000
	optOpenByFileID  = 0x00002000

	actSuperseded  = 0
	actOpened      = 1
	actCreated     = 2
	actOverwritten = 3
)

// mapAccess expands generic and maximum-allowed access bits.
func mapAccess(a uint32, rw bool) uint32 {
	all := uint32(accessAllFile)
	if !rw {
		all = accessReadFile
	}
	if a&accGenericRead != 0 {
		a |= 0x00120089
	}
	if a&accGenericWrite != 0 {
		a |= 0x00120116
	}
	if a&accGenericExecute != 0 {
		a |= 0x001200A0
	}
	if a&accGenericAll != 0 {
		a |= 0x001F01FF
	}
	if a&accMaximumAllowed != 0 {
		a |= all
	}
	return a &^ (accGenericRead | accGenericWrite | accGenericExecute | accGenericAll | accMaximumAllowed)
}

// createReq is a parsed CREATE request.
type createReq struct {
	oplock      byte
	impersonate uint32
	access      uint32
	attrs       uint32
	share       uint32
	disposition uint32
	options     uint32
	name        string
	contexts    map[string][]byte
}

func parseCreate(r *request) (createReq, Status) {
	b := r.body
	q := createReq{
		oplock:      b[3],
		impersonate: le.Uint32(b[4:]),
		access:      le.Uint32(b[24:]),
		attrs:       le.Uint32(b[28:]),
		share:       le.Uint32(b[32:]),
		disposition: le.Uint32(b[36:]),
		options:     le.Uint32(b[40:]),
	}
	nl := uint32(le.Uint16(b[46:]))
	name, ok := field(r.msg, uint32(le.Uint16(b[44:])), nl)
	if !ok || nl%2 != 0 {
		return q, StatusInvalidParameter
	}
	q.name = fromUTF16le(name)
	ctxs, ok := field(r.msg, le.Uint32(b[48:]), le.Uint32(b[52:]))
	if !ok {
		return q, StatusInvalidParameter
	}
	var st Status
	if q.contexts, st = parseCreateContexts(ctxs); st != StatusSuccess {
		return q, st
	}
	if durableConflict(q.contexts) {
		return q, StatusInvalidParameter
	}
	_, v1 := q.contexts["DHnC"]
	_, v2 := q.contexts["DH2C"]
	if v1 || v2 {
		return q, StatusSuccess // a durable reconnect: the rest is ignored
	}
	if q.impersonate > 3 {
		return q, StatusBadImpersonationLevel
	}
	if q.disposition > dispOverwriteIf || q.share > 7 || q.options&optDirectory != 0 && q.options&optNonDirectory != 0 {
		return q, StatusInvalidParameter
	}
	if q.attrs&^0x7FB7 != 0 || q.options&0xFF000000 != 0 {
		return q, StatusInvalidParameter
	}
	if q.access&accSystemSecurity != 0 {
		return q, StatusPrivilegeNotHeld
	}
	if q.access == 0 || q.access&0x0CE0FE00 != 0 {
		return q, StatusAccessDenied
	}
	return q, StatusSuccess
}

// StatusBadImpersonationLevel and StatusPrivilegeNotHeld answer bad
// create requests.
const (
	StatusBadImpersonationLevel Status = 0xC00000A5
	StatusPrivilegeNotHeld      Status = 0xC0000061
)

func parseCreateContexts(b []byte) (map[string][]byte, Status) {
	m := map[string][]byte{}
	for len(b) > 0 {
		if len(b) < 16 {
			return nil, StatusInvalidParameter
		}
		next := le.Uint32(b)
		no, nl := int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
		do, dl := int(le.Uint16(b[10:])), int(le.Uint32(b[12:]))
		end := len(b)
		if next != 0 {
			if int64(next) > int64(len(b)) || next < 16 {
				return nil, StatusInvalidParameter
			}
			end = int(next)
		}
		if no+nl > end || nl < 4 || dl > 0 && (do < no+nl || do+dl > end) {
			return nil, StatusInvalidParameter
		}
		m[string(b[no:no+nl])] = b[do : do+dl]
		if next == 0 {
			break
		}
		b = b[next:]
	}
	return m, StatusSuccess
}

func (c *conn) create(r *request) ([]byte, Status) {
	q, st := parseCreate(r)
	if st != StatusSuccess {
		return nil, st
	}
	t := r.tree
	if t.ipc {
		return nil, StatusObjectNameNotFound
	}
	if q.options&optOpenByFileID != 0 {
		return nil, StatusNotSupported
	}
	if _, ok := q.contexts["TWrp"]; ok {
		return nil, StatusObjectNameNotFound // no previous versions
	}
	path, st := sharePath(q.name, false)
	if st != StatusSuccess {
		return nil, st
	}
	c.srv.opts.Logger.Debug("smb2: create", "path", path, "disp", q.disposition, "options", q.options, "access", q.access, "attrs", q.attrs, "oplock", q.oplock, "contexts", fmt.Sprint(slices.Collect(maps.Keys(q.contexts))))
	if _, ok := q.contexts["DHnC"]; ok {
		return c.reconnectDurable(r, q)
	}
	if _, ok := q.contexts["DH2C"]; ok {
		return c.reconnectDurable(r, q)
	}
	rw := t.share.Access == nas.AccessReadWrite
	q.access = mapAccess(q.access, rw)
	if q.options&optDeleteOnClose != 0 && q.access&accDelete == 0 {
		return nil, StatusInvalidParameter
	}
	creating := q.disposition != dispOpen
	if !rw && (q.access&accWriteMask != 0 || creating && q.disposition != dispOpenIf) {
		return nil, StatusAccessDenied
	}
	if q.options&optDeleteOnClose != 0 && q.attrs&vfs.AttrReadOnly != 0 && q.disposition != dispOpen {
		return nil, StatusCannotDelete
	}
	info, err := t.share.FS.Stat(c.ctx, path)
	key := fileKey{t.share.Name, info.ID}
	var mine *leaseID
	if lr, ok := parseLease(q, c.dialect); ok {
		mine = &leaseID{c.clientGUID, lr.key}
		if c.srv.files.leaseElsewhere(*mine, key, err == nil) {
			return nil, StatusInvalidParameter
		}
	}
	if err == nil {
		toNone := q.disposition == dispOverwrite || q.disposition == dispOverwriteIf || q.disposition == dispSupersede
		// A delete-pending file is refused without a break.
		if conflict, pending := c.srv.files.wouldConflict(key, q.access, q.share); !pending {
			var waits []chan struct{}
			if !statOpen(q.access) || toNone {
				waits = c.breakFor(key, toNone, conflict)
			}
			if !leaseStatOpen(q.access) || toNone {
				waits = append(waits, c.breakLeasesFor(key, mine, q, toNone)...)
			}
			if len(waits) > 0 {
				return c.asyncCreate(r, q, path, key, waits)
			}
		}
	}
	return c.createOpen(r, q, path)
}

// statOpen says whether an open asks for no more than a file's
// attributes: it breaks no oplock ([MS-FSA] 2.1.4.12; Windows' note on
// IRP_MJ_CREATE: "if the desired access contains nothing other than
// FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES, or SYNCHRONIZE, the oplock
// does not break"; Samba's is_oplock_stat_open). The Linux kernel's stat
// is such an open, compounded with QUERY_INFO and CLOSE.
func statOpen(access uint32) bool {
	const bits = accReadAttributes | accWriteAttributes | accSynchronize
	return access&bits != 0 && access&^bits == 0
}

// leaseStatOpen is statOpen for leases, which READ_CONTROL does not
// break either (Samba's is_lease_stat_open; smbtorture
// smb2.lease.statopen4).
func leaseStatOpen(access uint32) bool {
	const bits = accReadAttributes | accWriteAttributes | accSynchronize | accReadControl
	return access&bits != 0 && access&^bits == 0
}

func (c *conn) createOpen(r *request, q createReq, path string) ([]byte, Status) {
	o, action, st := c.openPath(r, q, path, true)
	if st != StatusSuccess {
		return nil, st
	}
	return c.createResponse(r, o, q, action)
}

// openPath opens or creates path for the request and registers the open.
func (c *conn) openPath(r *request, q createReq, path string, retry bool) (*open, uint32, Status) {
	t := r.tree
	fs := t.share.FS
	ctx := c.ctx
	info, err := fs.Stat(ctx, path)
	exists := err == nil
	if err != nil && !errors.Is(err, vfs.ErrNotExist) {
		if errors.Is(err, vfs.ErrNotDir) {
			return nil, 0, StatusObjectPathNotFound
		}
		return nil, 0, statusOf(err)
	}
	if !exists && path != "" {
		dir, _ := parentOf(path)
		if pi, err := fs.Stat(ctx, dir); err != nil || !pi.IsDir {
			return nil, 0, StatusObjectPathNotFound
		}
	}
	if st := checkDisposition(q, exists, info); st != StatusSuccess {
		return nil, 0, st
	}
	if st := c.srv.files.lookupState(fileKey{t.share.Name, info.ID}); exists && st != nil {
		c.srv.files.mu.Lock()
		pending := st.deletePending
		c.srv.files.mu.Unlock()
		if pending {
			return nil, 0, StatusDeletePending
		}
	}
	flag, action := openFlags(q, exists, info)
	f, err := fs.Open(ctx, path, flag)
	if errors.Is(err, vfs.ErrExist) && q.disposition != dispCreate && retry {
		return c.openPath(r, q, path, false) // lost a race with another creator
	}
	if err != nil {
		return nil, 0, statusOf(err)
	}
	info, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, statusOf(err)
	}
	o := &open{
		id:          fileID{c.srv.nextFile.Add(1), c.srv.nextFile.Add(1)},
		sess:        r.sess,
		user:        r.sess.user,
		conn:        c,
		tree:        t,
		f:           f,
		isDir:       info.IsDir,
		access:      q.access,
		shareAccess: q.share,
		lease:       c.leaseCandidate(q),
	}
	if st := c.srv.files.register(o, fs, fileKey{t.share.Name, info.ID}, path, q.oplock); st != StatusSuccess {
		f.Close()
		if action == actCreated {
			_ = fs.Remove(ctx, path)
		}
		return nil, 0, st
	}
	if exists && !info.IsDir && q.disposition != dispOpen && q.disposition != dispOpenIf {
		if err := f.Truncate(0); err != nil {
			c.srv.closeOpen(ctx, "create", o)
			return nil, 0, statusOf(err)
		}
		action = actOverwritten
		if q.disposition == dispSupersede {
			action = actSuperseded
		}
	}
	if action != actOpened {
		// FILE_ATTRIBUTE_SPARSE is set by FSCTL_SET_SPARSE only.
		attrs := q.attrs &^ (vfs.AttrDirectory | vfs.AttrSparse)
		if attrs != 0 && attrs != vfs.AttrNormal {
			if !info.IsDir {
				attrs |= vfs.AttrArchive
			}
			_ = f.SetAttr(vfs.SetAttr{Attributes: &attrs})
		}
	}
	if q.options&optDeleteOnClose != 0 {
		o.deleteOnClose = true
	}
	o.created = action == actCreated
	o.writeThrough = q.options&optWriteThrough != 0
	r.sess.mu.Lock()
	r.sess.opens[o.id.Volatile] = o
	r.sess.mu.Unlock()
	if action != actOpened {
		c.srv.files.changed(t.share.Name, path)
	}
	return o, action, StatusSuccess
}

// checkDisposition applies the create disposition and options to what
// is at the path ([MS-SMB2] 3.3.5.9, [MS-FSA] 2.1.5.1).
func checkDisposition(q createReq, exists bool, info vfs.Info) Status {
	wantDir := q.options&optDirectory != 0
	overwrite := q.disposition == dispOverwrite || q.disposition == dispOverwriteIf || q.disposition == dispSupersede
	switch {
	case !exists && (q.disposition == dispOpen || q.disposition == dispOverwrite):
		return StatusObjectNameNotFound
	case exists && q.disposition == dispCreate:
		return StatusObjectNameCollision
	case exists && info.IsDir && q.options&optNonDirectory != 0:
		return StatusFileIsADirectory
	case exists && !info.IsDir && wantDir:
		return StatusNotADirectory
	case (wantDir || exists && info.IsDir) && overwrite:
		return StatusInvalidParameter
	case !exists && !wantDir && q.attrs&vfs.AttrDirectory != 0:
		return StatusInvalidParameter
	}
	if exists && !info.IsDir && info.Attributes&vfs.AttrReadOnly != 0 {
		if q.access&(accWriteData|accAppendData) != 0 || overwrite {
			return StatusAccessDenied
		}
		if q.options&optDeleteOnClose != 0 {
			return StatusCannotDelete
		}
	}
	return StatusSuccess
}

// openFlags says how to open the path for the request, and the create
// action when it succeeds.
func openFlags(q createReq, exists bool, info vfs.Info) (vfs.OpenFlag, uint32) {
	wantDir := q.options&optDirectory != 0
	isDir := wantDir || exists && info.IsDir
	flag := vfs.OpenRead
	if q.access&(accWriteData|accAppendData) != 0 && !isDir {
		flag |= vfs.OpenWrite
	}
	action := uint32(actOpened)
	if !exists {
		flag |= vfs.OpenCreate | vfs.OpenExcl
		if !isDir {
			flag |= vfs.OpenWrite
		}
		action = actCreated
	}
	if wantDir {
		flag |= vfs.OpenDir
	} else if q.options&optNonDirectory != 0 || !exists {
		flag |= vfs.OpenFile
	}
	return flag, action
}

func (c *conn) createResponse(r *request, o *open, q createReq, action uint32) ([]byte, Status) {
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	var ctxs buf
	var last int = -1
	addCtx := func(name string, data []byte) {
		if last >= 0 {
			ctxs.align(8)
			le.PutUint32(ctxs.b[last:], uint32(len(ctxs.b)-last))
		}
		last = len(ctxs.b)
		ctxs.u32(0)
		ctxs.u16(16)
		ctxs.u16(uint16(len(name)))
		ctxs.u16(0)
		ctxs.u16(24)
		ctxs.u32(uint32(len(data)))
		ctxs.bytes([]byte(name))
		ctxs.align(8)
		ctxs.bytes(data)
	}
	if _, ok := q.contexts["MxAc"]; ok {
		var d buf
		d.u32(0)
		if r.tree.share.Access == nas.AccessReadWrite {
			d.u32(accessAllFile)
		} else {
			d.u32(accessReadFile)
		}
		addCtx("MxAc", d.b)
	}
	c.srv.files.mu.Lock()
	batch := o.op.level == oplockBatch || o.lease != nil && o.lease.state&leaseHandle != 0
	var lctx []byte
	if o.lease != nil {
		lctx = leaseContext(o.lease)
	}
	c.srv.files.mu.Unlock()
	if lctx != nil {
		addCtx("RqLs", lctx)
	}
	if d := parseDurable(q.contexts); batch && (d.v1 || d.v2) && !o.isDir {
		o.durable, o.createGUID = true, d.createGUID
		if d.v2 {
			o.durTimeout = durableTimeout(d.timeout, c.srv.opts.DurableTimeout)
			var b buf
			b.u32(uint32(o.durTimeout / time.Millisecond))
			b.u32(0)
			addCtx("DH2Q", b.b)
		} else {
			addCtx("DHnQ", make([]byte, 8))
		}
	}
	if _, ok := q.contexts["QFid"]; ok {
		var d buf
		d.u64(info.ID)
		d.u64(0)
		d.zero(16)
		addCtx("QFid", d.b)
	}
	var w buf
	w.u16(89)
	c.srv.files.mu.Lock()
	if o.lease != nil {
		w.u8(oplockLease)
	} else {
		w.u8(o.op.level)
	}
	c.srv.files.mu.Unlock()
	w.u8(0)
	w.u32(action)
	putTimes(&w, info)
	w.u64(uint64(info.AllocSize))
	w.u64(uint64(info.Size))
	w.u32(attrsOf(info))
	w.u32(0)
	w.u64(o.id.Persistent)
	w.u64(o.id.Volatile)
	if len(ctxs.b) > 0 {
		w.u32(headerSize + 88)
		w.u32(uint32(len(ctxs.b)))
		w.bytes(ctxs.b)
	} else {
		w.u32(0)
		w.u32(0)
		w.u8(0)
	}
	r.chain.fid, r.chain.hasFID = o.id, true
	return w.b, StatusSuccess
}

func putTimes(w *buf, i vfs.Info) {
	w.time(i.Birth)
	w.time(i.Access)
	w.time(i.Write)
	w.time(i.Change)
}

// attrsOf is the attribute word of a file: never 0, directory flag set.
func attrsOf(i vfs.Info) uint32 {
	a := i.Attributes
	if i.IsDir {
		a |= vfs.AttrDirectory
		a &^= vfs.AttrNormal
	}
	if a == 0 {
		a = vfs.AttrNormal
	}
	return a
}

// lookupOpen finds the open a request names (the chain's when a related
// request names the all-ones FileId); FILE_CLOSED when unknown, and when
// the chain has none to give (as Samba's file_fsp_smb2 answers and
// smbtorture's smb2.compound.related5 and unrelated1 expect).
func (c *conn) lookupOpen(r *request, b []byte) (*open, Status) {
	id := getFileID(b)
	if id == relatedFileID && r.hdr.Flags&flagRelated != 0 {
		if !r.chain.hasFID {
			return nil, StatusFileClosed
		}
		id = r.chain.fid
	}
	r.sess.mu.Lock()
	o := r.sess.opens[id.Volatile]
	r.sess.mu.Unlock()
	if o == nil || o.id.Persistent != id.Persistent || o.tree != r.tree {
		return nil, StatusFileClosed
	}
	r.chain.fid, r.chain.hasFID = id, true
	return o, StatusSuccess
}

func (c *conn) closeFile(r *request) ([]byte, Status) {
	b := r.body
	o, st := c.lookupOpen(r, b[8:])
	if st != StatusSuccess {
		return nil, st
	}
	flags := le.Uint16(b[2:])
	r.sess.mu.Lock()
	delete(r.sess.opens, o.id.Volatile)
	r.sess.mu.Unlock()
	var info vfs.Info
	var err error
	if flags&1 != 0 {
		info, err = o.f.Stat()
	}
	if err := o.closeFile(c.ctx); err != nil {
		return nil, c.srv.commitFailed("close", o, err)
	}
	var w buf
	w.u16(60)
	if flags&1 != 0 && err == nil {
		w.u16(1)
		w.u32(0)
		putTimes(&w, info)
		w.u64(uint64(info.AllocSize))
		w.u64(uint64(info.Size))
		w.u32(attrsOf(info))
	} else {
		w.zero(58)
	}
	return w.b, StatusSuccess
}

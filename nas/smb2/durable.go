package smb2

import (
	"bytes"
	"context"
	"time"
)

// Durable handles ([MS-SMB2] 3.3.5.9.6-12): an open with a batch oplock
// may be asked to survive its connection. When the connection drops,
// such an open stays (its file, locks and share modes with it) for
// Options.DurableTimeout; a new connection of the same user reclaims it
// with DHnC (v1) or DH2C (v2, which must also name the create GUID). A
// conflicting open of the file, logoff and tree disconnect end it like
// any other open.

// durableMaxTimeout caps the timeout a DH2Q asks for, as Windows and
// Samba do (smbtorture smb2.durable-v2-open expects 300 s for "forever").
const durableMaxTimeout = 300 * time.Second

// durableTimeout is how long a v2 durable handle asking for asked
// outlives its connection: what it asks, up to durableMaxTimeout, or def
// when it asks for nothing.
func durableTimeout(asked, def time.Duration) time.Duration {
	if asked == 0 {
		return def
	}
	return min(asked, durableMaxTimeout)
}

// durableConflict says whether a create names durable contexts that
// cannot go together ([MS-SMB2] 3.3.5.9.12): v1 with v2, or a v2
// request with a v2 reconnect.
func durableConflict(ctxs map[string][]byte) bool {
	_, q1 := ctxs["DHnQ"]
	_, c1 := ctxs["DHnC"]
	_, q2 := ctxs["DH2Q"]
	_, c2 := ctxs["DH2C"]
	return (q1 || c1) && (q2 || c2) || q2 && c2
}

// durableReq is what a create asked of durability.
type durableReq struct {
	v1, v2     bool
	timeout    time.Duration
	createGUID [16]byte
}

func parseDurable(ctxs map[string][]byte) durableReq {
	var d durableReq
	if _, ok := ctxs["DHnQ"]; ok {
		d.v1 = true
	}
	if b, ok := ctxs["DH2Q"]; ok && len(b) >= 32 {
		d.v2 = true
		d.timeout = time.Duration(le.Uint32(b)) * time.Millisecond
		copy(d.createGUID[:], b[16:32])
	}
	return d
}

// keepDurable parks a durable open whose connection dropped.
func (srv *Server) keepDurable(o *open) {
	t := srv.files
	timeout := srv.opts.DurableTimeout
	if o.durTimeout > 0 {
		timeout = o.durTimeout // what the DH2Q response promised
	}
	t.mu.Lock()
	if l := o.lease; l != nil && (l.state&leaseHandle == 0 || l.breaking && l.want&leaseHandle == 0) {
		t.mu.Unlock() // a lease without H does not keep the handle ([MS-SMB2] 3.3.7.1)
		srv.closeOpen(context.Background(), "session end", o)
		return
	}
	o.sess, o.conn = nil, nil
	o.disconnected = true
	if l := o.lease; l != nil {
		l.conn, l.sess = nil, nil
		for _, x := range o.state.opens {
			if x.lease == l && x.conn != nil {
				l.conn, l.sess = x.conn, x.sess
			}
		}
	}
	t.mu.Unlock()
	srv.mu.Lock()
	srv.durable[o.id.Persistent] = o
	// Shutdown waits for an expiry under way and drops the others itself.
	o.expire = time.AfterFunc(timeout, func() { srv.goTracked(func() { srv.dropDurable(o) }) })
	srv.mu.Unlock()
}

// dropDurable closes a parked durable open (timeout or conflict).
func (srv *Server) dropDurable(o *open) {
	srv.mu.Lock()
	if srv.durable[o.id.Persistent] != o {
		srv.mu.Unlock()
		return
	}
	delete(srv.durable, o.id.Persistent)
	if o.expire != nil {
		o.expire.Stop()
	}
	srv.mu.Unlock()
	srv.closeOpen(context.Background(), "durable handle expired", o)
}

// reconnectDurable serves a create with DHnC or DH2C.
func (c *conn) reconnectDurable(r *request, q createReq) ([]byte, Status) {
	var fid fileID
	var guid []byte
	if b, ok := q.contexts["DH2C"]; ok {
		if len(b) < 36 {
			return nil, StatusInvalidParameter
		}
		fid, guid = getFileID(b), b[16:32]
	} else {
		b := q.contexts["DHnC"]
		if len(b) < 16 {
			return nil, StatusInvalidParameter
		}
		fid = getFileID(b)
	}
	srv := c.srv
	lq := q
	lq.oplock = oplockLease // a reconnect's lease counts whatever its oplock field says
	lr, hasLease := parseLease(lq, c.dialect)
	srv.mu.Lock()
	o := srv.durable[fid.Persistent]
	ok := o != nil && o.id == fid && o.user == r.sess.user && o.tree.share.Name == r.tree.share.Name &&
		(guid == nil || bytes.Equal(guid, o.createGUID[:]))
	st := StatusObjectNameNotFound
	if ok {
		st = srv.files.leaseMatches(o, lr, hasLease, c.clientGUID, q.name)
	}
	if st == StatusSuccess {
		delete(srv.durable, fid.Persistent)
		o.expire.Stop()
	}
	srv.mu.Unlock()
	if st != StatusSuccess {
		return nil, st
	}
	t := srv.files
	t.mu.Lock()
	o.sess, o.conn, o.tree, o.disconnected = r.sess, c, r.tree, false
	if o.lease != nil {
		o.lease.conn, o.lease.sess = c, r.sess
	}
	t.mu.Unlock()
	r.sess.mu.Lock()
	r.sess.opens[o.id.Volatile] = o
	r.sess.mu.Unlock()
	return c.createResponse(r, o, q, actOpened)
}

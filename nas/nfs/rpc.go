package nfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ONC RPC (RFC 5531) constants.
const (
	rpcCall       = 0
	rpcReply      = 1
	msgAccepted   = 0
	msgDenied     = 1
	authNone      = 0
	authSysFlavor = 1

	acceptSuccess      = 0
	acceptProgUnavail  = 1
	acceptProgMismatch = 2
	acceptProcUnavail  = 3
	acceptGarbageArgs  = 4
	acceptSystemErr    = 5

	rejectAuthError = 1
	authTooWeak     = 5
	authBadCred     = 1

	progNFS   = 100003
	progMount = 100005
)

// maxRecord bounds one RPC record: a WRITE of maxIO bytes and its header.
const maxRecord = maxIO + 4096

// call is one decoded RPC call.
type call struct {
	xid    uint32
	prog   uint32
	vers   uint32
	proc   uint32
	flavor uint32
	cred   authSys
	client netip.Addr
	args   xdrReader
}

// reply is what a procedure answers: an accept status and, on success,
// the results.
type reply struct {
	accept uint32
	denied bool   // AUTH_ERROR
	why    uint32 // its auth_stat: too weak (not AUTH_SYS), bad credential
	body   xdrWriter
}

// serveConn reads records from c and answers each; calls run
// concurrently (the Linux client keeps many in flight), at most
// MaxInFlight at once per connection and MaxCalls in the server. A call
// takes its place when its first header arrives, so idle mounts hold
// none, and its body must arrive within RecordTimeout.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer func() { _ = c.Close() }()
	client := remoteAddr(c)
	br := bufio.NewReaderSize(c, 64<<10)
	var wmu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.opts.MaxInFlight)
	for {
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			return
		}
		var h [4]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return // the client went away
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		select {
		case s.calls <- struct{}{}:
		case <-ctx.Done():
			return
		}
		release := func() { <-s.calls; <-sem }
		rec, err := s.readBody(c, br, h)
		if err != nil {
			release()
			s.opts.Logger.Debug("nfs connection ends", "client", client, "err", err)
			return
		}
		wg.Add(1)
		go func() {
			defer func() { release(); wg.Done() }()
			out, ok := s.handle(ctx, client, rec)
			if !ok {
				return
			}
			wmu.Lock()
			defer wmu.Unlock()
			if _, err := c.Write(out); err != nil {
				_ = c.Close()
			}
		}()
	}
}

// readBody reads the rest of a record whose first fragment header is h,
// within RecordTimeout.
func (s *Server) readBody(c net.Conn, br *bufio.Reader, h [4]byte) ([]byte, error) {
	if err := c.SetReadDeadline(s.opts.Now().Add(s.opts.RecordTimeout)); err != nil {
		return nil, err
	}
	return readFragments(br, h)
}

func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// readRecord reads one record-marked message (RFC 5531 section 11).
func readRecord(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	return readFragments(r, h)
}

// readFragments reads the fragments of a record from the first one's
// header h on. Memory grows with the bytes that arrive, not with the
// length a header claims.
func readFragments(r io.Reader, h [4]byte) ([]byte, error) {
	var rec bytes.Buffer
	for {
		v := binary.BigEndian.Uint32(h[:])
		n := int64(v & 0x7fffffff)
		if int64(rec.Len())+n > maxRecord {
			return nil, fmt.Errorf("nfs: record of more than %d bytes", maxRecord)
		}
		if _, err := io.CopyN(&rec, r, n); err != nil {
			return nil, fmt.Errorf("nfs: record: %w", err)
		}
		if v&0x80000000 != 0 {
			return rec.Bytes(), nil
		}
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, fmt.Errorf("nfs: record: %w", err)
		}
	}
}

// handle decodes one call, runs it and encodes the reply record; false
// when there is nothing to answer (not a call).
func (s *Server) handle(ctx context.Context, client netip.Addr, rec []byte) ([]byte, bool) {
	r := xdrReader{b: rec}
	cl := call{xid: r.u32(), client: client}
	if r.u32() != rpcCall || r.err != nil {
		return nil, false
	}
	rpcvers := r.u32()
	cl.prog, cl.vers, cl.proc = r.u32(), r.u32(), r.u32()
	cl.flavor = r.u32()
	credBody := r.opaque(400)
	r.u32() // verifier flavor
	r.opaque(400)
	if r.err != nil {
		return nil, false
	}
	cl.args = r
	var rep reply
	switch {
	case rpcvers != 2:
		return encodeRPCMismatch(cl.xid), true
	case cl.flavor == authSysFlavor:
		cred, err := decodeAuthSys(credBody)
		if err != nil {
			rep.denied, rep.why = true, authBadCred
			break
		}
		cl.cred = cred
		rep = s.dispatch(ctx, &cl)
	case cl.proc == 0: // NULL needs no credential
		rep = s.dispatch(ctx, &cl)
	default:
		rep.denied, rep.why = true, authTooWeak
	}
	return encodeReply(cl.xid, &rep), true
}

func (s *Server) dispatch(ctx context.Context, cl *call) reply {
	switch cl.prog {
	case progNFS:
		if cl.vers != 3 {
			return progMismatch(3, 3)
		}
		return s.nfs3(ctx, cl)
	case progMount:
		if cl.vers != 3 {
			return progMismatch(3, 3)
		}
		return s.mount(ctx, cl)
	}
	return reply{accept: acceptProgUnavail}
}

func progMismatch(lo, hi uint32) reply {
	rep := reply{accept: acceptProgMismatch}
	rep.body.u32(lo)
	rep.body.u32(hi)
	return rep
}

func encodeReply(xid uint32, rep *reply) []byte {
	var w xdrWriter
	w.u32(0) // record mark, set below
	w.u32(xid)
	w.u32(rpcReply)
	if rep.denied {
		w.u32(msgDenied)
		w.u32(rejectAuthError)
		w.u32(rep.why)
	} else {
		w.u32(msgAccepted)
		w.u32(authNone)
		w.u32(0)
		w.u32(rep.accept)
		w.b = append(w.b, rep.body.b...)
	}
	binary.BigEndian.PutUint32(w.b, 0x80000000|uint32(len(w.b)-4))
	return w.b
}

func encodeRPCMismatch(xid uint32) []byte {
	var w xdrWriter
	w.u32(0)
	w.u32(xid)
	w.u32(rpcReply)
	w.u32(msgDenied)
	w.u32(0) // RPC_MISMATCH
	w.u32(2)
	w.u32(2)
	binary.BigEndian.PutUint32(w.b, 0x80000000|uint32(len(w.b)-4))
	return w.b
}

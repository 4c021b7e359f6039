package nfs

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// rpcClient is a minimal ONC RPC client over TCP with AUTH_SYS, as the
// kernel client speaks it.
type rpcClient struct {
	t   testing.TB
	c   net.Conn
	br  *bufio.Reader
	xid uint32
	uid uint32
}

func dial(t testing.TB, addr string) *rpcClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rpcClient{t: t, c: c, br: bufio.NewReader(c), uid: 1000}
}

// call sends one call and returns the accept status and result body.
func (rc *rpcClient) call(prog, proc uint32, args []byte) (uint32, *xdrReader) {
	rc.t.Helper()
	acc, r, err := rc.callErr(prog, proc, args)
	if err != nil {
		rc.t.Fatal(err)
	}
	return acc, r
}

// callErr is call for goroutines other than the test's: it returns
// errors instead of failing the test.
func (rc *rpcClient) callErr(prog, proc uint32, args []byte) (uint32, *xdrReader, error) {
	rc.xid++
	var w xdrWriter
	w.u32(0)
	w.u32(rc.xid)
	w.u32(rpcCall)
	w.u32(2)
	w.u32(prog)
	w.u32(3)
	w.u32(proc)
	var cred xdrWriter
	cred.u32(0)
	cred.str("test")
	cred.u32(rc.uid)
	cred.u32(rc.uid)
	cred.u32(0)
	w.u32(authSysFlavor)
	w.opaque(cred.b)
	w.u32(authNone)
	w.u32(0)
	w.b = append(w.b, args...)
	binary.BigEndian.PutUint32(w.b, 0x80000000|uint32(len(w.b)-4))
	if err := rc.c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, nil, err
	}
	if _, err := rc.c.Write(w.b); err != nil {
		return 0, nil, err
	}
	rec, err := readRecord(rc.br)
	if err != nil {
		return 0, nil, err
	}
	r := &xdrReader{b: rec}
	if xid := r.u32(); xid != rc.xid || r.u32() != rpcReply {
		return 0, nil, fmt.Errorf("reply xid %d, want %d", xid, rc.xid)
	}
	if r.u32() != msgAccepted {
		return 1 << 31, r, nil
	}
	r.u32()
	r.opaque(400)
	return r.u32(), r, nil
}

// writeErr is an UNSTABLE WRITE for goroutines other than the test's.
func (rc *rpcClient) writeErr(fh []byte, off uint64, data []byte) error {
	var a xdrWriter
	a.opaque(fh)
	a.u64(off)
	a.u32(uint32(len(data)))
	a.u32(unstable)
	a.opaque(data)
	acc, r, err := rc.callErr(progNFS, procWrite, a.b)
	if err != nil {
		return err
	}
	if st := r.u32(); acc != acceptSuccess || st != nfs3OK {
		return fmt.Errorf("WRITE at %d: accept %d status %d", off, acc, st)
	}
	return nil
}

// nfs calls an NFSv3 procedure and returns its status and the rest.
func (rc *rpcClient) nfs(proc uint32, args *xdrWriter) (uint32, *xdrReader) {
	rc.t.Helper()
	acc, r := rc.call(progNFS, proc, args.b)
	if acc != acceptSuccess {
		rc.t.Fatalf("procedure %d: accept status %d", proc, acc)
	}
	return r.u32(), r
}

func (rc *rpcClient) mnt(path string) (uint32, []byte) {
	rc.t.Helper()
	var a xdrWriter
	a.str(path)
	acc, r := rc.call(progMount, 1, a.b)
	if acc != acceptSuccess {
		rc.t.Fatalf("MNT: accept status %d", acc)
	}
	st := r.u32()
	if st != mnt3OK {
		return st, nil
	}
	return st, r.opaque(64)
}

// skipAttr skips a post_op_attr.
func skipAttr(r *xdrReader) (size uint64, ok bool) {
	if !r.bool() {
		return 0, false
	}
	r.fixed(5 * 4)
	size = r.u64()
	r.fixed(8 + 8 + 8 + 8 + 3*8)
	return size, true
}

func skipWcc(r *xdrReader) uint64 {
	if r.bool() {
		r.fixed(8 + 8 + 8)
	}
	size, _ := skipAttr(r)
	return size
}

func (rc *rpcClient) create(dir []byte, name string) []byte {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(dir)
	a.str(name)
	a.u32(0) // UNCHECKED
	for range 4 {
		a.bool(false)
	}
	a.u32(0)
	a.u32(0)
	st, r := rc.nfs(procCreate, &a)
	if st != nfs3OK {
		rc.t.Fatalf("CREATE %s: status %d", name, st)
	}
	if !r.bool() {
		rc.t.Fatal("CREATE: no handle")
	}
	return r.opaque(64)
}

// write returns the verifier and the stability the server answered.
func (rc *rpcClient) write(fh []byte, off uint64, data []byte, stable uint32) ([]byte, uint32) {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(fh)
	a.u64(off)
	a.u32(uint32(len(data)))
	a.u32(stable)
	a.opaque(data)
	st, r := rc.nfs(procWrite, &a)
	if st != nfs3OK {
		rc.t.Fatalf("WRITE: status %d", st)
	}
	skipWcc(r)
	if n := r.u32(); int(n) != len(data) {
		rc.t.Fatalf("WRITE: %d bytes, want %d", n, len(data))
	}
	committed := r.u32()
	return append([]byte(nil), r.fixed(8)...), committed
}

func (rc *rpcClient) commit(fh []byte) (uint32, []byte) {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(fh)
	a.u64(0)
	a.u32(0)
	st, r := rc.nfs(procCommit, &a)
	skipWcc(r)
	if st != nfs3OK {
		return st, nil
	}
	return st, append([]byte(nil), r.fixed(8)...)
}

func (rc *rpcClient) read(fh []byte, off uint64, n uint32) (uint32, []byte) {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(fh)
	a.u64(off)
	a.u32(n)
	st, r := rc.nfs(procRead, &a)
	skipAttr(r)
	if st != nfs3OK {
		return st, nil
	}
	r.u32()
	r.bool()
	return st, r.opaque(maxIO)
}

func (rc *rpcClient) getattr(fh []byte) (uint32, uint64) {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(fh)
	st, r := rc.nfs(procGetattr, &a)
	if st != nfs3OK {
		return st, 0
	}
	r.fixed(5 * 4)
	return st, r.u64()
}

func (rc *rpcClient) lookup(dir []byte, name string) (uint32, []byte) {
	rc.t.Helper()
	var a xdrWriter
	a.opaque(dir)
	a.str(name)
	st, r := rc.nfs(procLookup, &a)
	if st != nfs3OK {
		return st, nil
	}
	return st, r.opaque(64)
}

// appliance is an engine, the share manager and an NFS server on
// 127.0.0.1:0 in dir.
type appliance struct {
	t      testing.TB
	dir    string
	eng    *chunkstore.Engine
	shares *sharefs.Manager
	srv    *Server
}

func openAppliance(t testing.TB, dir string, exp nas.NFSExport) *appliance {
	t.Helper()
	a := &appliance{t: t, dir: dir}
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Create = true
	eo.Capacity = 8 << 30
	eo.Reserve = 0
	var err error
	if a.eng, err = chunkstore.Open(ctx, filepath.Join(dir, "data"), eo); err != nil {
		t.Fatal(err)
	}
	if a.shares, err = sharefs.OpenManager(ctx, a.eng, a.eng.Dir(), sharefs.DefaultManagerOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.shares.Update(ctx, sharefs.DefaultShare, sharefs.Patch{NFS: &exp}); err != nil {
		t.Fatal(err)
	}
	a.srv = New(a.shares, DefaultOptions("127.0.0.1:0"))
	if err := a.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *appliance) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.t.Error(err)
	}
	if err := a.shares.Close(); err != nil {
		a.t.Error(err)
	}
	if err := a.eng.Close(); err != nil {
		a.t.Error(err)
	}
}

var everyone = nas.NFSExport{Enabled: true, Clients: []string{"127.0.0.0/8"}}

func newAppliance(t testing.TB, exp nas.NFSExport) *appliance {
	a := openAppliance(t, t.TempDir(), exp)
	t.Cleanup(a.close)
	return a
}

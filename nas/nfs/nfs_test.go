package nfs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

func shareFS(t *testing.T, a *appliance) vfs.FS {
	t.Helper()
	s, err := a.shares.Share(context.Background(), sharefs.DefaultShare, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return s.FS
}

// A file written over NFS, UNSTABLE then COMMIT, reads back over NFS and
// through the share filesystem SMB serves.
func TestWriteCommitRead(t *testing.T) {
	a := newAppliance(t, everyone)
	rc := dial(t, a.srv.Addr())
	st, root := rc.mnt("/backup")
	if st != mnt3OK {
		t.Fatalf("MNT: %d", st)
	}
	fh := rc.create(root, "a.bin")
	data := bytes.Repeat([]byte("backstop"), 40000)
	verf, stable := rc.write(fh, 0, data[:200000], unstable)
	if stable != unstable {
		t.Errorf("UNSTABLE write answered %d", stable)
	}
	if _, stable := rc.write(fh, 200000, data[200000:], fileSync); stable != fileSync {
		t.Errorf("FILE_SYNC write answered %d", stable)
	}
	st, cverf := rc.commit(fh)
	if st != nfs3OK || !bytes.Equal(cverf, verf) {
		t.Fatalf("COMMIT: status %d verifier %x, want %x", st, cverf, verf)
	}
	if st, size := rc.getattr(fh); st != nfs3OK || size != uint64(len(data)) {
		t.Fatalf("GETATTR: %d size %d", st, size)
	}
	var got []byte
	for off := uint64(0); off < uint64(len(data)); {
		st, p := rc.read(fh, off, 65536)
		if st != nfs3OK || len(p) == 0 {
			t.Fatalf("READ at %d: %d", off, st)
		}
		got = append(got, p...)
		off += uint64(len(p))
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	f, err := shareFS(t, a).Open(context.Background(), "a.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	smb := make([]byte, len(data))
	if n, err := f.ReadAt(smb, 0); (err != nil && err != io.EOF) || n != len(data) || !bytes.Equal(smb, data) {
		t.Fatalf("through the share filesystem: %d bytes, %v", n, err)
	}
}

func TestExportRules(t *testing.T) {
	t.Run("client outside the networks", func(t *testing.T) {
		a := newAppliance(t, nas.NFSExport{Enabled: true, Clients: []string{"10.0.0.0/8"}})
		if st, _ := dial(t, a.srv.Addr()).mnt("/backup"); st != mnt3Access {
			t.Fatalf("MNT: %d, want ACCES", st)
		}
	})
	t.Run("not exported", func(t *testing.T) {
		a := newAppliance(t, nas.NFSExport{})
		if st, _ := dial(t, a.srv.Addr()).mnt("/backup"); st != mnt3NoEnt {
			t.Fatalf("MNT of a share not exported: %d, want NOENT (its name is not disclosed)", st)
		}
	})
	t.Run("no such export", func(t *testing.T) {
		a := newAppliance(t, everyone)
		if st, _ := dial(t, a.srv.Addr()).mnt("/nope"); st != mnt3NoEnt {
			t.Fatalf("MNT: %d, want NOENT", st)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		ro := everyone
		ro.ReadOnly = true
		a := newAppliance(t, ro)
		rc := dial(t, a.srv.Addr())
		_, root := rc.mnt("/backup")
		var w xdrWriter
		w.opaque(root)
		w.str("x")
		w.u32(0)
		for range 6 {
			w.u32(0)
		}
		if st, _ := rc.nfs(procCreate, &w); st != nfs3ErrROFS {
			t.Fatalf("CREATE on a read-only export: %d, want ROFS", st)
		}
	})
	t.Run("no AUTH_SYS", func(t *testing.T) {
		a := newAppliance(t, everyone)
		rc := dial(t, a.srv.Addr())
		var w xdrWriter // a GETATTR with AUTH_NONE
		for _, v := range []uint32{9, rpcCall, 2, progNFS, 3, procGetattr, authNone, 0, authNone, 0, 0} {
			w.u32(v)
		}
		rec := append([]byte{0x80, 0, 0, byte(len(w.b))}, w.b...)
		if _, err := rc.c.Write(rec); err != nil {
			t.Fatal(err)
		}
		got, err := readRecord(rc.br)
		if err != nil {
			t.Fatal(err)
		}
		r := xdrReader{b: got}
		r.u32()
		r.u32()
		if r.u32() != msgDenied || r.u32() != rejectAuthError || r.u32() != authTooWeak {
			t.Fatal("a call without AUTH_SYS was not refused")
		}
	})
}

// readdirAll lists a directory with READDIRPLUS replies of at most
// maxcount bytes, following cookies.
func readdirAll(t *testing.T, rc *rpcClient, dir []byte, maxcount uint32) []string {
	t.Helper()
	var names []string
	cookie := uint64(0)
	for calls := 0; ; calls++ {
		if calls > 100000 {
			t.Fatal("READDIRPLUS does not end")
		}
		var a xdrWriter
		a.opaque(dir)
		a.u64(cookie)
		a.fixed(make([]byte, 8))
		a.u32(maxcount)
		a.u32(maxcount)
		st, r := rc.nfs(procReaddirplus, &a)
		if st != nfs3OK {
			t.Fatalf("READDIRPLUS: %d", st)
		}
		skipAttr(r)
		r.fixed(8)
		for r.bool() {
			r.u64()
			names = append(names, r.str(255))
			cookie = r.u64()
			skipAttr(r)
			if r.bool() {
				r.opaque(64)
			}
		}
		if r.bool() {
			return names
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
}

func TestReaddirplusLargeDirectory(t *testing.T) {
	a := newAppliance(t, everyone)
	fs := shareFS(t, a)
	ctx := context.Background()
	const n = 3000
	for i := range n {
		f, err := fs.Open(ctx, fmt.Sprintf("f%05d", i), vfs.OpenCreate|vfs.OpenWrite)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	names := readdirAll(t, rc, root, 8192)
	if len(names) != n+2 || names[0] != "." || names[1] != ".." || names[2] != "f00000" || names[n+1] != fmt.Sprintf("f%05d", n-1) {
		t.Fatalf("%d names, first %q, last %q", len(names), names[:3], names[len(names)-1])
	}
	seen := map[string]bool{}
	for _, nm := range names {
		if seen[nm] {
			t.Fatalf("%q listed twice", nm)
		}
		seen[nm] = true
	}
}

// A file handle names the file, not its path: it follows a rename, and
// it survives a restart of the appliance.
func TestHandlesSurviveRenameAndRestart(t *testing.T) {
	dir := t.TempDir()
	a := openAppliance(t, dir, everyone)
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	fh := rc.create(root, "old")
	rc.write(fh, 0, []byte("hello"), fileSync)
	var w xdrWriter
	w.opaque(root)
	w.str("old")
	w.opaque(root)
	w.str("new")
	if st, _ := rc.nfs(procRename, &w); st != nfs3OK {
		t.Fatalf("RENAME: %d", st)
	}
	if st, size := rc.getattr(fh); st != nfs3OK || size != 5 {
		t.Fatalf("GETATTR after rename: %d size %d", st, size)
	}
	a.close()
	a = openAppliance(t, dir, everyone)
	defer a.close()
	rc = dial(t, a.srv.Addr())
	if st, p := rc.read(fh, 0, 100); st != nfs3OK || string(p) != "hello" {
		t.Fatalf("READ after restart: %d %q", st, p)
	}
	if st, _ := rc.lookup(root, "new"); st != nfs3OK {
		t.Fatalf("LOOKUP with the old root handle: %d", st)
	}
	// A removed file's handle is stale.
	w = xdrWriter{}
	w.opaque(root)
	w.str("new")
	if st, _ := rc.nfs(procRemove, &w); st != nfs3OK {
		t.Fatalf("REMOVE: %d", st)
	}
	if st, _ := rc.getattr(fh); st != nfs3ErrStale {
		t.Fatalf("GETATTR of a removed file: %d, want STALE", st)
	}
}

func TestSetattrTruncateAndMkdir(t *testing.T) {
	a := newAppliance(t, everyone)
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	var w xdrWriter
	w.opaque(root)
	w.str("d")
	for range 6 {
		w.u32(0)
	}
	st, r := rc.nfs(procMkdir, &w)
	if st != nfs3OK || !r.bool() {
		t.Fatalf("MKDIR: %d", st)
	}
	d := r.opaque(64)
	fh := rc.create(d, "f")
	rc.write(fh, 0, bytes.Repeat([]byte{7}, 1000), unstable)
	w = xdrWriter{}
	w.opaque(fh)
	w.bool(false)
	w.bool(false)
	w.bool(false)
	w.bool(true)
	w.u64(10)
	w.u32(0)
	w.u32(0)
	w.bool(false)
	if st, _ := rc.nfs(procSetattr, &w); st != nfs3OK {
		t.Fatalf("SETATTR size: %d", st)
	}
	if st, size := rc.getattr(fh); st != nfs3OK || size != 10 {
		t.Fatalf("size after truncate: %d", size)
	}
	info, err := shareFS(t, a).Stat(context.Background(), "d/f")
	if err != nil || info.Size != 10 {
		t.Fatalf("share filesystem: %v size %d", err, info.Size)
	}
}

// Export rules apply to every call: a network dropped from an export
// cuts its clients off at once, mounted or not.
func TestClientsCheckedOnEveryCall(t *testing.T) {
	a := newAppliance(t, everyone)
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	if st, _ := rc.getattr(root); st != nfs3OK {
		t.Fatalf("GETATTR: %d", st)
	}
	other := nas.NFSExport{Enabled: true, Clients: []string{"192.0.2.0/24"}}
	if _, err := a.shares.Update(context.Background(), sharefs.DefaultShare, sharefs.Patch{NFS: &other}); err != nil {
		t.Fatal(err)
	}
	if st, _ := rc.getattr(root); st != nfs3ErrStale {
		t.Fatalf("GETATTR from a network no longer listed: %d, want STALE", st)
	}
}

// At most MaxOpen files stay open between calls; the least recently
// used one is closed, which commits it, and its data stays.
func TestMaxOpenFiles(t *testing.T) {
	a := newAppliance(t, everyone)
	a.srv.opts.MaxOpen = 2
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	var fhs [][]byte
	for i := range 5 {
		fh := rc.create(root, fmt.Sprintf("f%d", i))
		rc.write(fh, 0, []byte(fmt.Sprintf("data of %d", i)), unstable)
		fhs = append(fhs, fh)
	}
	a.srv.mu.Lock()
	n := len(a.srv.open)
	a.srv.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d files open, MaxOpen 2", n)
	}
	for i, fh := range fhs {
		if st, _ := rc.commit(fh); st != nfs3OK {
			t.Fatalf("COMMIT of f%d: %d", i, st)
		}
		if st, p := rc.read(fh, 0, 100); st != nfs3OK || string(p) != fmt.Sprintf("data of %d", i) {
			t.Fatalf("f%d: %d %q", i, st, p)
		}
	}
}

// Several connections write disjoint ranges of one file at once, as the
// kernel client's writeback does: one vfs.File serves them all, and the
// COMMIT of any covers every write before it.
func TestConcurrentWritesOneFile(t *testing.T) {
	a := newAppliance(t, everyone)
	rc := dial(t, a.srv.Addr())
	_, root := rc.mnt("/backup")
	fh := rc.create(root, "shared.bin")
	const conns, per, piece = 4, 8, 64 << 10
	done := make(chan error, conns)
	for c := range conns {
		cc := dial(t, a.srv.Addr())
		go func() {
			for i := range per {
				off := (i*conns + c) * piece
				if err := cc.writeErr(fh, uint64(off), bytes.Repeat([]byte{byte(c + 1)}, piece)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range conns {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("writers did not finish in 2 minutes")
		}
	}
	if st, _ := rc.commit(fh); st != nfs3OK {
		t.Fatalf("COMMIT: %d", st)
	}
	for i := range conns * per {
		st, p := rc.read(fh, uint64(i*piece), piece)
		if st != nfs3OK || !bytes.Equal(p, bytes.Repeat([]byte{byte(i%conns + 1)}, piece)) {
			t.Fatalf("piece %d: status %d, %d bytes", i, st, len(p))
		}
	}
}

package smb2

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

func (rc *rawConn) zeroData(t *testing.T, fid fileID, off, beyond uint64) Status {
	t.Helper()
	b := fileBody(57, 56, 8, func(w *buf) {
		le.PutUint32(w.b[4:], fsctlSetZeroData)
		le.PutUint32(w.b[24:], headerSize+56)
		le.PutUint32(w.b[28:], 16)
		le.PutUint32(w.b[44:], 0)
		le.PutUint32(w.b[48:], 1)
		w.u64(off)
		w.u64(beyond)
	})
	putFileID(b[8:], fid)
	st, _ := rc.do(t, cmdIoctl, b)
	return st
}

// TestSetZeroData: FSCTL_SET_ZERO_DATA zeroes the range within the file
// and never extends it; a range ending before it starts is refused
// ([MS-FSA] 2.1.5.10.39).
func TestSetZeroData(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	fs := vfs.NewMemFS(1 << 30)
	rc := newRawConn(t, srv, 1, nas.Share{Name: "data", FS: fs, Access: nas.AccessReadWrite})
	fid := rc.create(t, "z.bin")
	rc.writeAt(t, fid, 0, bytes.Repeat([]byte("x"), 100))
	if st := rc.zeroData(t, fid, 10, 50); st != StatusSuccess {
		t.Fatalf("zero [10,50): %v", st)
	}
	if st := rc.zeroData(t, fid, 90, 1<<40); st != StatusSuccess {
		t.Fatalf("zero [90,1T): %v", st)
	}
	if st := rc.zeroData(t, fid, 60, 50); st != StatusInvalidParameter {
		t.Errorf("zero [60,50): %v, want STATUS_INVALID_PARAMETER", st)
	}
	rc.close(t, fid)
	want := bytes.Repeat([]byte("x"), 100)
	copy(want[10:50], make([]byte, 40))
	copy(want[90:], make([]byte, 10))
	f, err := fs.Open(t.Context(), "z.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, 200)
	n, _ := f.ReadAt(got, 0)
	if !bytes.Equal(got[:n], want) {
		t.Fatalf("after zeroing: %q", got[:n])
	}
}

func qarInput(off, n uint64) []byte {
	var w buf
	w.u64(off)
	w.u64(n)
	return w.b
}

func qarRanges(out []byte) [][2]uint64 {
	var r [][2]uint64
	for ; len(out) >= 16; out = out[16:] {
		r = append(r, [2]uint64{le.Uint64(out), le.Uint64(out[8:])})
	}
	return r
}

// fileAttrs queries FILE_BASIC_INFORMATION's attributes.
func (c *tcpClient) fileAttrs(t *testing.T, fid []byte) uint32 {
	t.Helper()
	q := fileBody(41, 40, 24, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileBasicInformation
		le.PutUint32(w.b[4:], 40)
	})
	copy(q[24:], fid)
	st, body := c.do(cmdQueryInfo, q)
	if st != StatusSuccess {
		t.Fatalf("query basic: %v", st)
	}
	d := body[le.Uint16(body[2:])-headerSize:]
	return le.Uint32(d[32:])
}

// TestSparseFiles drives the sparse FSCTLs over TCP against sharefs:
// holes only in a sparse file, by NTFS's rules; the answers to bad
// requests as Windows (and smbtorture's smb2.ioctl.sparse_*) give them.
func TestSparseFiles(t *testing.T) {
	const k = 1024
	env := startCloneEnv(t)
	writeFile(t, env.fs, "s.bin", 128*k, 3)
	want := make([]byte, 128*k)
	f, err := env.fs.Open(t.Context(), "s.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	fid, st := c.create("s.bin", accReadWrite, dispOpen)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	qar := func(step string, off, n uint64, maxOut uint32, wantSt Status, want ...[2]uint64) {
		t.Helper()
		st, out := c.ioctl(fid, fsctlQueryAllocatedRanges, qarInput(off, n), maxOut)
		if st != wantSt || !slices.Equal(qarRanges(out), want) {
			t.Fatalf("%s: QAR(%d, %d) = %v %v, want %v %v", step, off, n, st, qarRanges(out), wantSt, want)
		}
	}
	zero := func(off, beyond uint64) {
		t.Helper()
		var w buf
		w.u64(off)
		w.u64(beyond)
		if st, _ := c.ioctl(fid, fsctlSetZeroData, w.b, 0); st != StatusSuccess {
			t.Fatalf("zero [%d, %d): %v", off, beyond, st)
		}
	}
	sparse := func(in ...byte) {
		t.Helper()
		if st, _ := c.ioctl(fid, fsctlSetSparse, in, 0); st != StatusSuccess {
			t.Fatalf("set sparse %v: %v", in, st)
		}
	}

	zero(0, 4*k) // not sparse: zeros, still allocated
	qar("dense", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 128 * k})
	qar("one past the end", 1, 128*k, 1024, StatusSuccess, [2]uint64{1, 128*k - 1})
	qar("past the end", 200*k, 10, 1024, StatusSuccess)
	qar("wraps", 512, ^uint64(0), 1024, StatusInvalidParameter)
	sparse() // no buffer: set
	if a := c.fileAttrs(t, fid); a&vfs.AttrSparse == 0 {
		t.Fatalf("attributes %#x after FSCTL_SET_SPARSE", a)
	}
	qar("set sparse", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 128 * k})
	zero(32*k, 64*k)
	zero(96*k, 1<<40)
	qar("punched", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 32 * k}, [2]uint64{64 * k, 32 * k})
	qar("truncated answer", 0, 1<<20, 16, StatusBufferOverflow, [2]uint64{0, 32 * k})
	qar("buffer too small", 0, 1<<20, 8, StatusBufferTooSmall)

	// FILE_BASIC_INFORMATION's attributes leave the sparse bit alone.
	s := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileBasicInformation
		le.PutUint32(w.b[4:], 40)
		le.PutUint16(w.b[8:], headerSize+32)
		w.zero(32)
		w.u32(vfs.AttrArchive)
		w.u32(0)
	})
	copy(s[16:], fid)
	if st, _ := c.do(cmdSetInfo, s); st != StatusSuccess {
		t.Fatal(st)
	}
	if a := c.fileAttrs(t, fid); a&vfs.AttrSparse == 0 {
		t.Fatalf("attributes %#x after setting FILE_ATTRIBUTE_ARCHIVE", a)
	}
	qar("after set info", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 32 * k}, [2]uint64{64 * k, 32 * k})
	c.close(fid)

	// The holes outlive the open; clearing sparse allocates them.
	fid, _ = c.create("s.bin", accReadWrite, dispOpen)
	qar("reopened", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 32 * k}, [2]uint64{64 * k, 32 * k})
	sparse(0)
	qar("cleared", 0, 1<<20, 1024, StatusSuccess, [2]uint64{0, 128 * k})
	c.close(fid)
	clear(want[:4*k])
	clear(want[32*k : 64*k])
	clear(want[96*k:])
	if f, err = env.fs.Open(t.Context(), "s.bin", vfs.OpenRead); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want)+1)
	n, _ := f.ReadAt(got, 0)
	f.Close()
	if !bytes.Equal(got[:n], want) {
		t.Fatal("content after zeroing differs")
	}

	// Access: QAR needs read data; SET_SPARSE write data, attributes or
	// append; directories cannot be sparse.
	ro, _ := c.create("s.bin", accReadAttributes, dispOpen)
	if st, _ := c.ioctl(ro, fsctlQueryAllocatedRanges, qarInput(0, 10), 1024); st != StatusAccessDenied {
		t.Errorf("QAR with FILE_READ_ATTRIBUTES only: %v", st)
	}
	if st, _ := c.ioctl(ro, fsctlSetSparse, nil, 0); st != StatusAccessDenied {
		t.Errorf("SET_SPARSE with FILE_READ_ATTRIBUTES only: %v", st)
	}
	c.close(ro)
	b := createBody("d", dispCreate, 1) // FILE_DIRECTORY_FILE
	st, body := c.do(cmdCreate, b)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	dir := bytes.Clone(body[64:80])
	if st, _ := c.ioctl(dir, fsctlSetSparse, nil, 0); st != StatusInvalidParameter {
		t.Errorf("SET_SPARSE on a directory: %v", st)
	}
	c.close(dir)

	// CREATE's FILE_ATTRIBUTE_SPARSE is ignored.
	b = createBody("new.bin", dispCreate, 0x40)
	le.PutUint32(b[28:], vfs.AttrNormal|vfs.AttrSparse)
	st, body = c.do(cmdCreate, b)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	nf := bytes.Clone(body[64:80])
	if a := c.fileAttrs(t, nf); a&vfs.AttrSparse != 0 {
		t.Errorf("created with FILE_ATTRIBUTE_SPARSE: attributes %#x", a)
	}

	// No compression: GET answers NONE, SET accepts NONE only.
	if st, out := c.ioctl(nf, fsctlGetCompression, nil, 2); st != StatusSuccess || !bytes.Equal(out, []byte{0, 0}) {
		t.Errorf("GET_COMPRESSION: %v %x", st, out)
	}
	if st, _ := c.ioctl(nf, fsctlGetCompression, nil, 1); st != statusInvalidUserBuffer {
		t.Errorf("GET_COMPRESSION into 1 byte: %v", st)
	}
	if st, _ := c.ioctl(nf, fsctlSetCompression, []byte{1, 0}, 0); st != StatusNotSupported {
		t.Errorf("SET_COMPRESSION default: %v", st)
	}
	if st, _ := c.ioctl(nf, fsctlSetCompression, []byte{0, 0}, 0); st != StatusSuccess {
		t.Errorf("SET_COMPRESSION none: %v", st)
	}
	c.close(nf)
}

// TestNetworkInterfaceInfo: FSCTL_QUERY_NETWORK_INTERFACE_INFO names the
// address the client reached, for SMB 3.x; the FileId must be all ones.
func TestNetworkInterfaceInfo(t *testing.T) {
	env := startCloneEnv(t)
	all := bytes.Repeat([]byte{0xff}, 16)
	c := dialTCPDialect(t, dialect300, env.addr, "data", testUser, testPass)
	st, out := c.ioctl(all, fsctlQueryNetworkInterfaces, nil, 0x10000)
	if st != StatusSuccess || len(out) != 152 {
		t.Fatalf("interface info: %v, %d bytes", st, len(out))
	}
	if le.Uint32(out) != 0 || le.Uint32(out[4:]) == 0 || le.Uint16(out[24:]) != 2 ||
		!bytes.Equal(out[28:32], []byte{127, 0, 0, 1}) {
		t.Errorf("interface info %x", out)
	}
	if st, _ := c.ioctl(all, fsctlQueryNetworkInterfaces, nil, 1); st != StatusBufferTooSmall {
		t.Errorf("into 1 byte: %v", st)
	}
	if st, _ := c.ioctl(bytes.Repeat([]byte{0x7f}, 16), fsctlQueryNetworkInterfaces, nil, 1); st != StatusInvalidParameter {
		t.Errorf("with a FileId: %v", st)
	}
	old := dialTCP(t, env.addr, "data", testUser, testPass)
	if st, _ := old.ioctl(all, fsctlQueryNetworkInterfaces, nil, 0x10000); st != StatusNotSupported {
		t.Errorf("SMB 2.1: %v", st)
	}
}

package smb2

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// cloneEnv is the SMB server on 127.0.0.1:0 serving a share filesystem
// over a real engine, as the appliance does.
type cloneEnv struct {
	eng  *chunkstore.Engine
	fs   *sharefs.FS
	addr string
}

func startCloneEnv(t testing.TB) *cloneEnv {
	t.Helper()
	dir := t.TempDir()
	eo := chunkstore.DefaultOptions()
	eo.Create = true
	eo.Reserve = 0
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateStore("nas.data", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	fs, err := sharefs.Open(context.Background(), eng, sharefs.Options{Store: "nas.data", CaseInsensitive: true,
		MetaDir: filepath.Join(dir, "meta"), StagingDir: filepath.Join(dir, "staging")})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Addr = "127.0.0.1:0"
	srv := New(testShares{"data": {Name: "data", FS: fs, Access: nas.AccessReadWrite}}, testUsers{testUser: testPass}, opts)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(t, srv)
		if err := fs.Close(); err != nil {
			t.Errorf("close fs: %v", err)
		}
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return &cloneEnv{eng: eng, fs: fs, addr: srv.Addr()}
}

// writeFile writes size bytes of a fast pseudo-random stream (seed) to
// path through the share filesystem.
func writeFile(t testing.TB, fs vfs.FS, path string, size int64, seed uint64) {
	t.Helper()
	f, err := fs.Open(context.Background(), path, vfs.OpenWrite|vfs.OpenCreate|vfs.OpenFile)
	if err != nil {
		t.Fatal(err)
	}
	g := fastData{r: rand.New(rand.NewPCG(seed, seed))}
	buf := make([]byte, 4<<20)
	for off := int64(0); off < size; {
		n := min(int64(len(buf)), size-off)
		g.fill(buf[:n])
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type fastData struct{ r *rand.Rand }

func (g fastData) fill(p []byte) {
	for i := 0; i+8 <= len(p); i += 8 {
		le.PutUint64(p[i:], g.r.Uint64())
	}
}

// sameContent compares two files of the share filesystem.
func sameContent(t testing.TB, fs vfs.FS, a, b string) {
	t.Helper()
	fa, err := fs.Open(context.Background(), a, vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := fs.Open(context.Background(), b, vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ia, _ := fa.Stat()
	ib, _ := fb.Stat()
	if ia.Size != ib.Size {
		t.Fatalf("%s has %d bytes, %s %d", a, ia.Size, b, ib.Size)
	}
	pa, pb := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); off < ia.Size; off += int64(len(pa)) {
		n := min(int64(len(pa)), ia.Size-off)
		if _, err := fa.ReadAt(pa[:n], off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if _, err := fb.ReadAt(pb[:n], off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(pa[:n], pb[:n]) {
			t.Fatalf("%s and %s differ in [%d, +%d)", a, b, off, n)
		}
	}
}

const (
	accRead      = accReadData | accReadAttributes
	accReadWrite = accRead | accWriteData | accAppendData | accWriteAttributes
)

func duplicateExtents(src []byte, srcOff, dstOff, n int64) []byte {
	var w buf
	w.bytes(src)
	w.u64(uint64(srcOff))
	w.u64(uint64(dstOff))
	w.u64(uint64(n))
	return w.b
}

func copyChunks(key []byte, chunks ...[3]int64) []byte {
	var w buf
	w.bytes(key)
	w.u32(uint32(len(chunks)))
	w.u32(0)
	for _, c := range chunks {
		w.u64(uint64(c[0]))
		w.u64(uint64(c[1]))
		w.u32(uint32(c[2]))
		w.u32(0)
	}
	return w.b
}

// TestCloneWithoutData clones a large file with
// FSCTL_DUPLICATE_EXTENTS_TO_FILE and copies it with FSCTL_SRV_COPYCHUNK
// over a real SMB connection: the copies read back byte-identical and the
// engine stores no new byte for either. 4 GiB; 256 MiB with -short.
func TestCloneWithoutData(t *testing.T) {
	size := int64(4 << 30)
	if testing.Short() {
		size = 256 << 20
	}
	env := startCloneEnv(t)
	start := time.Now()
	writeFile(t, env.fs, "full.vbk", size, 1)
	t.Logf("wrote %d MiB through the share filesystem in %v", size>>20, time.Since(start).Round(time.Millisecond))
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	src, st := c.create("full.vbk", accRead, dispOpen)
	if st != StatusSuccess {
		t.Fatalf("open source: %v", st)
	}

	t.Run("duplicate extents", func(t *testing.T) {
		before := env.eng.Stats()
		start := time.Now()
		dst, st := c.create("clone.vbk", accReadWrite, dispCreate)
		if st != StatusSuccess {
			t.Fatalf("create target: %v", st)
		}
		if st, _ := c.ioctl(dst, fsctlDuplicateExtentsToFile, duplicateExtents(src, 0, 0, size), 0); st != StatusSuccess {
			t.Fatalf("FSCTL_DUPLICATE_EXTENTS_TO_FILE: %v", st)
		}
		if st := c.close(dst); st != StatusSuccess {
			t.Fatalf("close target: %v", st)
		}
		t.Logf("cloned %d MiB in %v (create, ioctl, close)", size>>20, time.Since(start).Round(time.Microsecond))
		after := env.eng.Stats()
		if after.StoredBytes != before.StoredBytes || after.Containers != before.Containers {
			t.Errorf("the clone stored %d new bytes in %d containers", after.StoredBytes-before.StoredBytes, after.Containers-before.Containers)
		}
		sameContent(t, env.fs, "full.vbk", "clone.vbk")
	})

	t.Run("copychunk", func(t *testing.T) {
		st, key := c.ioctl(src, fsctlSrvRequestResumeKey, nil, 32)
		if st != StatusSuccess || len(key) != 32 {
			t.Fatalf("FSCTL_SRV_REQUEST_RESUME_KEY: %v, %d bytes", st, len(key))
		}
		before := env.eng.Stats()
		start := time.Now()
		dst, st := c.create("copy.vbk", accReadWrite, dispCreate)
		if st != StatusSuccess {
			t.Fatalf("create target: %v", st)
		}
		for off := int64(0); off < size; off += copyChunkMaxTotal {
			var chunks [][3]int64
			for o := off; o < min(size, off+copyChunkMaxTotal); o += copyChunkMaxChunk {
				chunks = append(chunks, [3]int64{o, o, min(copyChunkMaxChunk, size-o)})
			}
			st, out := c.ioctl(dst, fsctlSrvCopyChunk, copyChunks(key[:24], chunks...), 12)
			if st != StatusSuccess || len(out) != 12 || int(le.Uint32(out)) != len(chunks) {
				t.Fatalf("FSCTL_SRV_COPYCHUNK at %d: %v %x", off, st, out)
			}
		}
		if st := c.close(dst); st != StatusSuccess {
			t.Fatalf("close target: %v", st)
		}
		t.Logf("copychunk of %d MiB in %v", size>>20, time.Since(start).Round(time.Millisecond))
		after := env.eng.Stats()
		if after.StoredBytes != before.StoredBytes {
			t.Errorf("the copy stored %d new bytes", after.StoredBytes-before.StoredBytes)
		}
		sameContent(t, env.fs, "full.vbk", "copy.vbk")
	})
}

// fsAttributes queries FileFsAttributeInformation's attributes on fid.
func (c *tcpClient) fsAttributes(t *testing.T, fid []byte) uint32 {
	t.Helper()
	var w buf
	w.u16(41)
	w.u8(2) // SMB2_0_INFO_FILESYSTEM
	w.u8(fsAttributeInformation)
	w.u32(1024)
	w.u16(0)
	w.u16(0)
	w.u32(0)
	w.u32(0)
	w.u32(0)
	w.bytes(fid)
	st, body := c.do(cmdQueryInfo, w.b)
	if st != StatusSuccess || len(body) < 12 {
		t.Fatalf("query FileFsAttributeInformation: %v", st)
	}
	return le.Uint32(body[8:])
}

// TestCopyAndCloneRequests: the answers to malformed, refused and
// unsupported requests, as [MS-SMB2] 3.3.5.15.6 and 3.3.5.15.17 and
// [MS-FSCC] 2.3.8 give them.
func TestCopyAndCloneRequests(t *testing.T) {
	env := startCloneEnv(t)
	writeFile(t, env.fs, "src", 3<<20, 2)
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	src, _ := c.create("src", accRead, dispOpen)
	dst, st := c.create("dst", accReadWrite, dispCreate)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	wo, st := c.create("wo", accWriteData, dispCreate)
	if st != StatusSuccess {
		t.Fatal(st)
	}
	xo, _ := c.create("src", accExecute|accReadAttributes, dispOpen)
	ao, _ := c.create("src", accReadAttributes, dispOpen)
	if a := c.fsAttributes(t, dst); a&fsSupportsBlockRefcounting == 0 {
		t.Errorf("FileFsAttributeInformation %#x lacks FILE_SUPPORTS_BLOCK_REFCOUNTING", a)
	}
	_, key := c.ioctl(src, fsctlSrvRequestResumeKey, nil, 32)
	if len(key) != 32 {
		t.Fatalf("resume key: %x", key)
	}
	key = key[:24]
	badKey := append([]byte(nil), key...)
	badKey[20] ^= 1
	var tooMany [][3]int64
	for i := range copyChunkMaxChunks + 1 {
		tooMany = append(tooMany, [3]int64{int64(i), int64(i), 1})
	}
	limits := copyChunkLimits()
	for _, tc := range []struct {
		name    string
		fid     []byte
		code    uint32
		in      []byte
		maxOut  uint32
		want    Status
		wantOut []byte
	}{
		{"resume key, short output", src, fsctlSrvRequestResumeKey, nil, 16, StatusInvalidParameter, nil},
		{"copychunk, unknown key", dst, fsctlSrvCopyChunk, copyChunks(badKey, [3]int64{0, 0, 10}), 12, StatusObjectNameNotFound, nil},
		{"copychunk, short output", dst, fsctlSrvCopyChunk, copyChunks(key, [3]int64{0, 0, 10}), 8, StatusInvalidParameter, nil},
		{"copychunk, short input", dst, fsctlSrvCopyChunk, key, 12, StatusInvalidParameter, limits},
		{"copychunk, too many chunks", dst, fsctlSrvCopyChunk, copyChunks(key, tooMany...), 12, StatusInvalidParameter, limits},
		{"copychunk, empty chunk", dst, fsctlSrvCopyChunk, copyChunks(key, [3]int64{0, 0, 0}), 12, StatusInvalidParameter, limits},
		{"copychunk, chunk too large", dst, fsctlSrvCopyChunk, copyChunks(key, [3]int64{0, 0, copyChunkMaxChunk + 1}), 12, StatusInvalidParameter, limits},
		{"copychunk, past the source's end", dst, fsctlSrvCopyChunk, copyChunks(key, [3]int64{0, 0, 10}, [3]int64{3<<20 - 5, 10, 10}), 12,
			statusInvalidViewSize, copyProgress(1, 10)},
		{"copychunk, target without read", wo, fsctlSrvCopyChunk, copyChunks(key, [3]int64{0, 0, 10}), 12, StatusAccessDenied, nil},
		{"copychunk_write, target without read", wo, fsctlSrvCopyChunkWrite, copyChunks(key, [3]int64{0, 0, 10}), 12, StatusSuccess, copyProgress(1, 10)},
		{"copychunk, source with execute only", dst, fsctlSrvCopyChunk, copyChunks(keyOf(t, c, xo), [3]int64{0, 0, 10}), 12, StatusSuccess, copyProgress(1, 10)},
		{"copychunk, source with neither read nor execute", dst, fsctlSrvCopyChunk, copyChunks(keyOf(t, c, ao), [3]int64{0, 0, 10}), 12, StatusAccessDenied, nil},
		{"copychunk, target is the read-only source", src, fsctlSrvCopyChunkWrite, copyChunks(key, [3]int64{0, 100, 10}), 12, StatusAccessDenied, nil},
		{"duplicate extents, short input", dst, fsctlDuplicateExtentsToFile, duplicateExtents(src, 0, 0, 10)[:32], 0, StatusInvalidParameter, nil},
		{"duplicate extents, unknown source", dst, fsctlDuplicateExtentsToFile, duplicateExtents(make([]byte, 16), 0, 0, 10), 0, StatusInvalidHandle, nil},
		{"duplicate extents, past the source's end", dst, fsctlDuplicateExtentsToFile, duplicateExtents(src, 3<<20-5, 0, 10), 0, StatusNotSupported, nil},
		{"duplicate extents, overlapping on one file", dst, fsctlDuplicateExtentsToFile, duplicateExtents(dst, 0, 5, 10), 0, StatusNotSupported, nil},
		{"duplicate extents, target read-only", src, fsctlDuplicateExtentsToFile, duplicateExtents(dst, 0, 0, 10), 0, StatusAccessDenied, nil},
		{"duplicate extents ex", dst, fsctlDuplicateExtentsToFileX, append(append(le.AppendUint64(nil, 0x30), duplicateExtents(src, 0, 0, 1<<20)...), make([]byte, 8)...), 0, StatusSuccess, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := c.ioctl(tc.fid, tc.code, tc.in, tc.maxOut)
			if st != tc.want {
				t.Fatalf("status %v, want %v", st, tc.want)
			}
			if tc.wantOut != nil && !bytes.Equal(out, tc.wantOut) {
				t.Fatalf("output %x, want %x", out, tc.wantOut)
			}
		})
	}
}

// TestCopyChunkFallback: a filesystem without vfs.Cloner (MemFS) copies
// through reads and writes; FSCTL_DUPLICATE_EXTENTS_TO_FILE is not
// supported there and FILE_SUPPORTS_BLOCK_REFCOUNTING not advertised.
func TestCopyChunkFallback(t *testing.T) {
	env := startServer(t, Options{})
	data := make([]byte, 3<<20+17)
	fastData{r: rand.New(rand.NewPCG(3, 3))}.fill(data)
	f, err := env.fs.Open(context.Background(), "src", vfs.OpenWrite|vfs.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	src, _ := c.create("src", accRead, dispOpen)
	dst, _ := c.create("dst", accReadWrite, dispCreate)
	if a := c.fsAttributes(t, dst); a&fsSupportsBlockRefcounting != 0 {
		t.Errorf("MemFS advertises block cloning: %#x", a)
	}
	if st, _ := c.ioctl(dst, fsctlDuplicateExtentsToFile, duplicateExtents(src, 0, 0, 10), 0); st != StatusInvalidDeviceRequest {
		t.Fatalf("duplicate extents on MemFS: %v", st)
	}
	_, key := c.ioctl(src, fsctlSrvRequestResumeKey, nil, 32)
	st, out := c.ioctl(dst, fsctlSrvCopyChunk, copyChunks(key[:24], [3]int64{0, 0, 1 << 20}, [3]int64{1 << 20, 1 << 20, 1 << 20},
		[3]int64{2 << 20, 2 << 20, 1 << 20}, [3]int64{3 << 20, 3 << 20, 17}), 12)
	if st != StatusSuccess || !bytes.Equal(out, copyProgress(4, int64(len(data)))) {
		t.Fatalf("copychunk: %v %x", st, out)
	}
	c.close(dst)
	g, err := env.fs.Open(context.Background(), "dst", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got := make([]byte, len(data))
	if _, err := g.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the copy differs")
	}
}

func keyOf(t *testing.T, c *tcpClient, fid []byte) []byte {
	t.Helper()
	st, key := c.ioctl(fid, fsctlSrvRequestResumeKey, nil, 32)
	if st != StatusSuccess || len(key) != 32 {
		t.Fatalf("resume key: %v", st)
	}
	return key[:24]
}

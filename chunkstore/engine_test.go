package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// testOptions are small so that tests cross container and volume limits.
func testOptions() Options {
	o := DefaultOptions()
	o.ContainerSize = 256 << 10
	o.VolumeSize = 8 << 20
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 2 << 10, Avg: 8 << 10, Max: 32 << 10}
	o.CacheContainers = 64
	return o
}

func openTest(t testing.TB, dir string, o Options) *Engine {
	t.Helper()
	e, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

// testData returns n bytes, half random and half text-like, from seed.
func testData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	words := []string{"backup ", "restore ", "chunk ", "volume ", "tape ", "share ", "\n"}
	for i := 0; i < n; {
		if r.IntN(2) == 0 {
			k := min(n-i, 1+r.IntN(4096))
			for j := 0; j < k; j += 8 {
				v := r.Uint64()
				for x := j; x < min(j+8, k); x++ {
					b[i+x] = byte(v)
					v >>= 8
				}
			}
			i += k
		} else {
			for k := 1 + r.IntN(400); k > 0 && i < n; k-- {
				i += copy(b[i:], words[r.IntN(len(words))])
			}
		}
	}
	return b
}

func put(t testing.TB, e *Engine, store, name string, data []byte) Item {
	t.Helper()
	w, err := e.Create(context.Background(), store, name, WriteOptions{Replace: true})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	it, err := w.Commit(context.Background())
	if err != nil {
		t.Fatalf("commit %s: %v", name, err)
	}
	return it
}

func get(t testing.TB, e *Engine, store, name string) []byte {
	t.Helper()
	r, err := e.OpenItem(context.Background(), store, name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	for _, n := range []int{0, 1, 2047, 2048, 8191, 32 << 10, 32<<10 + 1, 1 << 20, 3<<20 + 12345} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := testData(uint64(n), n)
			it := put(t, e, DefaultStore, fmt.Sprintf("item-%d", n), data)
			if it.Size != int64(n) {
				t.Fatalf("size %d, want %d", it.Size, n)
			}
			if got := get(t, e, DefaultStore, it.Name); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes differ from the %d written", len(got), n)
			}
		})
	}
}

func TestReadAt(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := testData(7, 2<<20+333)
	put(t, e, DefaultStore, "x", data)
	r, err := e.OpenItem(context.Background(), DefaultStore, "x")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		off := rng.Int64N(int64(len(data)))
		n := rng.IntN(100 << 10)
		p := make([]byte, n)
		k, err := r.ReadAt(p, off)
		want := data[off:min(off+int64(n), int64(len(data)))]
		if k != len(want) || !bytes.Equal(p[:k], want) {
			t.Fatalf("ReadAt(%d, %d) = %d bytes, want %d", n, off, k, len(want))
		}
		if k < n && err != io.EOF {
			t.Fatalf("short ReadAt without EOF: %v", err)
		}
	}
	// WriteTo from the middle.
	if _, err := r.Seek(12345, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), data[12345:]) {
		t.Fatalf("WriteTo from 12345: %v", err)
	}
}

func TestDedupShifted(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	data := testData(1, 8<<20)
	first := put(t, e, DefaultStore, "a", data)
	shifted := append([]byte("a few bytes inserted at the front"), data...)
	second := put(t, e, DefaultStore, "b", shifted)
	if second.NewBytes > first.NewBytes/50 {
		t.Fatalf("shifted copy stored %d new bytes, the original %d: want under 2%%", second.NewBytes, first.NewBytes)
	}
	if !bytes.Equal(get(t, e, DefaultStore, "b"), shifted) {
		t.Fatal("shifted copy reads back wrong")
	}
	st := e.Stats()
	if st.DedupRatio < 1.9 {
		t.Fatalf("dedup ratio %.2f after storing the same data twice", st.DedupRatio)
	}
}

func TestDomainsDoNotShare(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	if _, err := e.CreateDomain("tenant", testOptions().Chunker); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateStore("t", "tenant"); err != nil {
		t.Fatal(err)
	}
	data := testData(3, 1<<20)
	a := put(t, e, DefaultStore, "x", data)
	b := put(t, e, "t", "x", data)
	if b.NewBytes < a.NewBytes {
		t.Fatalf("second domain stored %d bytes of %d: it deduplicated across domains", b.NewBytes, a.NewBytes)
	}
	if !bytes.Equal(get(t, e, "t", "x"), data) {
		t.Fatal("read back differs")
	}
}

func TestConcurrentWriters(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	common := testData(99, 2<<20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := append(append([]byte(nil), common...), testData(uint64(i), 512<<10)...)
			put(t, e, DefaultStore, fmt.Sprintf("w%d", i), data)
		}()
	}
	wg.Wait()
	for i := range 8 {
		want := append(append([]byte(nil), common...), testData(uint64(i), 512<<10)...)
		if !bytes.Equal(get(t, e, DefaultStore, fmt.Sprintf("w%d", i)), want) {
			t.Fatalf("w%d differs", i)
		}
	}
	st := e.Stats()
	if st.Items != 8 || st.DedupRatio < 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	data := testData(5, 3<<20)
	put(t, e, DefaultStore, "keep", data)
	before := e.Stats()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openTest(t, dir, testOptions())
	defer e.Close()
	if !bytes.Equal(get(t, e, DefaultStore, "keep"), data) {
		t.Fatal("item changed across reopen")
	}
	after := e.Stats()
	if after.LogicalBytes != before.LogicalBytes || after.StoredBytes != before.StoredBytes {
		t.Fatalf("stats changed across reopen: %+v then %+v", before, after)
	}
	it := put(t, e, DefaultStore, "again", data)
	if it.NewBytes != 0 {
		t.Fatalf("same data after reopen stored %d new bytes", it.NewBytes)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	defer e.Close()
	ctx := context.Background()
	put(t, e, DefaultStore, "exists", []byte("x"))

	if _, err := Open(ctx, dir, testOptions()); !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	if _, err := Open(ctx, dir+"/missing", Options{}); err == nil {
		t.Error("open of a missing directory without Create succeeded")
	}
	if _, err := e.Create(ctx, DefaultStore, "exists", WriteOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("create over existing: %v", err)
	}
	for _, name := range []string{"", "a\x00b", string(make([]byte, MaxNameLen+1)), "\xff"} {
		if _, err := e.Create(ctx, DefaultStore, name, WriteOptions{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %q: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := e.Create(ctx, "nostore", "x", WriteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("create in missing store: %v", err)
	}
	if _, err := e.OpenItem(ctx, DefaultStore, "nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("open missing item: %v", err)
	}
	if err := e.Delete(ctx, DefaultStore, "nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing item: %v", err)
	}
	w, err := e.Create(ctx, DefaultStore, "busy", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create(ctx, DefaultStore, "busy", WriteOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("second writer: %v, want ErrBusy", err)
	}
	w.Write([]byte("partial"))
	w.Abort()
	if _, err := e.Stat(ctx, DefaultStore, "busy"); !errors.Is(err, ErrNotFound) {
		t.Errorf("aborted item is visible: %v", err)
	}
	if err := e.DeleteStore(DefaultStore); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("delete non-empty store: %v", err)
	}
}

func TestFull(t *testing.T) {
	o := testOptions()
	o.Capacity = 2 << 20
	dir := t.TempDir()
	e := openTest(t, dir, o)
	small := testData(1, 256<<10)
	put(t, e, DefaultStore, "fits", small)
	w, err := e.Create(context.Background(), DefaultStore, "too-big", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(testData(2, 4<<20))
	if _, err := w.Commit(context.Background()); !errors.Is(err, ErrFull) {
		t.Fatalf("commit past capacity: %v, want ErrFull", err)
	}
	if _, err := e.Stat(context.Background(), DefaultStore, "too-big"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("item that did not fit is visible: %v", err)
	}
	if !bytes.Equal(get(t, e, DefaultStore, "fits"), small) {
		t.Fatal("earlier item damaged")
	}
	e.Close()
	e = openTest(t, dir, o)
	defer e.Close()
	if !bytes.Equal(get(t, e, DefaultStore, "fits"), small) {
		t.Fatal("earlier item damaged after reopen")
	}
}

func TestDeleteAndReplace(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	ctx := context.Background()
	put(t, e, DefaultStore, "x", testData(1, 100000))
	v2 := testData(2, 200000)
	put(t, e, DefaultStore, "x", v2)
	if !bytes.Equal(get(t, e, DefaultStore, "x"), v2) {
		t.Fatal("replaced item reads old data")
	}
	if st := e.Stats(); st.Items != 1 || st.LogicalBytes != 200000 {
		t.Fatalf("after replace: %+v", st)
	}
	if err := e.Delete(ctx, DefaultStore, "x"); err != nil {
		t.Fatal(err)
	}
	if items, _ := e.List(ctx, DefaultStore, ""); len(items) != 0 {
		t.Fatalf("list after delete: %v", items)
	}
	if err := e.DeleteStore(DefaultStore); err != nil {
		t.Fatalf("delete empty store: %v", err)
	}
}

// TestDamageIsAnError flips a byte of a stored chunk: reading the item must
// fail with ErrCorrupt naming it, never return wrong bytes, and verify must
// name the item.
func TestDamageIsAnError(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	data := testData(11, 1<<20)
	put(t, e, DefaultStore, "victim", data)
	put(t, e, DefaultStore, "bystander", testData(12, 1<<20))
	e.Close()
	f, err := os.OpenFile(dir+"/volumes/0000.vol", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], 5000) // inside the first container's body
	b[0] ^= 0xff
	f.WriteAt(b[:], 5000)
	f.Close()

	e = openTest(t, dir, testOptions())
	defer e.Close()
	r, err := e.OpenItem(context.Background(), DefaultStore, "victim")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, r)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "victim") {
		t.Fatalf("reading a damaged item: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data[:buf.Len()]) {
		t.Fatal("bytes returned before the error are wrong")
	}
	p := make([]byte, 100)
	if _, err := r.ReadAt(p, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadAt of the damaged chunk: %v", err)
	}
	if !bytes.Equal(get(t, e, DefaultStore, "bystander"), testData(12, 1<<20)) {
		t.Fatal("undamaged item unreadable")
	}
	rep, err := e.Verify(context.Background(), nil)
	if err != nil || len(rep.Damage) != 1 {
		t.Fatalf("verify: %v %+v", err, rep.Damage)
	}
	if d := rep.Damage[0]; d.Chunk == nil || len(d.Items) != 1 || d.Items[0] != "default/victim" {
		t.Fatalf("verify names %+v", d)
	}
}

// TestLargeStream round-trips a multi-GiB stream without holding it in
// memory, comparing digests.
func TestLargeStream(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-GiB: run by make test without -short")
	}
	e := openTest(t, t.TempDir(), DefaultOptions())
	defer e.Close()
	const size = 3<<30 + 12345
	w, err := e.Create(context.Background(), DefaultStore, "big", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := blake3.New()
	if _, err := w.ReadFrom(io.TeeReader(io.LimitReader(&streamData{}, size), in)); err != nil {
		t.Fatal(err)
	}
	it, err := w.Commit(context.Background())
	if err != nil || it.Size != size {
		t.Fatalf("commit: %v size %d", err, it.Size)
	}
	r, err := e.OpenItem(context.Background(), DefaultStore, "big")
	if err != nil {
		t.Fatal(err)
	}
	out := blake3.New()
	if n, err := r.WriteTo(out); err != nil || n != size {
		t.Fatalf("read %d: %v", n, err)
	}
	if !bytes.Equal(in.Sum(nil), out.Sum(nil)) {
		t.Fatal("digest of the restored stream differs")
	}
}

// streamData is an endless stream of testData blocks, some repeated.
type streamData struct {
	i   uint64
	cur []byte
}

func (s *streamData) Read(p []byte) (int, error) {
	if len(s.cur) == 0 {
		s.i++
		s.cur = testData(s.i%97, 1<<20)
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// TestRollingVerify checks that N slices cover every container and record
// when each was verified.
func TestRollingVerify(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	put(t, e, DefaultStore, "x", testData(21, 4<<20))
	if n := e.Stats().Containers; n < 6 {
		t.Fatalf("want several containers, have %d", n)
	}
	ctx := context.Background()
	seen := 0
	for i := range 3 {
		rep, err := e.VerifySlice(ctx, 3, nil)
		if err != nil || len(rep.Damage) != 0 {
			t.Fatalf("slice %d: %v %+v", i, err, rep.Damage)
		}
		seen += rep.Containers
		if i < 2 && !e.LastVerified().IsZero() {
			t.Fatalf("after slice %d of 3 every container counts as verified", i)
		}
	}
	if seen < e.Stats().Containers || e.LastVerified().IsZero() {
		t.Fatalf("3 slices checked %d of %d containers", seen, e.Stats().Containers)
	}
	// The times survive a reopen.
	e.Close()
	e = openTest(t, dir, testOptions())
	defer e.Close()
	if e.LastVerified().IsZero() {
		t.Fatal("verification times lost on reopen")
	}
	if _, err := e.VerifySlice(ctx, 0, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("slice 0: %v", err)
	}
}

// TestPlanHousekeeping writes 20 generations, deletes 15, and checks that the plan
// finds the space of the deleted generations and nothing of the survivors.
func TestPlanHousekeeping(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	ctx := context.Background()
	base := testData(31, 2<<20)
	var newBytes [20]int64
	for g := range 20 {
		// Each generation: the base with its own 256 KiB appended, so that
		// every generation adds chunks only it uses.
		it := put(t, e, DefaultStore, fmt.Sprint(g), append(append([]byte(nil), base...), testData(uint64(100+g), 256<<10)...))
		newBytes[g] = it.NewBytes
	}
	before, err := e.PlanHousekeeping(ctx, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if before.ReclaimBytes != 0 || before.LiveChunks != before.Chunks {
		t.Fatalf("nothing deleted yet, plan %+v", before)
	}
	var deleted int64
	for g := range 15 {
		if err := e.Delete(ctx, DefaultStore, fmt.Sprint(g)); err != nil {
			t.Fatal(err)
		}
		if g > 0 {
			deleted += newBytes[g] // generation 0's own chunks include the base
		}
	}
	after, err := e.PlanHousekeeping(ctx, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	dead := after.StoredBytes - after.LiveBytes
	// The Bloom filter may keep about 1% of dead chunks alive.
	if float64(dead) < 0.9*float64(deleted) || after.ReclaimBytes == 0 {
		t.Fatalf("deleted generations' own chunks: %d bytes, plan sees %d dead, reclaims %d: %+v", deleted, dead, after.ReclaimBytes, after)
	}
	for g := 15; g < 20; g++ {
		if _, err := e.Stat(ctx, DefaultStore, fmt.Sprint(g)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocalityCache: a dedup hit loads the whole container's footer, so
// the next chunks of a repeated backup are found without badger.
func TestLocalityCache(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, testOptions())
	data := testData(41, 2<<20)
	put(t, e, DefaultStore, "a", data)
	e.Close()
	e = openTest(t, dir, testOptions()) // cold cache
	defer e.Close()
	put(t, e, DefaultStore, "b", data)
	e.cache.mu.Lock()
	cached := len(e.cache.members)
	e.cache.mu.Unlock()
	if cached != e.Stats().Containers {
		t.Fatalf("after a repeated backup %d of %d containers are in the locality cache", cached, e.Stats().Containers)
	}
}

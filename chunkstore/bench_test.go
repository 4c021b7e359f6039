package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// benchOptions are the shipped defaults with a fixed, modest capacity.
func benchOptions() Options {
	o := DefaultOptions()
	o.Capacity = 64 << 30
	return o
}

func benchPut(b *testing.B, e *Engine, name string, data []byte) Item {
	w, err := e.Create(context.Background(), DefaultStore, name, WriteOptions{Replace: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.ReadFrom(bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	it, err := w.Commit(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return it
}

// BenchmarkIngest measures Writer throughput for unique compressible data
// and for data already stored, per compression codec.
func BenchmarkIngest(b *testing.B) {
	data := testData(42, 256<<20)
	for _, codec := range []string{"auto", "s2", "zstd", "none"} {
		b.Run("unique/"+codec, func(b *testing.B) {
			o := benchOptions()
			o.Compression = codec
			e := openTest(b, b.TempDir(), o)
			defer e.Close()
			b.SetBytes(int64(len(data)))
			var stored int64
			for i := range b.N {
				// A fresh variation each round keeps the data unique.
				d := append([]byte(nil), data...)
				for k := 0; k < len(d); k += 4096 {
					d[k] ^= byte(i + 1)
				}
				b.StartTimer()
				stored += benchPut(b, e, fmt.Sprint(i), d).NewBytes
				b.StopTimer()
			}
			b.ReportMetric(float64(int64(b.N)*int64(len(data)))/float64(stored), "compress-x")
		})
	}
	b.Run("duplicate", func(b *testing.B) {
		e := openTest(b, b.TempDir(), benchOptions())
		defer e.Close()
		benchPut(b, e, "first", data)
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		for i := range b.N {
			if it := benchPut(b, e, fmt.Sprint(i), data); it.NewBytes != 0 {
				b.Fatalf("duplicate stored %d bytes", it.NewBytes)
			}
		}
	})
}

// generation returns generation g of a 20-generation backup: the previous
// one with about 2% of it rewritten in place and a little appended.
func generation(base []byte, g int) []byte {
	d := append([]byte(nil), base...)
	for k := 1; k <= g; k++ {
		for off := (k * 7919 * 4096) % len(d); off < len(d); off += 50 * 64 << 10 {
			copy(d[off:], testData(uint64(k*1000+off), min(len(d)-off, 64<<10)))
		}
		d = append(d, testData(uint64(k), 256<<10)...)
	}
	return d
}

// BenchmarkRestore measures restoring the newest of 20 generations.
func BenchmarkRestore(b *testing.B) {
	e := openTest(b, b.TempDir(), benchOptions())
	defer e.Close()
	base := testData(7, 256<<20)
	var last []byte
	for g := range 20 {
		last = generation(base, g)
		benchPut(b, e, fmt.Sprintf("gen-%02d", g), last)
	}
	b.SetBytes(int64(len(last)))
	b.ResetTimer()
	for range b.N {
		r, err := e.OpenItem(context.Background(), DefaultStore, "gen-19")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := r.WriteTo(io.Discard); err != nil || n != int64(len(last)) {
			b.Fatalf("restored %d bytes: %v", n, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(e.Stats().DedupRatio, "dedup-x")
}

// BenchmarkIndexMemory measures resident memory against stored chunks,
// each phase in a fresh process (the test binary run again), so that one
// phase's garbage does not count against the next:
//   - baseline: an engine open on an empty data directory;
//   - ingest: peak while storing about a million new 1 KiB chunks;
//   - open: after reopening that directory (filter rebuilt) and storing a
//     64 MiB stream of chunks it already holds;
//
// at half a million and a million chunks. Anonymous memory is the Go heap
// and badger's caches; RSS adds the pages of badger's mmap'd tables, which
// the kernel can reclaim. BACKSTOP_MEM_HEAPPROF=FILE writes a heap profile
// of a phase.
func BenchmarkIndexMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("one round is the measurement")
	}
	base := memChild(b, "baseline", b.TempDir(), 0)
	var open [2]memResult
	var peak int64
	for k, n := range []int64{500_000, 1_000_000} {
		dir := b.TempDir()
		in := memChild(b, "ingest", dir, n)
		peak = in.hwm
		open[k] = memChild(b, "open", dir, 0)
		open[k].chunks = in.chunks
	}
	b.ReportMetric(float64(base.rss)/(1<<20), "baseline-rss-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "ingest-peak-rss-MiB@1M")
	b.ReportMetric(float64(open[0].anon)/(1<<20), "open-anon-MiB@0.5M")
	b.ReportMetric(float64(open[1].anon)/(1<<20), "open-anon-MiB@1M")
	b.ReportMetric(float64(open[1].rss)/(1<<20), "open-rss-MiB@1M")
	b.ReportMetric(float64(open[1].filter)/float64(open[1].chunks), "filter-bytes/chunk")
}

// BenchmarkHousekeepingMemory measures the memory housekeeping adds to an open
// engine (peak anonymous memory during the run, above what the engine
// held before it: heap and badger's caches, not badger's mmap'd tables,
// which the kernel can drop), on data directories of one and two million
// chunks with half of them deleted. The difference between the two, per
// chunk, is what grows with the data.
func BenchmarkHousekeepingMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("one round is the measurement")
	}
	var extra [2]int64
	var chunks [2]int64
	for k, n := range []int64{1_000_000, 2_000_000} {
		dir := b.TempDir()
		chunks[k] = memChild(b, "ingest", dir, n).chunks
		memChild(b, "open", dir, 0) // badger settles what the ingest left
		gc := memChild(b, "gc", dir, 0)
		extra[k] = gc.peakAnon - gc.hkBefore
	}
	b.ReportMetric(float64(extra[0])/(1<<20), "gc-added-anon-MiB@1M")
	b.ReportMetric(float64(extra[1])/(1<<20), "gc-added-anon-MiB@2M")
	b.ReportMetric(float64(extra[1]-extra[0])/float64(chunks[1]-chunks[0]), "gc-anon-bytes/chunk")
}

type memResult struct{ rss, hwm, anon, chunks, filter, peakAnon, hkBefore int64 }

func memChild(b *testing.B, phase, dir string, chunks int64) memResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemChild$")
	cmd.Env = append(os.Environ(), "BACKSTOP_MEM_PHASE="+phase, "BACKSTOP_MEM_DIR="+dir, fmt.Sprint("BACKSTOP_MEM_CHUNKS=", chunks))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", phase, err, out)
	}
	var r memResult
	for _, l := range strings.Split(string(out), "\n") {
		var x int64
		fmt.Sscanf(l, "GCREP %d %d %d %d", &x, &x, &x, &r.hkBefore)
		if _, err := fmt.Sscanf(l, "MEM %d %d %d %d %d %d", &r.rss, &r.hwm, &r.anon, &r.chunks, &r.filter, &r.peakAnon); err == nil {
			return r
		}
	}
	b.Fatalf("%s printed no MEM line:\n%s", phase, out)
	return r
}

// TestMemChild is one phase of BenchmarkIndexMemory.
func TestMemChild(t *testing.T) {
	phase, dir := os.Getenv("BACKSTOP_MEM_PHASE"), os.Getenv("BACKSTOP_MEM_DIR")
	if phase == "" {
		t.Skip("run by BenchmarkIndexMemory only")
	}
	o := benchOptions()
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 256, Avg: 1 << 10, Max: 4 << 10}
	o.Compression = "none"
	// Sample anonymous memory (heap and badger's caches, not its mmap'd
	// tables, which the kernel can drop) for its peak.
	var peakAnon atomic.Int64
	stopSampling := make(chan struct{})
	defer close(stopSampling)
	go func() {
		for {
			peakAnon.Store(max(peakAnon.Load(), procStatus(t, "RssAnon")))
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	e := openTest(t, dir, o)
	defer e.Close()
	var chunks, target int64
	fmt.Sscan(os.Getenv("BACKSTOP_MEM_CHUNKS"), &target)
	switch phase {
	case "ingest":
		for i := 0; chunks < target; i++ {
			w, err := e.Create(context.Background(), DefaultStore, fmt.Sprint(i), WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.ReadFrom(io.LimitReader(&uniqueStream{seed: uint64(i)}, 64<<20)); err != nil {
				t.Fatal(err)
			}
			it, err := w.Commit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			chunks += it.Chunks
		}
	case "gc":
		// Delete every other item, then reclaim.
		items, err := e.List(context.Background(), DefaultStore, "")
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range items {
			chunks += it.Chunks
			if i%2 == 0 {
				if err := e.Delete(context.Background(), DefaultStore, it.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Measure housekeeping alone: the peak from here on, above what
		// the open engine already holds.
		runtime.GC()
		before := procStatus(t, "RssAnon")
		peakAnon.Store(before)
		rep, err := e.Housekeep(context.Background(), HousekeepingOptions{NoThrottle: true})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("GCREP %d %d %d %d\n", rep.StoredBytes, rep.Duration.Nanoseconds(), rep.ReclaimedBytes, before)
	case "open":
		w, err := e.Create(context.Background(), DefaultStore, "again", WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.ReadFrom(io.LimitReader(&uniqueStream{seed: 0}, 64<<20))
		if _, err := w.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	if p := os.Getenv("BACKSTOP_MEM_HEAPPROF"); p != "" {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	fmt.Printf("MEM %d %d %d %d %d %d\n", rss(t), hwm(t), procStatus(t, "RssAnon"), chunks, e.idx.Filter.Bytes(), max(peakAnon.Load(), procStatus(t, "RssAnon")))
}

// uniqueStream is an endless stream of pseudo-random bytes.
type uniqueStream struct {
	seed uint64
	r    *rand.Rand
}

func (u *uniqueStream) Read(p []byte) (int, error) {
	if u.r == nil {
		u.r = rand.New(rand.NewPCG(u.seed, 99))
	}
	for i := 0; i < len(p); i += 8 {
		v := u.r.Uint64()
		for j := i; j < min(i+8, len(p)); j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
	return len(p), nil
}

func procStatus(b testing.TB, field string) int64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func rss(b testing.TB) int64 { return procStatus(b, "VmRSS") }
func hwm(b testing.TB) int64 { return procStatus(b, "VmHWM") }

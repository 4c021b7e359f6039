package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"backstop/chunkstore/chunker"
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
	for _, codec := range []string{"s2", "zstd", "none"} {
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

// BenchmarkIndexMemory stores about a million small chunks and reports the
// resident memory of the process per million chunks, while ingesting and
// after a reopen (filter rebuilt, caches cold).
func BenchmarkIndexMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("one round is the measurement")
	}
	o := benchOptions()
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 256, Avg: 1 << 10, Max: 4 << 10}
	o.Compression = "none"
	dir := b.TempDir()
	e := openTest(b, dir, o)
	runtime.GC()
	base := rss(b)
	var chunks int64
	for i := 0; chunks < 1_000_000; i++ {
		chunks += benchPut(b, e, fmt.Sprint(i), testData(uint64(i)+1e6, 128<<20)).Chunks
	}
	peak := hwm(b)
	e.Close()
	runtime.GC()
	e = openTest(b, dir, o)
	defer e.Close()
	runtime.GC()
	open := rss(b)
	m := float64(chunks) / 1e6
	b.ReportMetric(float64(peak-base)/m/(1<<20), "ingest-peak-MiB/Mchunk")
	b.ReportMetric(float64(open-base)/m/(1<<20), "open-MiB/Mchunk")
	b.ReportMetric(float64(e.idx.Filter.Bytes())/m/(1<<20), "filter-MiB/Mchunk")
}

func procStatus(b *testing.B, field string) int64 {
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

func rss(b *testing.B) int64 { return procStatus(b, "VmRSS") }
func hwm(b *testing.B) int64 { return procStatus(b, "VmHWM") }

package sharefs

import (
	"context"
	"fmt"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

const benchSize = 256 << 20

// BenchmarkSequentialWrite writes a 256 MiB file of random bytes in
// 1 MiB writes from offset 0 (the streamed path) and closes it.
func BenchmarkSequentialWrite(b *testing.B) {
	e := newEnv(b)
	data := randBytes(42, benchSize)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := e.create(fmt.Sprint("f", i))
		for off := 0; off < benchSize; off += 1 << 20 {
			if _, err := f.WriteAt(data[off:off+1<<20], int64(off)); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		// a new seed for the next round, so it is not all duplicates
		b.StopTimer()
		data = randBytes(uint64(43+i), benchSize)
		b.StartTimer()
	}
}

// BenchmarkSequentialRead reads a 256 MiB file in 1 MiB reads.
func BenchmarkSequentialRead(b *testing.B) {
	e := newEnv(b)
	e.writeFile("f", randBytes(42, benchSize))
	buf := make([]byte, 1<<20)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := e.fs.Open(context.Background(), "f", vfs.OpenRead)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < benchSize; off += 1 << 20 {
			if _, err := f.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// BenchmarkRandomRewrite rewrites 64 KiB at 16 places of a 64 MiB file
// and closes it (staged, then folded).
func BenchmarkRandomRewrite(b *testing.B) {
	const size = 64 << 20
	e := newEnv(b)
	e.writeFile("f", randBytes(42, size))
	patch := randBytes(7, 64<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := e.fs.Open(context.Background(), "f", vfs.OpenRead|vfs.OpenWrite)
		if err != nil {
			b.Fatal(err)
		}
		for k := range 16 {
			off := int64((k*7919+i*131)%(size/(64<<10))) * (64 << 10)
			if _, err := f.WriteAt(patch, off+1); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineWrite is the baseline for BenchmarkSequentialWrite: the
// same data and 1 MiB writes straight into a chunkstore Writer.
func BenchmarkEngineWrite(b *testing.B) {
	e := newEnv(b)
	data := randBytes(42, benchSize)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := e.eng.Create(context.Background(), testStore, fmt.Sprint("direct", i), chunkstore.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < benchSize; off += 1 << 20 {
			if _, err := w.Write(data[off : off+1<<20]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		data = randBytes(uint64(43+i), benchSize)
		b.StartTimer()
	}
}

// BenchmarkSmallFiles creates, writes (4 KiB) and closes files: the
// per-file cost of metadata and item commits.
func BenchmarkSmallFiles(b *testing.B) {
	e := newEnv(b)
	data := randBytes(1, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := e.create(fmt.Sprint("small", i))
		if _, err := f.WriteAt(data, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

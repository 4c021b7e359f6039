package chunker

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkChunker measures throughput over 64 MiB of random data, reading
// from memory, for both algorithms at three averages with Min = Avg/4 and
// Max = Avg*4.
func BenchmarkChunker(b *testing.B) {
	data := randomBytes(0xbe7c4, 64<<20)
	algs := []struct {
		name string
		alg  Algorithm
	}{{"gear", Gear}, {"rabin", Rabin}}
	avgs := []struct {
		name string
		avg  int
	}{{"16KiB", 16 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}
	for _, a := range algs {
		for _, v := range avgs {
			p := Params{Algorithm: a.alg, Min: v.avg / 4, Avg: v.avg, Max: v.avg * 4}
			b.Run(a.name+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					benchChunkOnce(b, data, p)
				}
			})
		}
	}
}

func benchChunkOnce(b *testing.B, data []byte, p Params) {
	c, err := New(bytes.NewReader(data), p)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for {
		chunk, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		total += len(chunk)
	}
	if total != len(data) {
		b.Fatalf("chunked %d bytes, want %d", total, len(data))
	}
}

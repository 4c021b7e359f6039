package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// levelChunks cuts the data the level benchmark measures: the files named
// by BACKSTOP_LEVELS_DATA (comma-separated; e.g. a real-data tar from
// scripts/realdata.sh), else 64 MiB of testData.
func levelChunks(b *testing.B) [][]byte {
	var data []byte
	if files := os.Getenv("BACKSTOP_LEVELS_DATA"); files != "" {
		for _, f := range strings.Split(files, ",") {
			d, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, d...)
		}
	} else {
		data = testData(11, 64<<20)
	}
	ch, err := chunker.New(bytes.NewReader(data), chunker.DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	var chunks [][]byte
	for {
		c, err := ch.Next()
		if err == io.EOF {
			return chunks
		}
		if err != nil {
			b.Fatal(err)
		}
		chunks = append(chunks, bytes.Clone(c))
	}
}

// BenchmarkCodecLevels measures, per codec and zstd level, the stored
// bytes of the data chunked as the engine does (a record that does not
// shrink by 1/32 stored raw), compression MB/s (the benchmark's own) and
// decode MB/s (decode-MB/s); "dict" is zstd with a dictionary made of
// pieces of the first tenth of the chunks (history only: klauspost builds
// no trained dictionary).
//
//	BACKSTOP_LEVELS_DATA=/path/01-v65.109.2.tar go test -run '^$' -bench CodecLevels -benchtime 1x ./chunkstore/
func BenchmarkCodecLevels(b *testing.B) {
	chunks := levelChunks(b)
	var raw int64
	for _, c := range chunks {
		raw += int64(len(c))
	}
	type variant struct {
		name  string
		codec container.Codec
		level int
		dict  bool
	}
	for _, v := range []variant{
		{"s2", container.S2, 0, false},
		{"zstd-fastest", container.Zstd, container.LevelFastest, false},
		{"zstd-default", container.Zstd, container.LevelDefault, false},
		{"zstd-better", container.Zstd, container.LevelBetter, false},
		{"zstd-best", container.Zstd, container.LevelBest, false},
		{"zstd-fastest-dict", container.Zstd, container.LevelFastest, true},
		{"zstd-better-dict", container.Zstd, container.LevelBetter, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			enc, dec := levelCodec(b, v.codec, v.level, v.dict, chunks)
			stored := make([][]byte, len(chunks))
			b.SetBytes(raw)
			b.ResetTimer()
			var total int64
			for range b.N {
				total = 0
				for i, c := range chunks {
					stored[i] = enc(stored[i][:0], c)
					total += int64(len(stored[i]))
				}
			}
			b.StopTimer()
			t0 := time.Now()
			buf := make([]byte, 0, 1<<20)
			for i, s := range stored {
				if len(s) == len(chunks[i]) {
					continue // stored raw
				}
				out, err := dec(buf[:0], s)
				if err != nil || !bytes.Equal(out, chunks[i]) {
					b.Fatalf("chunk %d decodes to %d bytes: %v", i, len(out), err)
				}
			}
			b.ReportMetric(float64(total)/(1<<20), "stored-MiB")
			b.ReportMetric(float64(raw)/float64(total), "ratio")
			b.ReportMetric(float64(raw)/1e6/time.Since(t0).Seconds(), "decode-MB/s")
		})
	}
}

// levelCodec returns an encoder that stores a chunk as the engine would
// (raw when it does not shrink by 1/32) and its decoder.
func levelCodec(b *testing.B, codec container.Codec, level int, dict bool, chunks [][]byte) (func(dst, src []byte) []byte, func(dst, src []byte) ([]byte, error)) {
	keep := func(out, src []byte) []byte {
		if len(out) >= len(src)-len(src)/32 {
			return append(out[:0], src...)
		}
		return out
	}
	if codec == container.S2 {
		return func(dst, src []byte) []byte { return keep(s2.Encode(dst[:cap(dst)], src), src) },
			func(dst, src []byte) ([]byte, error) { return s2.Decode(dst[:cap(dst)], src) }
	}
	eo := []zstd.EOption{zstd.WithEncoderLevel(zstd.EncoderLevel(level)), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true)}
	do := []zstd.DOption{zstd.WithDecoderConcurrency(1)}
	if dict {
		// History: 1 KiB from each of 64 chunks spread over the first
		// tenth of the data (as a dictionary trained on earlier backups
		// would be); tables from small pieces (BuildDict panics on large
		// contents).
		var hist []byte
		var contents [][]byte
		sample := max(1, len(chunks)/10)
		for i := 0; i < sample && len(hist) < 64<<10; i += max(1, sample/64) {
			hist = append(hist, chunks[i][:min(len(chunks[i]), 1<<10)]...)
			contents = append(contents, chunks[i][:min(len(chunks[i]), 16<<10)])
		}
		d, err := zstd.BuildDict(zstd.BuildDictOptions{ID: 1, Contents: contents, History: hist, Offsets: [3]int{1, 4, 8}, Level: zstd.EncoderLevel(level)})
		if err != nil {
			b.Fatal(err)
		}
		eo = append(eo, zstd.WithEncoderDict(d))
		do = append(do, zstd.WithDecoderDicts(d))
	}
	enc, err := zstd.NewWriter(nil, eo...)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := zstd.NewReader(nil, do...)
	if err != nil {
		b.Fatal(err)
	}
	return func(dst, src []byte) []byte { return keep(enc.EncodeAll(src, dst[:0]), src) },
		func(dst, src []byte) ([]byte, error) { return dec.DecodeAll(src, dst) }
}

// BenchmarkIngestDuringRecompress measures unique ingest (the shipped
// defaults) alone and while housekeeping recompresses an s2 store beside
// it, throttled as the appliance runs it: the recompression's cost to a
// running backup.
//
//	go test -run '^$' -bench IngestDuringRecompress -benchtime 2x -count 3 ./chunkstore/
func BenchmarkIngestDuringRecompress(b *testing.B) {
	data := testData(43, 128<<20)
	for _, during := range []bool{false, true} {
		name := "alone"
		if during {
			name = "recompressing"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			o := benchOptions()
			o.Compression = "s2"
			e := openTest(b, dir, o)
			for i := range 4 {
				benchPut(b, e, fmt.Sprint("old-", i), testData(uint64(200+i), 64<<20))
			}
			e.Close()
			e = openTest(b, dir, benchOptions())
			defer e.Close()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				d := append([]byte(nil), data...)
				for k := 0; k < len(d); k += 4096 {
					d[k] ^= byte(i + 1)
				}
				var hk chan HousekeepingReport
				if during {
					hk = make(chan HousekeepingReport, 1)
					go func() {
						// Everything recompressed at a new level each round.
						rep, err := e.Housekeep(context.Background(), HousekeepingOptions{Recompress: 1 << 40, ColdAfter: time.Nanosecond, ColdLevel: container.LevelDefault + i%3})
						if err != nil {
							b.Error(err)
						}
						hk <- rep
					}()
				}
				b.StartTimer()
				benchPut(b, e, fmt.Sprint(i), d)
				b.StopTimer()
				if during {
					rep := <-hk
					b.ReportMetric(float64(rep.RecompressedBytes)/(1<<20), "recompressed-MiB")
				}
			}
		})
	}
}

package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// hkBenchData is a data directory with 20 generations of 64 MiB, 15 of
// them deleted: what housekeeping meets after a retention policy ran.
func hkBenchData(b *testing.B, dir string) *Engine {
	e := openTest(b, dir, benchOptions())
	base := testData(5, 64<<20)
	for g := range 20 {
		benchPut(b, e, fmt.Sprint(g), generation(base, g))
	}
	for g := range 15 {
		if err := e.Delete(context.Background(), DefaultStore, fmt.Sprint(g)); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkHousekeeping measures a housekeeping run: stored bytes scanned per second
// (the SetBytes figure) on hkBenchData.
func BenchmarkHousekeeping(b *testing.B) {
	var scanned, reclaimed int64
	var took time.Duration
	for range b.N {
		b.StopTimer()
		e := hkBenchData(b, b.TempDir())
		b.StartTimer()
		rep, err := e.Housekeep(context.Background(), HousekeepingOptions{NoThrottle: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		scanned += rep.StoredBytes
		reclaimed += rep.ReclaimedBytes
		took += rep.Duration
		e.Close()
	}
	b.ReportMetric(float64(scanned)/(1<<30)/took.Seconds(), "GiB-scanned/s")
	b.ReportMetric(float64(reclaimed)/float64(scanned), "reclaimed-share")
}

// BenchmarkVerify measures verify throughput over stored bytes.
func BenchmarkVerify(b *testing.B) {
	e := openTest(b, b.TempDir(), benchOptions())
	defer e.Close()
	data := testData(8, 256<<20)
	benchPut(b, e, "v", data)
	b.SetBytes(e.Stats().StoredBytes)
	b.ResetTimer()
	for range b.N {
		rep, err := e.Verify(context.Background(), nil)
		if err != nil || len(rep.Damage) > 0 {
			b.Fatal(err, rep.Damage)
		}
	}
}

// BenchmarkIngestDuringHousekeeping measures unique ingest with housekeeping
// running back to back beside it (with its back-off on, as it ships)
// and without: compare the two MB/s figures.
func BenchmarkIngestDuringHousekeeping(b *testing.B) {
	for _, withHousekeeping := range []bool{false, true} {
		b.Run(map[bool]string{false: "alone", true: "with-gc"}[withHousekeeping], func(b *testing.B) {
			e := hkBenchData(b, b.TempDir())
			defer e.Close()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if withHousekeeping {
				// Keep housekeeping busy: each round deletes what it wrote.
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := e.Housekeep(context.Background(), HousekeepingOptions{}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			data := testData(77, 128<<20)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := range b.N {
				d := append([]byte(nil), data...)
				for k := 0; k < len(d); k += 4096 {
					d[k] ^= byte(i + 1)
				}
				w, err := e.Create(context.Background(), DefaultStore, fmt.Sprint("new", i), WriteOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.ReadFrom(io.Reader(bytes.NewReader(d))); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Commit(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				e.Delete(context.Background(), DefaultStore, fmt.Sprint("new", i))
				b.StartTimer()
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
		})
	}
}

// BenchmarkHousekeepingThreshold shows what the rewrite threshold trades: stored
// bytes left after housekeeping (relative to the survivors stored alone)
// against bytes copied forward, on the generations of TestHousekeepingGenerations
// with the shipped container and chunk sizes.
func BenchmarkHousekeepingThreshold(b *testing.B) {
	if b.N > 1 {
		b.Skip("one round is the measurement")
	}
	survivors := []int{3, 7, 11, 15, 19}
	keep := map[int]bool{}
	for _, g := range survivors {
		keep[g] = true
	}
	var alone int64
	for _, th := range []float64{0.5, 0.7, 0.8, 0.9, 1} {
		b.Run(fmt.Sprint(th), func(b *testing.B) {
			e := openTest(b, b.TempDir(), benchOptions())
			defer e.Close()
			gens := hkGenerations(b, e, 64<<20)
			if alone == 0 {
				a := openTest(b, b.TempDir(), benchOptions())
				for _, g := range survivors {
					benchPut(b, a, fmt.Sprint(g), gens[g])
				}
				alone = a.Stats().StoredBytes
				a.Close()
			}
			for g := range gens {
				if !keep[g] {
					e.Delete(context.Background(), DefaultStore, fmt.Sprint("gen", g))
				}
			}
			rep, err := e.Housekeep(context.Background(), HousekeepingOptions{Threshold: th, NoThrottle: true})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rep.StoredAfter)/float64(alone), "stored/alone")
			b.ReportMetric(float64(rep.CopiedBytes)/float64(rep.StoredBefore), "copied/stored")
		})
	}
}

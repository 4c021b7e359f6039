package replication

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReplicate replicates a store over loopback TLS: the first copy
// of a backup (every chunk goes) and then a second backup of nearly the
// same data (about 1% changed). It reports the first copy's throughput in
// logical MiB/s and the wire bytes per logical byte of each.
func BenchmarkReplicate(b *testing.B) {
	const size = 64 << 20
	base := testData(1, size)
	second := mutate(base, 2, 64, 10<<10)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ctx := context.Background()
		eo := engineOptions()
		eo.ContainerSize = 4 << 20
		a := newNode(b, b.TempDir(), eo)
		t := newNode(b, b.TempDir(), eo)
		a.put("default", "first", base)
		a.mapTo(t, "m", "default", "copy", "")
		b.StartTimer()
		start := time.Now()
		if err := a.svc.Sync(ctx, "m"); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.StopTimer()
		first := wireOf(b, a, "m")
		it := a.put("default", "second", second)
		if err := a.svc.Sync(ctx, "m"); err != nil {
			b.Fatal(err)
		}
		wire2 := wireOf(b, a, "m").WireBytes - first.WireBytes
		b.ReportMetric(float64(size)/(1<<20)/d.Seconds(), "MiB/s")
		b.ReportMetric(float64(first.WireBytes)/size, "wire/logical-1st")
		b.ReportMetric(float64(wire2)/size, "wire/logical-2nd")
		b.ReportMetric(float64(wire2)/float64(it.NewBytes), "wire/new-stored-2nd")
		if testing.Verbose() {
			fmt.Printf("first: %d logical, %d wire in %s; second: %d new stored bytes, %d wire\n", size, first.WireBytes, d, it.NewBytes, wire2)
		}
		a.close()
		t.close()
		b.StartTimer()
	}
}

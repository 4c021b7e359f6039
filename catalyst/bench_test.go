package catalyst_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/backstop-appliance/backstop/catalyst/client"
	"github.com/backstop-appliance/backstop/chunkstore"
)

// benchSize is the data of one benchmark put.
const benchSize = 64 << 20

// benchFixture is an appliance with the shipped engine settings, reached
// over loopback TLS.
func benchFixture(b *testing.B) (*fixture, *client.Client) {
	benchBatch, benchWindow = 0, 0 // the client's defaults
	b.Cleanup(func() { benchBatch, benchWindow = 64, 4 })
	f := setupWith(b, chunkstore.DefaultOptions())
	if _, err := f.eng.CreateStore("high", chunkstore.DefaultDomain); err != nil {
		b.Fatal(err)
	}
	if _, err := f.eng.SetStoreOptions("high", chunkstore.StoreOptions{Transfer: chunkstore.TransferHigh}); err != nil {
		b.Fatal(err)
	}
	return f, f.client(b, "op", "")
}

// BenchmarkPut stores new data (nothing to dedup against) in each mode:
// MiB/s of logical data over loopback TLS, and wire bytes per logical byte.
func BenchmarkPut(b *testing.B) {
	for _, store := range []string{"default", "high"} {
		b.Run(store, func(b *testing.B) {
			_, c := benchFixture(b)
			b.SetBytes(benchSize)
			var sent int64
			for i := range b.N {
				data := testData(uint64(100+i), benchSize)
				b.StartTimer()
				res := putBytes(b, c, store, "p"+strconv.Itoa(i), data, client.PutOptions{})
				b.StopTimer()
				sent += res.Sent
			}
			b.ReportMetric(float64(sent)/float64(b.N*benchSize), "wire/logical")
		})
	}
}

// BenchmarkPutRepeat stores data the appliance already holds: the low
// bandwidth put only sends fingerprints.
func BenchmarkPutRepeat(b *testing.B) {
	for _, store := range []string{"default", "high"} {
		b.Run(store, func(b *testing.B) {
			_, c := benchFixture(b)
			data := testData(7, benchSize)
			putBytes(b, c, store, "first", data, client.PutOptions{})
			b.SetBytes(benchSize)
			b.ResetTimer()
			var sent int64
			for i := range b.N {
				sent += putBytes(b, c, store, "r"+strconv.Itoa(i), data, client.PutOptions{}).Sent
			}
			b.ReportMetric(float64(sent)/float64(b.N*benchSize), "wire/logical")
		})
	}
}

// BenchmarkGet reads an item back whole over loopback TLS.
func BenchmarkGet(b *testing.B) {
	_, c := benchFixture(b)
	data := testData(8, benchSize)
	putBytes(b, c, "default", "g", data, client.PutOptions{})
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if _, n, err := c.Get(context.Background(), "default", "g", io.Discard, 0, 0); err != nil || n != benchSize {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkSecondBackup1pct is two low bandwidth backups that differ by
// 1% (80 scattered 8 KiB edits of 64 MiB): the wire bytes of the second
// against the s2-compressed size of the chunks it changed.
func BenchmarkSecondBackup1pct(b *testing.B) {
	for i := range b.N {
		f, c := benchFixture(b)
		data := testData(uint64(200+i), benchSize)
		putBytes(b, c, "default", "mon", data, client.PutOptions{})
		changed := append([]byte(nil), data...)
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for k := 0; k < 80; k++ {
			off := r.IntN(len(changed) - 8192)
			copy(changed[off:], testData(uint64(1000+k), 8192))
		}
		wire0, _ := c.WireBytes()
		res := putBytes(b, c, "default", "tue", changed, client.PutOptions{})
		wire1, _ := c.WireBytes()
		st, err := c.Store(context.Background(), "default")
		if err != nil {
			b.Fatal(err)
		}
		want, count := newChunkBytes(b, st, data, changed)
		b.ReportMetric(float64(res.Sent), "msg-B")
		b.ReportMetric(float64(wire1-wire0), "tcp-B")
		b.ReportMetric(float64(want), "changed-s2-B")
		b.ReportMetric(float64(res.Sent)/float64(want), "msg/changed")
		b.ReportMetric(float64(res.ChunksSent), "chunks-sent")
		b.ReportMetric(float64(count), "chunks-changed")
		if !bytes.Equal(getBytes(b, c, "default", "tue", 0, 0), changed) {
			b.Fatal("second backup reads back different")
		}
		_ = f
	}
}

package chunkstore

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// BenchmarkEncryption: ingest and restore of the same 64 MiB with and
// without encryption at rest (s2, so that compression does not hide the
// cipher's cost). Compare the MB/s of the plain and sealed runs:
//
//	go test -run '^$' -bench Encryption -benchtime 5x ./chunkstore/
func BenchmarkEncryption(b *testing.B) {
	data := testData(11, 64<<20)
	for _, encrypt := range []bool{false, true} {
		name := "plain"
		if encrypt {
			name = "sealed"
		}
		setup := func(b *testing.B) *Engine {
			o := benchOptions()
			o.Compression = "s2"
			e := openTest(b, b.TempDir(), o)
			if _, err := e.CreateDomainWith("d", o.Chunker, DomainOptions{Encrypt: encrypt}); err != nil {
				b.Fatal(err)
			}
			if _, err := e.CreateStore("s", "d"); err != nil {
				b.Fatal(err)
			}
			return e
		}
		b.Run("ingest/"+name, func(b *testing.B) {
			e := setup(b)
			defer e.Close()
			b.SetBytes(int64(len(data)))
			for i := range b.N {
				d := append([]byte(nil), data...)
				for k := 0; k < len(d); k += 4096 {
					d[k] ^= byte(i + 1)
				}
				b.StartTimer()
				benchPutIn(b, e, "s", fmt.Sprint(i), d)
				b.StopTimer()
			}
		})
		b.Run("restore/"+name, func(b *testing.B) {
			e := setup(b)
			defer e.Close()
			benchPutIn(b, e, "s", "x", data)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				r, err := e.OpenItem(context.Background(), "s", "x")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := r.WriteTo(io.Discard); err != nil || n != int64(len(data)) {
					b.Fatalf("restored %d bytes: %v", n, err)
				}
				r.Close()
			}
		})
	}
}

func benchPutIn(b *testing.B, e *Engine, store, name string, data []byte) {
	b.Helper()
	w, err := e.Create(context.Background(), store, name, WriteOptions{Replace: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Commit(context.Background()); err != nil {
		b.Fatal(err)
	}
}

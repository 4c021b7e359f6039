package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// smallChunks are the smallest chunker parameters the engine accepts
// (dedup.ChunkerParams.Validate: Avg from 1 KiB): on random data the mean
// chunk is about 1.15 KiB.
var smallChunks = chunker.Params{Algorithm: chunker.Gear, Min: 256, Avg: 1 << 10, Max: 4 << 10}

// meanChunk is the mean chunk length of smallChunks on random data, used
// to size items for a chunk count.
const meanChunk = 1180

// engineOptions are the shipped defaults with small chunks.
func engineOptions() chunkstore.Options {
	o := chunkstore.DefaultOptions()
	o.Chunker = smallChunks
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

// itemName is the name of the i-th item the builder writes.
func itemName(i int64) string { return fmt.Sprintf("item/%09d", i) }

// itemData returns the content of item i of the given size: random,
// reproducible, shared with no other item.
func itemData(i int64, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 0x5ca1eb0c))
	b := make([]byte, size)
	for j := 0; j < size; j += 8 {
		v := r.Uint64()
		for k := j; k < min(j+8, size); k++ {
			b[k] = byte(v)
			v >>= 8
		}
	}
	return b
}

// builder grows one data directory.
type builder struct {
	dir     string
	writers int
	eng     *chunkstore.Engine
	items   int64
	chunks  int64
}

// buildStats describe one growth step.
type buildStats struct {
	Seconds     float64 `json:"build_s"`
	ItemBytes   int     `json:"item_bytes"`
	IngestRSSMi float64 `json:"ingest_rss_mib"`
}

func newBuilder(ctx context.Context, dir string, writers int) (*builder, error) {
	b := &builder{dir: dir, writers: writers}
	return b, b.reopen(ctx)
}

func (b *builder) reopen(ctx context.Context) error {
	e, err := chunkstore.Open(ctx, b.dir, engineOptions())
	if err != nil {
		return fmt.Errorf("open %s: %w", b.dir, err)
	}
	b.eng = e
	return nil
}

func (b *builder) close() error {
	if b.eng == nil {
		return nil
	}
	err := b.eng.Close()
	b.eng = nil
	return err
}

// grow adds items until the directory holds about chunks chunks in items
// items, writers at a time.
func (b *builder) grow(ctx context.Context, chunks, items int64) (buildStats, error) {
	n := items - b.items
	if n <= 0 || chunks <= b.chunks {
		return buildStats{}, fmt.Errorf("step to %d chunks, %d items: the store already has %d, %d", chunks, items, b.chunks, b.items)
	}
	size := int((chunks - b.chunks) * meanChunk / n)
	start := time.Now()
	var next, added atomic.Int64
	next.Store(b.items)
	errc := make(chan error, b.writers)
	var wg sync.WaitGroup
	for range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= items {
					return
				}
				it, err := putItem(ctx, b.eng, itemName(i), itemData(i, size))
				if err != nil {
					errc <- err
					return
				}
				added.Add(it.Chunks)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return buildStats{}, err
	}
	b.items = items
	b.chunks += added.Load()
	rss, _ := procStatus("VmRSS")
	return buildStats{Seconds: time.Since(start).Seconds(), ItemBytes: size, IngestRSSMi: rss}, nil
}

func putItem(ctx context.Context, e *chunkstore.Engine, name string, data []byte) (chunkstore.Item, error) {
	w, err := e.Create(ctx, chunkstore.DefaultStore, name, chunkstore.WriteOptions{Replace: true})
	if err != nil {
		return chunkstore.Item{}, fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return chunkstore.Item{}, fmt.Errorf("write %s: %w", name, err)
	}
	it, err := w.Commit(ctx)
	if err != nil {
		return chunkstore.Item{}, fmt.Errorf("commit %s: %w", name, err)
	}
	return it, nil
}

// Command chunkstudy stores a series of files (successive full backups) in
// fresh data directories with different chunking and compression settings
// and prints, for each, what the series costs on disk and how fast it went.
// It is how the defaults in docs/decisions.md were chosen:
//
//	go run ./tools/chunkstudy /tmp/backstop-bench/tars/*.tar
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

func main() {
	avgs := flag.String("avg", "8,16,32,64,128,256", "average chunk sizes in KiB")
	algs := flag.String("alg", "gear-v1,rabin-v1", "chunking algorithms")
	codecs := flag.String("compression", "s2,zstd", "compression codecs")
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: chunkstudy [flags] FILE...")
		os.Exit(2)
	}
	var logical int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		logical += st.Size()
	}
	fmt.Printf("%d files, %.1f MiB\n\n", len(files), float64(logical)/(1<<20))
	fmt.Println("| algorithm | avg KiB | compression | chunks stored | stored MiB | index MiB | dedup (logical/stored) | ingest MiB/s |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, alg := range strings.Split(*algs, ",") {
		for _, a := range strings.Split(*avgs, ",") {
			for _, codec := range strings.Split(*codecs, ",") {
				var kib int
				_, _ = fmt.Sscan(a, &kib) // a study tool: a typo shows as 0 KiB in its output
				p := chunker.Params{Algorithm: chunker.Algorithm(alg), Avg: kib << 10, Min: kib << 8, Max: kib << 12}
				if err := run(files, logical, p, codec); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		}
	}
}

func run(files []string, logical int64, p chunker.Params, codec string) error {
	dir, err := os.MkdirTemp("", "chunkstudy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o := chunkstore.DefaultOptions()
	o.Chunker, o.Compression = p, codec
	e, err := chunkstore.Open(context.Background(), dir, o)
	if err != nil {
		return err
	}
	start := time.Now()
	var chunks int64
	for i, f := range files {
		in, err := os.Open(f)
		if err != nil {
			return err
		}
		w, err := e.Create(context.Background(), chunkstore.DefaultStore, fmt.Sprint(i), chunkstore.WriteOptions{})
		if err != nil {
			return err
		}
		if _, err := w.ReadFrom(in); err != nil {
			return err
		}
		in.Close()
		chunks += w.Progress().NewChunks
		if _, err := w.Commit(context.Background()); err != nil {
			return err
		}
	}
	d := time.Since(start)
	st := e.Stats()
	if err := e.Close(); err != nil {
		return err
	}
	idx := dirSize(filepath.Join(dir, "index"))
	fmt.Printf("| %s | %d | %s | %d | %.1f | %.1f | %.1f | %.0f |\n", p.Algorithm, p.Avg>>10, codec, chunks,
		float64(st.StoredBytes)/(1<<20), float64(idx)/(1<<20), float64(logical)/float64(st.StoredBytes+idx),
		float64(logical)/(1<<20)/d.Seconds())
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	// The callback never returns an error, so neither does the walk.
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if st, ok := fi.Sys().(*syscall.Stat_t); err == nil && ok && !fi.IsDir() {
			n += st.Blocks * 512 // allocated, not apparent: badger preallocates sparse files
		}
		return nil
	})
	return n
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

type metaFlag map[string]string

func (m metaFlag) String() string { return fmt.Sprint(map[string]string(m)) }
func (m metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	m[k] = v
	return nil
}

func cmdPut(ctx context.Context, e *env, args []string) error {
	fs := e.flags(true)
	force := fs.Bool("force", false, "replace an existing item of the same name")
	sizeFlag := new(int64)
	fs.Var(newSizeValue(sizeFlag, -1), "size", "expected input size (bytes, or 20G...): a shorter or longer input is refused")
	meta := metaFlag{}
	fs.Var(meta, "meta", "KEY=VALUE kept with the item (repeatable)")
	fs.Var(newSizeValue(&e.capacity, 0), "capacity", "capacity limit for the volumes (e.g. 500G or 1.5T, powers of 1024; default, and at most: what the file system gives)")
	fs.StringVar(&e.compression, "compression", "", "auto (default: zstd while the source leaves CPU to spare, else s2), s2, zstd or none for new chunks (with --server: the chunks this client sends)")
	e.remoteFlags(fs)
	pos, err := e.parseArgs(fs, args, "Usage: backstop put [--data DIR | --server HOST:PORT] [--store S] [--force] [--meta K=V] NAME [FILE|-]", 1, 2, "want NAME and an optional FILE")
	if err != nil {
		return err
	}
	name := pos[0]
	var src io.Reader = e.stdin
	label := "stdin"
	if len(pos) == 2 && pos[1] != "-" {
		f, err := os.Open(pos[1])
		if err != nil {
			return err
		}
		defer f.Close()
		src, label = f, pos[1]
	}
	if e.remote.server != "" {
		return remotePut(ctx, e, name, src, label, *force, meta, *sizeFlag)
	}
	eng, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer eng.Close()
	w, err := eng.Create(ctx, e.store, name, chunkstore.WriteOptions{Replace: *force, Meta: meta})
	if err != nil {
		if errors.Is(err, chunkstore.ErrExists) {
			return fmt.Errorf("%w (use --force to replace it)", err)
		}
		if _, serr := eng.Store(e.store); errors.Is(serr, chunkstore.ErrNotFound) {
			return fmt.Errorf("%w\n(create it with: backstop store create --data %s %s)", err, e.data, e.store)
		}
		return err
	}
	start, total := time.Now(), inputSize(src, *sizeFlag)
	p := startProgress(e.stderr, func(d time.Duration) string {
		pr := w.Progress()
		return transferLine(pr.Bytes, total, d, fmt.Sprintf("%s new  dedup so far %s", human(pr.StoredBytes), dedup(pr.Bytes, pr.StoredBytes)))
	})
	n, err := w.ReadFrom(ctxReader{ctx, src})
	if err == nil && *sizeFlag >= 0 && n != *sizeFlag {
		err = fmt.Errorf("%s gave %d bytes, --size says %d: input truncated or wrong", label, n, *sizeFlag)
	}
	var it chunkstore.Item
	if err == nil {
		it, err = w.Commit(ctx)
	} else {
		w.Abort()
		err = fmt.Errorf("reading %s: %w; the item was not stored", label, err)
	}
	p.done()
	if err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Fprintf(e.stdout, "stored %s/%s: %s in %d chunks, %s new on disk, dedup %s, %s in %.1fs\n",
		it.Store, it.Name, human(it.Size), it.Chunks, human(it.NewBytes), dedup(it.Size, it.NewBytes), rate(it.Size, d), d.Seconds())
	return nil
}

// dedup formats logical/stored for one stream.
func dedup(logical, stored int64) string {
	if stored == 0 {
		if logical == 0 {
			return "1.00x"
		}
		return "total (every chunk was already stored)"
	}
	return fmt.Sprintf("%.2fx", float64(logical)/float64(stored))
}

// ctxReader fails reads once ctx ends, so that a long put stops on a
// signal with the item not stored.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func cmdGet(ctx context.Context, e *env, args []string) error {
	fs := e.flags(true)
	e.remoteFlags(fs)
	pos, err := e.parseArgs(fs, args, "Usage: backstop get [--data DIR | --server HOST:PORT] [--store S] NAME [FILE|-]", 1, 2, "want NAME and an optional FILE")
	if err != nil {
		return err
	}
	if e.remote.server != "" {
		return remoteGet(ctx, e, pos[0], append(pos, "")[1])
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	r, err := eng.OpenItem(ctx, e.store, pos[0])
	if err != nil {
		return err
	}
	defer r.Close()

	out, commit, abort := io.Writer(e.stdout), func() error { return nil }, func() {}
	if len(pos) == 2 && pos[1] != "-" {
		// Restore into a temporary file beside the target and rename it
		// into place only when every byte checked out.
		f, err := os.CreateTemp(filepath.Dir(pos[1]), "."+filepath.Base(pos[1])+".partial-*")
		if err != nil {
			return err
		}
		out = f
		abort = func() { f.Close(); os.Remove(f.Name()) }
		commit = func() error {
			if err := f.Sync(); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), pos[1])
		}
	}
	start := time.Now()
	cw := &countWriter{w: out}
	p := startProgress(e.stderr, func(d time.Duration) string {
		n := cw.n.Load()
		return fmt.Sprintf("%s of %s (%d%%)  %s", human(n), human(r.Size()), 100*n/max(r.Size(), 1), rate(n, d))
	})
	_, err = r.WriteTo(ctxWriter{ctx, cw})
	if err == nil {
		err = commit()
	}
	p.done()
	if err != nil {
		abort()
		return err
	}
	if len(pos) == 2 && pos[1] != "-" {
		d := time.Since(start)
		fmt.Fprintf(e.stderr, "restored %s/%s to %s: %s, %s\n", e.store, pos[0], pos[1], human(r.Size()), rate(r.Size(), d))
	}
	return nil
}

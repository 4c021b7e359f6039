package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

func cmdLs(ctx context.Context, e *env, args []string) error {
	fs := e.flags(true)
	asJSON := fs.Bool("json", false, "print JSON")
	usage := fs.Bool("usage", false, "also compute the bytes each item alone holds (reads the listed items' recipes)")
	meta := metaFlag{}
	fs.Var(meta, "meta", "KEY=VALUE the items must have (repeatable)")
	e.remoteFlags(fs)
	pos, err := e.parseArgs(fs, args, "Usage: backstop ls [--data DIR | --server HOST:PORT] [--store S] [--json] [--usage] [--meta K=V] [PREFIX]", 0, 1, "want at most one PREFIX")
	if err != nil {
		return err
	}
	opts := chunkstore.ListOptions{Meta: meta}
	if len(pos) == 1 {
		opts.Prefix = pos[0]
	}
	if e.remote.server != "" {
		if *usage {
			return e.usageError(fs, "--usage needs --data (it reads the recipes)")
		}
		return remoteLs(ctx, e, opts, *asJSON)
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	items, err := eng.ListItems(ctx, e.store, opts)
	if err != nil {
		return err
	}
	var alone map[string]int64
	if *usage {
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Name
		}
		if alone, err = eng.ItemUsage(ctx, e.store, names); err != nil {
			return err
		}
	}
	return printItems(e, items, alone, *asJSON)
}

// printItems prints a listing, as JSON or a table; alone (if not nil) are
// the bytes each item alone holds.
func printItems(e *env, items []chunkstore.Item, alone map[string]int64, asJSON bool) error {
	if asJSON {
		type row struct {
			chunkstore.Item
			AloneBytes *int64 `json:"alone_bytes,omitempty"`
		}
		rows := make([]row, len(items))
		for i, it := range items {
			rows[i].Item = it
			if alone != nil {
				v := alone[it.Name]
				rows[i].AloneBytes = &v
			}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "SIZE\tNEW ON DISK\t"
	if alone != nil {
		head += "ALONE\t"
	}
	fmt.Fprintln(tw, head+"CREATED\t NAME")
	for _, it := range items {
		line := fmt.Sprintf("%s\t%s\t", human(it.Size), human(it.NewBytes))
		if alone != nil {
			line += human(alone[it.Name]) + "\t"
		}
		fmt.Fprintf(tw, "%s%s\t %s\n", line, it.Created.Local().Format(time.DateTime), it.Name)
	}
	return tw.Flush()
}

func cmdRm(ctx context.Context, e *env, args []string) error {
	fs := e.flags(true)
	e.remoteFlags(fs)
	pos, err := e.parseArgs(fs, args, "Usage: backstop rm [--data DIR | --server HOST:PORT] [--store S] NAME...", 1, -1, "want at least one NAME")
	if err != nil {
		return err
	}
	if e.remote.server != "" {
		return remoteRm(ctx, e, pos)
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	return rmEach(e, pos, func(name string) error { return eng.Delete(ctx, e.store, name) })
}

// rmEach deletes every item of pos with del, reporting each.
func rmEach(e *env, pos []string, del func(string) error) error {
	var failed int
	for _, name := range pos {
		if err := del(name); err != nil {
			fmt.Fprintf(e.stderr, "backstop rm: %v\n", err)
			failed++
			continue
		}
		fmt.Fprintf(e.stdout, "deleted %s/%s\n", e.store, name)
	}
	if failed > 0 {
		return exitError{code: 1, err: fmt.Errorf("%d of %d items not deleted", failed, len(pos))}
	}
	return nil
}

// countWriter counts what passes through it.
type countWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// ctxWriter fails writes once ctx ends, so that a long copy stops on a
// signal.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

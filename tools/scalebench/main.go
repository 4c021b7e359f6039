// Command scalebench builds stores of many small chunks and items through
// the engine's own write path and measures how each cost grows with them:
// start-up, RSS at rest, small put and get latency, the first page of an
// item list (with "bytes freed if deleted"), housekeeping and verify time
// per stored GiB, and the index on disk per chunk. It grows one data
// directory step by step (10^4, 10^5, 10^6 chunks and 10^3, 10^4, 10^5
// items by default) and measures each step in a child process, so that the
// RSS it reads is that of an engine just opened. It writes scale.csv,
// scale-table.md and one PNG per measure into -out (docs/scale.md):
//
//	go run ./tools/scalebench -dir /tmp/backstop-scale -out docs
//	go run ./tools/scalebench -chunks 1e4,1e5,1e6,1e7 -items 1e3,1e4,1e5,1e6
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "backstop-scale"), "data directory to build (emptied first)")
	out := flag.String("out", "docs", "directory for scale.csv, scale-table.md and the PNG plots")
	chunks := flag.String("chunks", "1e4,1e5,1e6", "chunk counts of the steps")
	items := flag.String("items", "1e3,1e4,1e5", "item counts of the steps (one per chunk count)")
	writers := flag.Int("writers", 8, "items written at once while building")
	samples := flag.Int("samples", 31, "small puts, gets and list pages timed per step (median)")
	measure := flag.Bool("measure", false, "internal: measure the data directory -dir in this process")
	flag.Parse()
	ctx := context.Background()
	if *measure {
		row, err := measureStep(ctx, *dir, *samples)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(row)
	}
	cs, err := counts(*chunks)
	if err != nil {
		return err
	}
	is, err := counts(*items)
	if err != nil {
		return err
	}
	if len(cs) != len(is) {
		return fmt.Errorf("%d chunk counts and %d item counts", len(cs), len(is))
	}
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	b, err := newBuilder(ctx, *dir, *writers)
	if err != nil {
		return err
	}
	var rows []row
	for i := range cs {
		fmt.Fprintf(os.Stderr, "scalebench: growing to %d chunks in %d items\n", cs[i], is[i])
		st, err := b.grow(ctx, cs[i], is[i])
		if err != nil {
			return err
		}
		if err := b.close(); err != nil {
			return err
		}
		r, err := child(*dir, *samples)
		if err != nil {
			return err
		}
		r.build = st
		fmt.Fprintf(os.Stderr, "scalebench: %+v\n", r)
		rows = append(rows, r)
		if err := b.reopen(ctx); err != nil {
			return err
		}
	}
	if err := b.close(); err != nil {
		return err
	}
	return report(*out, rows)
}

// child measures dir in a new process of this program.
func child(dir string, samples int) (row, error) {
	exe, err := os.Executable()
	if err != nil {
		return row{}, err
	}
	cmd := exec.Command(exe, "-measure", "-dir", dir, "-samples", strconv.Itoa(samples))
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return row{}, fmt.Errorf("measure %s: %w", dir, err)
	}
	var r row
	if err := json.Unmarshal(outb, &r); err != nil {
		return row{}, fmt.Errorf("measure %s: %w", dir, err)
	}
	return r, nil
}

// counts parses "1e4,1e5" or "10000,100000".
func counts(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("count %q", f)
		}
		out = append(out, int64(v))
	}
	return out, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/container"
)

func cmdHousekeeping(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	dry := fs.Bool("dry-run", false, "only report what housekeeping would reclaim")
	threshold := fs.Float64("threshold", chunkstore.DefaultHousekeepingThreshold, "live share below which a container is rewritten")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	recompress := fs.Bool("recompress", false, "also rewrite containers stored mostly with s2 with zstd, and cold ones at --cold-level")
	recompressMax := fs.String("recompress-max", human(chunkstore.DefaultRecompressBytes), "with --recompress: most container bytes to recompress in this run")
	coldDays := fs.Int("cold-days", int(chunkstore.DefaultColdAfter/(24*time.Hour)), "with --recompress: containers not read for this many days are cold (0: none)")
	coldNow := fs.Bool("cold-now", false, "with --recompress: treat every container as cold (recompress the whole data directory at --cold-level)")
	coldLevel := fs.String("cold-level", container.LevelName(chunkstore.DefaultColdLevel), "zstd level of cold data: default, better or best")
	if _, err := e.parseArgs(fs, args, "Usage: backstop housekeeping [--dry-run] [--data DIR] [--threshold F] [--json] [--recompress [--recompress-max SIZE] [--cold-days N | --cold-now] [--cold-level L]]\nReclaims the space of deleted items; --dry-run only says how much it would free.\n--recompress also rewrites s2 containers with zstd and cold ones at a stronger level.\n(backstop gc is the same command under its old name.)", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	hkOpts := chunkstore.HousekeepingOptions{Threshold: *threshold}
	if *recompress {
		var err error
		if hkOpts.Recompress, err = parseSize(*recompressMax); err != nil {
			return fmt.Errorf("housekeeping: --recompress-max: %w", err)
		}
		if hkOpts.ColdLevel, err = container.ParseLevel(*coldLevel); err != nil {
			return fmt.Errorf("housekeeping: --cold-level: %w", err)
		}
		hkOpts.ColdAfter = time.Duration(*coldDays) * 24 * time.Hour
		if *coldNow {
			hkOpts.ColdAfter = time.Nanosecond
		}
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	if *dry {
		plan, err := eng.PlanHousekeeping(ctx, *threshold)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(plan)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		printPlan(tw, plan, *threshold, "would ")
		return tw.Flush()
	}
	var mu sync.Mutex
	var last chunkstore.HousekeepingProgress
	bar := startProgress(e.stderr, func(elapsed time.Duration) string {
		mu.Lock()
		p := last
		mu.Unlock()
		if p.Phase == "mark" {
			return fmt.Sprintf("marking the chunks items use (%s)", elapsed.Round(time.Second))
		}
		return fmt.Sprintf("sweeping: %d of %d containers, %s reclaimed (%s)", p.ContainersDone, p.Containers, human(p.ReclaimedBytes), elapsed.Round(time.Second))
	})
	hkOpts.Progress = func(p chunkstore.HousekeepingProgress) {
		mu.Lock()
		last = p
		mu.Unlock()
	}
	rep, err := eng.Housekeep(ctx, hkOpts)
	bar.done()
	if err != nil {
		if rep.ReclaimedBytes > 0 {
			fmt.Fprintf(e.stderr, "backstop: housekeeping stopped after reclaiming %s; what it did stands, run it again to go on\n", human(rep.ReclaimedBytes))
		}
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(rep)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	printPlan(tw, rep.HousekeepingPlan, *threshold, "")
	fmt.Fprintf(tw, "dropped\t%d containers\n", rep.Dropped)
	fmt.Fprintf(tw, "rewritten\t%d containers (%s copied forward)\n", rep.Rewritten, human(rep.CopiedBytes))
	if rep.Recompressed > 0 {
		fmt.Fprintf(tw, "recompressed\t%d containers (%s; %d of them cold)\n", rep.Recompressed, human(rep.RecompressedBytes), rep.Cold)
	}
	if rep.Kept > 0 {
		fmt.Fprintf(tw, "kept\t%d containers a backup started using meanwhile (next run)\n", rep.Kept)
	}
	if len(rep.Damaged) > 0 {
		fmt.Fprintf(tw, "damaged\t%d containers left alone: run backstop verify\n", len(rep.Damaged))
	}
	fmt.Fprintf(tw, "reclaimed\t%s (stored %s -> %s)\n", human(rep.ReclaimedBytes), human(rep.StoredBefore), human(rep.StoredAfter))
	fmt.Fprintf(tw, "took\t%s (%s of containers scanned)\n", rep.Duration.Round(time.Millisecond), rate(rep.StoredBytes, rep.Duration))
	return tw.Flush()
}

// printPlan prints the mark's figures; verb is "would " for a dry run.
func printPlan(tw *tabwriter.Writer, plan chunkstore.HousekeepingPlan, threshold float64, verb string) {
	fmt.Fprintf(tw, "containers\t%d (%s)\n", plan.Containers, human(plan.StoredBytes))
	fmt.Fprintf(tw, "chunks in use\t%d of %d (%s of data in use)\n", plan.LiveChunks, plan.Chunks, human(plan.LiveBytes))
	if verb != "" {
		fmt.Fprintf(tw, "%sdrop\t%d containers with nothing in use\n", verb, plan.Empty)
		fmt.Fprintf(tw, "%srewrite\t%d containers less than %.0f%% in use\n", verb, plan.Rewrite, 100*threshold)
		fmt.Fprintf(tw, "%sreclaim\t%s\n", verb, human(plan.ReclaimBytes))
	}
	fmt.Fprintf(tw, "mark memory\t%s\n", human(int64(plan.MarkBytes)))
}

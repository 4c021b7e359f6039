package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
)

func cmdGC(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	dry := fs.Bool("dry-run", false, "only report what housekeeping would reclaim")
	threshold := fs.Float64("threshold", 0.5, "live share below which a container is rewritten")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if _, err := e.parseArgs(fs, args, "Usage: backstop gc --dry-run [--data DIR] [--threshold F] [--json]", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	if !*dry {
		return exitError{code: 2, err: fmt.Errorf("space reclamation itself is not built yet; --dry-run reports what it would free")}
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	plan, err := eng.PlanGC(ctx, *threshold)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(plan)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "containers\t%d (%s)\n", plan.Containers, human(plan.StoredBytes))
	fmt.Fprintf(tw, "chunks in use\t%d of %d (%s of data in use)\n", plan.LiveChunks, plan.Chunks, human(plan.LiveBytes))
	fmt.Fprintf(tw, "would drop\t%d containers with nothing in use\n", plan.Empty)
	fmt.Fprintf(tw, "would rewrite\t%d containers less than %.0f%% in use\n", plan.Rewrite, 100**threshold)
	fmt.Fprintf(tw, "would reclaim\t%s\n", human(plan.ReclaimBytes))
	fmt.Fprintf(tw, "mark memory\t%s\n", human(int64(plan.MarkBytes)))
	return tw.Flush()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

func cmdStats(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	asJSON := fs.Bool("json", false, "print one JSON object")
	e.remoteFlags(fs)
	if _, err := e.parseArgs(fs, args, "Usage: backstop stats [--data DIR | --server HOST:PORT] [--json]", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	if e.remote.server != "" {
		return remoteStats(ctx, e, *asJSON)
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	st := eng.Stats()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(st)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "data directory\t%s\n", eng.Dir())
	fmt.Fprintf(tw, "logical bytes\t%s (%d)\n", human(st.LogicalBytes), st.LogicalBytes)
	fmt.Fprintf(tw, "stored bytes\t%s (%d)\n", human(st.StoredBytes), st.StoredBytes)
	fmt.Fprintf(tw, "dedup ratio\t%.2fx\n", st.DedupRatio)
	fmt.Fprintf(tw, "capacity\t%s (%.1f%% used)\n", human(st.CapacityBytes), 100*float64(st.StoredBytes)/float64(max(st.CapacityBytes, 1)))
	fmt.Fprintf(tw, "items\t%d in %d stores; %d containers in %d volumes\n", st.Items, len(st.Stores), st.Containers, st.Volumes)
	tw.Flush()
	fmt.Fprintln(e.stdout)
	return printStoreStats(e, st.Stores)
}

// printStoreStats prints the per-store table of stats.
func printStoreStats(e *env, stores []chunkstore.StoreStats) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STORE\tDOMAIN\tITEMS\tLOGICAL\tSTORED\tDEDUP\t")
	for _, s := range stores {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.2fx\t\n", s.Name, s.Domain, s.Items, human(s.LogicalBytes), human(s.StoredBytes), s.DedupRatio)
	}
	return tw.Flush()
}

func cmdVerify(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	slices := fs.Int("slice", 1, "check 1/N of the data, the part verified longest ago first (a rolling verify covers everything in N runs)")
	if _, err := e.parseArgs(fs, args, "Usage: backstop verify [--data DIR] [--slice N] [--json]\nExits 3 when it finds damage.", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	var last chunkstore.VerifyProgress
	p := startProgress(e.stderr, func(d time.Duration) string {
		return fmt.Sprintf("verified %d of %d containers, %s of %s  %s", last.ContainersDone, last.Containers, human(last.BytesDone), human(last.Bytes), rate(last.BytesDone, d))
	})
	rep, err := eng.VerifySlice(ctx, *slices, func(vp chunkstore.VerifyProgress) { last = vp })
	p.done()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(verifyJSON(rep)); err != nil {
			return err
		}
	} else {
		d := time.Since(start)
		fmt.Fprintf(e.stdout, "verified %d containers, %d chunks, %s in %.1fs (%s)\n", rep.Containers, rep.Chunks, human(rep.Bytes), d.Seconds(), rate(rep.Bytes, d))
		for _, dmg := range rep.Damage {
			what := fmt.Sprintf("container %d (volume %d offset %d)", dmg.Container, dmg.Volume, dmg.Offset)
			if dmg.Chunk != nil {
				what = fmt.Sprintf("chunk %s in %s", dmg.Chunk, what)
			}
			fmt.Fprintf(e.stdout, "DAMAGED %s: %s\n", what, dmg.Problem)
			for _, it := range dmg.Items {
				fmt.Fprintf(e.stdout, "  used by item %s\n", it)
			}
		}
	}
	if len(rep.Damage) > 0 {
		return exitError{code: 3, err: fmt.Errorf("found %d damaged chunks or containers", len(rep.Damage))}
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout, "no damage found")
		if t := eng.LastVerified(); !t.IsZero() {
			fmt.Fprintf(e.stdout, "every container has been verified since %s\n", t.Local().Format(time.DateTime))
		} else {
			fmt.Fprintln(e.stdout, "some containers have not been verified yet (run again, or without --slice)")
		}
	}
	return nil
}

// jsonDamage is a chunkstore.Damage with its fingerprint in hex, as
// people and scripts read fingerprints (the engine's own JSON writes the
// 32 bytes as numbers).
type jsonDamage struct {
	chunkstore.Damage
	Chunk string `json:"chunk,omitempty"`
}

// verifyJSON is what verify --json prints: the report with every
// fingerprint in hex.
func verifyJSON(rep chunkstore.VerifyReport) any {
	dmg := make([]jsonDamage, len(rep.Damage))
	for i, d := range rep.Damage {
		dmg[i].Damage = d
		if d.Chunk != nil {
			dmg[i].Chunk = d.Chunk.String()
		}
	}
	return struct {
		chunkstore.VerifyReport
		Damage []jsonDamage `json:"damage"`
	}{rep, dmg}
}

package main

import (
	"context"
	"fmt"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	fs.StringVar(&e.capacity, "capacity", "", "capacity limit for the volumes (e.g. 500G; default: free disk space)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: backstop serve [--data DIR] [--capacity SIZE]")
		fs.PrintDefaults()
	}
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return e.usageError(fs, "takes no arguments")
	}
	eng, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	st := eng.Stats()
	fmt.Fprintf(e.stdout, "backstop %s serving data directory %s\n", version, eng.Dir())
	fmt.Fprintf(e.stdout, "  %d items, %s logical, %s stored (dedup %.2fx), capacity %s\n",
		st.Items, human(st.LogicalBytes), human(st.StoredBytes), st.DedupRatio, human(st.CapacityBytes))
	fmt.Fprintln(e.stdout, "  no network listeners yet: the web, Catalyst, SMB and iSCSI front ends are still to come")
	fmt.Fprintln(e.stdout, "  the data directory is held: backstop put/get/ls here will refuse until this stops (Ctrl-C or SIGTERM)")
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "backstop: stopping")
	return eng.Close()
}

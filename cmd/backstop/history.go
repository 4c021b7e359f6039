package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/backstop-appliance/backstop/web"
)

// historyEnv names the variable that sets how often serve samples the
// history (default a minute). It is for tests, which cannot wait minutes
// for points; the tiers' bounds in docs/decisions.md assume a minute.
const historyEnv = "BACKSTOP_HISTORY_INTERVAL"

// historyOptions keeps the history in DIR/history and takes the sample
// interval from BACKSTOP_HISTORY_INTERVAL when set.
func historyOptions(opts *web.Options, dir string) error {
	opts.HistoryDir = filepath.Join(dir, "history")
	v, ok := os.LookupEnv(historyEnv)
	if !ok || v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 100*time.Millisecond {
		return fmt.Errorf("%s=%q: a duration of at least 100ms, e.g. 1s", historyEnv, v)
	}
	opts.SampleInterval = d
	return nil
}

package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/web"
)

func TestHistoryOptions(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		ok   bool
	}{
		{"", time.Minute, true},
		{"1s", time.Second, true},
		{"10ms", 0, false},
		{"soon", 0, false},
	} {
		t.Setenv(historyEnv, c.env)
		opts := web.DefaultOptions()
		err := historyOptions(&opts, "/data")
		if (err == nil) != c.ok || (c.ok && opts.SampleInterval != c.want) || opts.HistoryDir != filepath.Join("/data", "history") {
			t.Errorf("%s=%q: interval %v dir %q err %v", historyEnv, c.env, opts.SampleInterval, opts.HistoryDir, err)
		}
	}
}

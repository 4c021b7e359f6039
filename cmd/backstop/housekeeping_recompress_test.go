package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestHousekeepingRecompress: --recompress rewrites an s2 store with
// zstd, --cold-now again at the cold level; the item reads back the same.
func TestHousekeepingRecompress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	data := bytes.Repeat([]byte("backstop recompresses what streams stored with s2; "), 1<<16)
	for i := 0; i < len(data); i += 4096 {
		data[i] = byte(i / 4096) // no two blocks alike
	}
	if code, _, errs := cli(t, data, "put", "--data", dir, "--compression", "s2", "one", "-"); code != 0 {
		t.Fatalf("put: %d %s", code, errs)
	}
	var rep struct {
		Recompressed int   `json:"recompressed_containers"`
		Cold         int   `json:"cold_containers"`
		Before       int64 `json:"stored_before"`
		After        int64 `json:"stored_after"`
	}
	for _, step := range []struct {
		args []string
		cold bool
	}{
		{[]string{"--recompress"}, false},
		{[]string{"--recompress", "--cold-now", "--cold-level", "best"}, true},
	} {
		code, out, errs := cli(t, nil, append([]string{"housekeeping", "--data", dir, "--json"}, step.args...)...)
		if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
			t.Fatalf("housekeeping %v: %d %q %s %v", step.args, code, out, errs, err)
		}
		if rep.Recompressed == 0 || (rep.Cold > 0) != step.cold || rep.After >= rep.Before {
			t.Fatalf("housekeeping %v: %+v", step.args, rep)
		}
	}
	if code, _, errs := cli(t, nil, "housekeeping", "--data", dir, "--recompress", "--cold-level", "loud"); code == 0 || !strings.Contains(errs, "loud") {
		t.Fatalf("a bad level: %d %s", code, errs)
	}
	code, out, _ := cli(t, nil, "get", "--data", dir, "one", "-")
	if code != 0 || out != string(data) {
		t.Fatalf("get after recompression: %d, %d bytes", code, len(out))
	}
}

package web

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("metrics "), 1<<13)
	e.write("default", "a", data)
	e.write("default", "b", data)
	e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"})
	r := e.do(req{method: "GET", path: "/metrics"})
	if r.status != 200 {
		t.Fatalf("metrics %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		"backstop_ingested_bytes_total " + itoa(int64(2*len(data))),
		"backstop_restored_bytes_total 0",
		"backstop_chunks_new_total ",
		"backstop_chunks_duplicate_total ",
		"backstop_logical_bytes " + itoa(int64(2*len(data))),
		"backstop_stored_bytes ",
		"backstop_capacity_bytes ",
		"backstop_dedup_ratio ",
		"backstop_verify_progress_ratio 0",
		`backstop_http_requests_total{code="200",method="GET",route="/api/v1/status"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "backstop_chunks_duplicate_total ") && strings.HasSuffix(line, " 0") {
			t.Errorf("no duplicate chunks counted: %s", line)
		}
	}
}

package web

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// sampleEvery takes n samples, the clock moving on by step before each,
// writing an item of distinct data before each when grow is set.
func sampleEvery(e *env, n int, step time.Duration, grow bool) {
	for i := range n {
		if grow {
			data := make([]byte, 256<<10)
			rand.NewChaCha8([32]byte{byte(i), byte(e.clock.Now().Unix() >> 8), byte(e.clock.Now().Unix() >> 16)}).Read(data) // distinct: nothing dedups
			e.write("default", fmt.Sprintf("grow-%d-%d", e.clock.Now().Unix(), i), data)
		}
		e.clock.Advance(step)
		e.srv.takeSample()
	}
}

func getHistoryView(t *testing.T, e *env, auth, query string) historyView {
	t.Helper()
	var h historyView
	r := e.do(req{method: "GET", path: "/api/v1/status/history" + query, auth: auth})
	if r.status != http.StatusOK {
		t.Fatalf("history%s: %d %s", query, r.status, r.body)
	}
	r.decode(t, &h)
	return h
}

// TestHistory: the samples carry the pool's figures and the throughput
// between them; each range answers; a read-only user sees none of it.
func TestHistory(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("backstop history "), 1<<12)
	e.write("default", "a", data)
	e.write("default", "b", data)
	sampleEvery(e, 3, time.Minute, false)
	e.run([]check{
		{"no token", req{method: "GET", path: "/api/v1/status/history"}, 401, codeUnauthenticated},
		{"bad range", req{method: "GET", path: "/api/v1/status/history?range=decade", auth: "admin"}, 400, codeInvalid},
	})
	h := getHistoryView(t, e, "admin", "")
	if h.Scope != scopeAppliance || h.Range != "day" || h.IntervalSeconds != 60 || !h.To.Equal(e.clock.Now()) ||
		h.To.Sub(h.From) != 24*time.Hour {
		t.Fatalf("history %+v", h)
	}
	// The first sample, at the server's start, and three after it.
	if len(h.Samples) != 4 {
		t.Fatalf("%d samples, want 4: %+v", len(h.Samples), h.Samples)
	}
	first, last := h.Samples[1], h.Samples[3]
	if first.IngestPerSec != float64(2*len(data))/60 || last.IngestPerSec != 0 || last.LogicalBytes != int64(2*len(data)) ||
		last.StoredBytes <= 0 || last.CapacityBytes != 1<<30 || last.DedupRatio != float64(last.LogicalBytes)/float64(last.StoredBytes) {
		t.Fatalf("samples %+v", h.Samples)
	}
	if h.Projection == nil || !h.Projection.FullAt.After(e.clock.Now()) {
		t.Errorf("projection %+v for stored bytes grown from nothing", h.Projection)
	}
	for _, rg := range []string{"week", "month", "year"} {
		if h := getHistoryView(t, e, "admin", "?range="+rg); h.Range != rg || len(h.Samples) != 4 {
			t.Errorf("range %s: %+v", rg, h)
		}
	}
	// A day later and a day of samples that do not grow: no projection.
	sampleEvery(e, 1, 25*time.Hour, false)
	sampleEvery(e, 3, time.Hour, false)
	e.tokens = map[string]string{} // the sessions ended with the day
	if h := getHistoryView(t, e, "admin", ""); len(h.Samples) != 4 || h.Projection != nil {
		t.Errorf("a day that does not grow: projection %+v over %d samples", h.Projection, len(h.Samples))
	}
	ro := getHistoryView(t, e, "ro", "?range=week")
	if ro.Scope != scopeStores || len(ro.Samples) != 0 || ro.Projection != nil {
		t.Errorf("history for ro %+v", ro)
	}
}

// TestHistoryProjection: stored bytes growing a step a day reach the
// capacity on the date the fit gives.
func TestHistoryProjection(t *testing.T) {
	e := newEnv(t)
	sampleEvery(e, 6, 24*time.Hour, true)
	h := getHistoryView(t, e, "admin", "?range=week")
	p := h.Projection
	if p == nil {
		t.Fatalf("no projection over %+v", h.Samples)
	}
	last := h.Samples[len(h.Samples)-1]
	perDay := float64(last.StoredBytes-h.Samples[1].StoredBytes) / float64(len(h.Samples)-2)
	if p.CapacityBytes != 1<<30 || !p.FullAt.After(e.clock.Now()) || p.BytesPerDay < perDay/2 || p.BytesPerDay > perDay*2 {
		t.Fatalf("projection %+v, growth about %.0f a day", p, perDay)
	}
	if d := p.FullAt.Sub(e.clock.Now()).Hours()/24 - p.DaysLeft; d < -0.01 || d > 0.01 {
		t.Errorf("%.2f days left to %v", p.DaysLeft, p.FullAt)
	}
}

// TestHistoryRestart: the history kept in HistoryDir is there after the
// server stops and another starts on it.
func TestHistoryRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "history")
	e := newEnv(t, withOptions(func(o *Options) { o.HistoryDir = dir }))
	e.write("default", "a", bytes.Repeat([]byte("restart"), 1<<12))
	sampleEvery(e, 5, time.Minute, false)
	before := getHistoryView(t, e, "admin", "")
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, withOptions(func(o *Options) { o.HistoryDir = dir }))
	e2.clock.Advance(10 * time.Minute)
	after := getHistoryView(t, e2, "admin", "")
	// The new server's first sample may land after the clock moved on.
	if len(before.Samples) != 6 || len(after.Samples) < 6 || len(after.Samples) > 7 {
		t.Fatalf("after the restart %d samples, before %d", len(after.Samples), len(before.Samples))
	}
	for i := range before.Samples {
		if a, b := after.Samples[i], before.Samples[i]; !a.Time.Equal(b.Time) || a.StoredBytes != b.StoredBytes || a.LogicalBytes != b.LogicalBytes {
			t.Errorf("sample %d: %+v, before %+v", i, a, b)
		}
	}
}

// TestHistorySampler: the server samples on its own every SampleInterval.
func TestHistorySampler(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.SampleInterval = 10 * time.Millisecond }))
	e.write("default", "a", bytes.Repeat([]byte("x"), 1<<16))
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.clock.Advance(time.Second)
		h := getHistoryView(t, e, "admin", "")
		if n := len(h.Samples); n >= 2 && h.Samples[n-1].LogicalBytes == 1<<16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no samples: %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

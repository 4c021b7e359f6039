package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// historySpan is how far back the throughput history reaches.
const historySpan = 24 * time.Hour

type statusView struct {
	Version       string  `json:"version"`
	UptimeSeconds int64   `json:"uptime_seconds"`
	CapacityBytes int64   `json:"capacity_bytes"`
	StoredBytes   int64   `json:"stored_bytes"`
	LogicalBytes  int64   `json:"logical_bytes"`
	DedupRatio    float64 `json:"dedup_ratio"`
	Items         int64   `json:"items"`
	Stores        int     `json:"stores"`
	Containers    int     `json:"containers"`
	Volumes       int     `json:"volumes"`
	IngestedBytes int64   `json:"ingested_bytes"`
	RestoredBytes int64   `json:"restored_bytes"`
	NewChunks     int64   `json:"new_chunks"`
	DupChunks     int64   `json:"dup_chunks"`
	// Health is the appliance's parts and their states (the core's
	// health registry).
	Health appliance.HealthReport `json:"health"`
}

// getStatus handles GET /api/v1/status.
func (s *Server) getStatus(c *gin.Context) {
	st, co := s.eng.Stats(), s.eng.Counters()
	c.JSON(http.StatusOK, statusView{
		Version: s.opts.Version, UptimeSeconds: int64(s.now().Sub(s.started).Seconds()),
		CapacityBytes: st.CapacityBytes, StoredBytes: st.StoredBytes, LogicalBytes: st.LogicalBytes,
		DedupRatio: st.DedupRatio, Items: st.Items, Stores: len(st.Stores), Containers: st.Containers,
		Volumes: st.Volumes, IngestedBytes: co.IngestedBytes, RestoredBytes: co.RestoredBytes,
		NewChunks: co.NewChunks, DupChunks: co.DupChunks, Health: s.health.Report(),
	})
}

// sample is one point of the throughput history.
type sample struct {
	Time          time.Time `json:"time"`
	IngestPerSec  float64   `json:"ingest_bytes_per_second"`
	RestorePerSec float64   `json:"restore_bytes_per_second"`
	StoredBytes   int64     `json:"stored_bytes"`
	LogicalBytes  int64     `json:"logical_bytes"`
}

type historyView struct {
	IntervalSeconds float64  `json:"interval_seconds"`
	Samples         []sample `json:"samples"`
}

// history is a ring of the last 24 hours of samples.
type history struct {
	interval time.Duration

	mu      sync.Mutex
	ring    []sample
	next    int // where the next sample goes
	full    bool
	last    time.Time
	ingest  int64
	restore int64
}

func newHistory(interval time.Duration) *history {
	n := max(1, int(historySpan/interval))
	return &history{interval: interval, ring: make([]sample, n)}
}

// add records the figures at now; rates are against the previous call.
func (h *history) add(now time.Time, ingested, restored, stored, logical int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sm := sample{Time: now.UTC(), StoredBytes: stored, LogicalBytes: logical}
	if !h.last.IsZero() {
		if secs := now.Sub(h.last).Seconds(); secs > 0 {
			sm.IngestPerSec = float64(max(0, ingested-h.ingest)) / secs
			sm.RestorePerSec = float64(max(0, restored-h.restore)) / secs
		}
	}
	h.last, h.ingest, h.restore = now, ingested, restored
	h.ring[h.next] = sm
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// samples returns the kept samples, oldest first.
func (h *history) samples() []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]sample{}, h.ring[:h.next]...)
	}
	return append(append([]sample{}, h.ring[h.next:]...), h.ring[:h.next]...)
}

// takeSample adds the engine's current figures to the history.
func (s *Server) takeSample() {
	st, co := s.eng.Stats(), s.eng.Counters()
	s.history.add(s.now(), co.IngestedBytes, co.RestoredBytes, st.StoredBytes, st.LogicalBytes)
}

// runSampler samples every interval until ctx or stop is done.
func (s *Server) runSampler(ctx, stop context.Context) {
	t := time.NewTicker(s.history.interval)
	defer t.Stop()
	s.takeSample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop.Done():
			return
		case <-t.C:
			s.takeSample()
		}
	}
}

// getHistory handles GET /api/v1/status/history.
func (s *Server) getHistory(c *gin.Context) {
	c.JSON(http.StatusOK, historyView{IntervalSeconds: s.history.interval.Seconds(), Samples: s.history.samples()})
}

// healthReporter reads the core's health registry.
type healthReporter interface {
	Report() appliance.HealthReport
}

package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/history"
)

// historyRange is the span GET /api/v1/status/history?range=name shows;
// false for an unknown name.
func historyRange(name string) (time.Duration, bool) {
	switch name {
	case "day":
		return 24 * time.Hour, true
	case "week":
		return 7 * 24 * time.Hour, true
	case "month":
		return 30 * 24 * time.Hour, true
	case "year":
		return 365 * 24 * time.Hour, true
	}
	return 0, false
}

// sample is one point of the history: the pool's figures at Time and
// the throughput since the sample before (in a coarser tier: the figures
// at the end of its bucket and the mean throughput over it).
type sample struct {
	Time          time.Time `json:"time"`
	IngestPerSec  float64   `json:"ingest_bytes_per_second"`
	RestorePerSec float64   `json:"restore_bytes_per_second"`
	StoredBytes   int64     `json:"stored_bytes"`
	LogicalBytes  int64     `json:"logical_bytes"`
	CapacityBytes int64     `json:"capacity_bytes"`
	DedupRatio    float64   `json:"dedup_ratio"`
}

// projectionView is when the pool is projected to be full: a linear fit
// of stored bytes over the range's samples against the last capacity.
type projectionView struct {
	FullAt        time.Time `json:"full_at"`
	DaysLeft      float64   `json:"days_left"`
	BytesPerDay   float64   `json:"growth_bytes_per_day"`
	CapacityBytes int64     `json:"capacity_bytes"`
}

// historyView is GET /api/v1/status/history: the pool's figures over
// Range, for administrators; anyone else gets Scope "stores", no
// samples and no projection (docs/security.md "Figures"). Projection is
// null when stored bytes are not growing.
type historyView struct {
	IntervalSeconds float64         `json:"interval_seconds"`
	Scope           string          `json:"scope"`
	Range           string          `json:"range"`
	From            time.Time       `json:"from"`
	To              time.Time       `json:"to"`
	Samples         []sample        `json:"samples"`
	Projection      *projectionView `json:"projection"`
}

// sampler turns the engine's running counters into rates between
// samples.
type sampler struct {
	mu               sync.Mutex
	at               time.Time
	ingest, restored int64
}

// openHistory opens the history kept in dir ("" keeps it in memory).
func openHistory(dir string, interval time.Duration) (*history.Store, error) {
	o := history.DefaultOptions(dir)
	o.Interval = interval
	return history.Open(o)
}

// takeSample adds the engine's current figures to the history; rates are
// against the sample before (the first against the server's start).
func (s *Server) takeSample() {
	st, co := s.eng.Stats(), s.eng.Counters()
	now := s.now()
	sm := &s.sampler
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.at.IsZero() {
		sm.at = s.started
	}
	p := history.Point{Time: now, StoredBytes: st.StoredBytes, LogicalBytes: st.LogicalBytes, CapacityBytes: st.CapacityBytes}
	if secs := now.Sub(sm.at).Seconds(); secs > 0 {
		p.IngestPerSec = float64(max(0, co.IngestedBytes-sm.ingest)) / secs
		p.RestorePerSec = float64(max(0, co.RestoredBytes-sm.restored)) / secs
	}
	if err := s.hist.Add(p); err != nil {
		if errors.Is(err, history.ErrOutOfOrder) {
			s.log.Debug("history: sample skipped", "err", err)
		} else {
			s.log.Warn("history: sample not kept", "err", err)
		}
		return
	}
	sm.at, sm.ingest, sm.restored = now, co.IngestedBytes, co.RestoredBytes
}

// runSampler samples every interval until ctx or stop is done.
func (s *Server) runSampler(ctx, stop context.Context) {
	t := time.NewTicker(s.opts.SampleInterval)
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

// getHistory handles GET /api/v1/status/history?range=day|week|month|year
// (default day).
func (s *Server) getHistory(c *gin.Context) {
	name := c.DefaultQuery("range", "day")
	span, ok := historyRange(name)
	if !ok {
		s.fail(c, invalid("range %q: day, week, month or year", name))
		return
	}
	to := s.now().UTC()
	v := historyView{IntervalSeconds: s.opts.SampleInterval.Seconds(), Scope: scopeStores, Range: name,
		From: to.Add(-span), To: to, Samples: []sample{}}
	if !s.seesPool(user(c)) {
		c.JSON(http.StatusOK, v)
		return
	}
	v.Scope = scopeAppliance
	pts := s.hist.Range(v.From, v.To)
	for _, p := range pts {
		v.Samples = append(v.Samples, sample{Time: p.Time, IngestPerSec: p.IngestPerSec, RestorePerSec: p.RestorePerSec,
			StoredBytes: p.StoredBytes, LogicalBytes: p.LogicalBytes, CapacityBytes: p.CapacityBytes,
			DedupRatio: storeRatio(p.LogicalBytes, p.StoredBytes)})
	}
	if pr, ok := history.Project(pts); ok {
		v.Projection = &projectionView{FullAt: pr.FullAt, BytesPerDay: pr.BytesPerDay, CapacityBytes: pr.CapacityBytes,
			DaysLeft: max(0, pr.FullAt.Sub(to).Hours()/24)}
	}
	c.JSON(http.StatusOK, v)
}

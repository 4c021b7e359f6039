package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// housekeepingStatus is what GET /api/v1/housekeeping shows.
type housekeepingStatus struct {
	jobInfo
	housekeepingDetail
}

// housekeepingDetail is housekeeping's own part of its status.
type housekeepingDetail struct {
	// Auto: the run was started by automatic housekeeping.
	Auto      bool    `json:"auto"`
	Threshold float64 `json:"threshold"`
	// Phase is "mark" (finding the chunks live recipes use) or "sweep"
	// (dropping and rewriting containers); "" before a run.
	Phase          string `json:"phase"`
	Containers     int    `json:"containers"`
	ContainersDone int    `json:"containers_done"`
	ReclaimedBytes int64  `json:"reclaimed_bytes"`
	// Report is what the last finished run did; Plan the last dry run.
	Report *gcReportView `json:"report"`
	Plan   *gcPlanView   `json:"plan"`
	// NextAutoCheck is when automatic housekeeping next looks for space to
	// reclaim; null when it is off.
	NextAutoCheck *time.Time `json:"next_auto_check"`
}

// gcReportView is a finished run's report.
type gcReportView struct {
	chunkstore.GCReport
	State           string    `json:"state"` // done, failed or cancelled
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"duration_seconds"`
}

// gcPlanView is a dry run: what housekeeping would free at a threshold.
type gcPlanView struct {
	chunkstore.GCPlan
	Threshold float64   `json:"threshold"`
	At        time.Time `json:"at"`
}

// housekeepingRequest is the optional body of POST /api/v1/housekeeping.
type housekeepingRequest struct {
	Threshold *float64 `json:"threshold"`
}

// housekeepingJob runs the engine's housekeeping in the background and
// keeps the figures /metrics shows.
type housekeepingJob struct {
	*job[housekeepingDetail]
	reclaimed  atomic.Int64 // bytes reclaimed by every run since start
	lastMillis atomic.Int64
	runs       *prometheus.CounterVec
}

func newHousekeepingJob(s *Server) *housekeepingJob {
	fresh := func(prev housekeepingDetail) housekeepingDetail {
		return housekeepingDetail{Report: prev.Report, Plan: prev.Plan, NextAutoCheck: prev.NextAutoCheck}
	}
	j := &housekeepingJob{job: newJob(s, "housekeeping", housekeepingDetail{}, fresh, housekeepingEvent)}
	j.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "backstop_housekeeping_runs_total", Help: "Housekeeping runs finished since start, by result (done, failed, cancelled).",
	}, []string{"result"})
	for _, r := range []string{jobDone, jobFailed, jobCancelled} {
		j.runs.WithLabelValues(r)
	}
	return j
}

func (j *housekeepingJob) status() housekeepingStatus {
	info, d := j.snapshot()
	return housekeepingStatus{info, d}
}

// progressRatio is how far the current or last run is, 0 to 1.
func (j *housekeepingJob) progressRatio() float64 {
	info, d := j.snapshot()
	switch {
	case info.State == jobDone:
		return 1
	case d.Phase == "sweep" && d.Containers > 0:
		return float64(d.ContainersDone) / float64(d.Containers)
	}
	return 0
}

func (j *housekeepingJob) lastDuration() float64 { return float64(j.lastMillis.Load()) / 1e3 }

// begin starts a run at threshold (0: the engine's default).
func (j *housekeepingJob) begin(threshold float64, auto bool, msg string) error {
	return j.start(func(ctx context.Context, _ *job[housekeepingDetail]) error {
		return j.task(ctx, threshold)
	}, msg, func(d *housekeepingDetail) {
		d.Auto, d.Threshold = auto, threshold
		if threshold == 0 {
			d.Threshold = chunkstore.DefaultGCThreshold
		}
	})
}

// task runs the engine's housekeeping: progress goes to the status and the
// reclaimed-bytes counter; pause and blackout windows hold it between
// batches, in the engine's Wait callback.
func (j *housekeepingJob) task(ctx context.Context, threshold float64) error {
	var counted int64 // of this run, already in j.reclaimed
	count := func(n int64) {
		if n > counted {
			j.reclaimed.Add(n - counted)
			counted = n
		}
	}
	rep, err := j.s.eng.GC(ctx, chunkstore.GCOptions{
		Threshold: threshold,
		Progress: func(p chunkstore.GCProgress) {
			count(p.ReclaimedBytes)
			j.update(func(d *housekeepingDetail) {
				d.Phase, d.Containers, d.ContainersDone, d.ReclaimedBytes = p.Phase, p.Containers, p.ContainersDone, p.ReclaimedBytes
			})
		},
		Wait: j.checkpoint,
	})
	count(rep.ReclaimedBytes)
	state := outcome(err)
	j.runs.WithLabelValues(state).Inc()
	j.lastMillis.Store(rep.Duration.Milliseconds())
	now := j.s.now().UTC()
	j.update(func(d *housekeepingDetail) {
		d.ReclaimedBytes = rep.ReclaimedBytes
		d.Report = &gcReportView{GCReport: rep, State: state, Finished: now, DurationSeconds: rep.Duration.Seconds()}
	})
	return err
}

// dryRun asks the engine what a run at threshold would free now and keeps
// the answer in the status. It refuses while housekeeping runs (whose
// sweep changes the containers the dry run reads, and whose figures would
// be out of date at once). The caller holds Server.jobsMu, so no run starts
// meanwhile.
func (j *housekeepingJob) dryRun(ctx context.Context, threshold float64) (gcPlanView, error) {
	if j.active() {
		return gcPlanView{}, errorf(http.StatusConflict, codeConflict, "housekeeping is running; ask what it would free once it has finished")
	}
	if threshold == 0 {
		threshold = chunkstore.DefaultGCThreshold
	}
	plan, err := j.s.eng.PlanGC(ctx, threshold)
	if err != nil {
		return gcPlanView{}, err
	}
	v := gcPlanView{GCPlan: plan, Threshold: threshold, At: j.s.now().UTC()}
	j.update(func(d *housekeepingDetail) { d.Plan = &v })
	return v, nil
}

// housekeepingEvent is the system event at the end of a run.
func housekeepingEvent(info jobInfo, d housekeepingDetail) appliance.Event {
	e := appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: "housekeeping.finish"}
	var r gcReportView
	if d.Report != nil {
		r = *d.Report
	}
	did := fmt.Sprintf("reclaimed %s (%d containers dropped, %d rewritten, %s copied forward) in %s",
		humanBytes(r.ReclaimedBytes), r.Dropped, r.Rewritten, humanBytes(r.CopiedBytes), r.Duration.Round(time.Millisecond))
	switch info.State {
	case jobCancelled:
		e.Message = "housekeeping cancelled; it had " + did
	case jobFailed:
		e.Level, e.Message = appliance.LevelError, "housekeeping failed: "+info.Error+"; it had "+did
	default:
		e.Message = "housekeeping " + did
	}
	if len(r.Damaged) > 0 {
		e.Level = appliance.LevelWarning
		e.Message += fmt.Sprintf("; %d damaged containers were left alone: run verify to see which items they hurt", len(r.Damaged))
	}
	return e
}

// humanBytes writes n in binary units, as the UI does.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

// runAutoHousekeeping is automatic housekeeping: every MaintenanceTick it
// looks whether the interval set in the settings has passed since its last
// dry run and, if so and nothing stands in the way, runs a dry run and
// starts housekeeping when there is space to reclaim. It returns when ctx
// is done.
func (s *Server) runAutoHousekeeping(ctx context.Context) {
	t := time.NewTicker(s.opts.MaintenanceTick)
	defer t.Stop()
	last := s.now()
	for {
		hs := s.state.Settings().Housekeeping
		var next *time.Time
		if hs.Auto {
			n := last.Add(time.Duration(hs.IntervalMinutes) * time.Minute).UTC()
			next = &n
		}
		s.hk.update(func(d *housekeepingDetail) { d.NextAutoCheck = next })
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if next == nil || s.now().Before(*next) {
			continue
		}
		if s.autoHousekeeping(ctx) {
			last = s.now()
		}
	}
}

// autoHousekeeping is one automatic check. It reports whether it ran the
// dry run; it does not while a blackout window holds or a job runs, so the
// next tick tries again.
func (s *Server) autoHousekeeping(ctx context.Context) bool {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.inBlackout() || s.verify.active() || s.hk.active() {
		return false
	}
	plan, err := s.hk.dryRun(ctx, 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("automatic housekeeping: dry run failed", "err", err)
		}
		return ctx.Err() == nil
	}
	if plan.ReclaimBytes == 0 {
		s.log.Debug("automatic housekeeping: nothing to reclaim")
		return true
	}
	msg := fmt.Sprintf("automatic housekeeping started: a dry run found %s to reclaim", humanBytes(plan.ReclaimBytes))
	err = s.startJobLocked("housekeeping", func() error { return s.hk.begin(0, true, msg) })
	if err != nil {
		s.log.Info("automatic housekeeping did not start", "err", err)
	}
	return true
}

// getHousekeeping handles GET /api/v1/housekeeping.
func (s *Server) getHousekeeping(c *gin.Context) {
	c.JSON(http.StatusOK, s.hk.status())
}

// threshold checks a live-share threshold from the API.
func checkThreshold(t float64) error {
	if t < 0 || t > 1 || t != t {
		return invalid("threshold %v: want a number from 0 to 1 (0: the default, %.2f)", t, chunkstore.DefaultGCThreshold)
	}
	return nil
}

// startHousekeeping handles POST /api/v1/housekeeping (operator), with an
// optional body {"threshold": 0..1}.
func (s *Server) startHousekeeping(c *gin.Context) {
	var body housekeepingRequest
	if c.Request.ContentLength != 0 {
		if err := decode(c, &body); err != nil {
			s.fail(c, err)
			return
		}
	}
	var threshold float64
	if body.Threshold != nil {
		threshold = *body.Threshold
	}
	if err := checkThreshold(threshold); err != nil {
		s.fail(c, err)
		return
	}
	msg := "housekeeping started by " + user(c).Name
	if err := s.startJob("housekeeping", func() error { return s.hk.begin(threshold, false, msg) }); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "housekeeping.start", "", "started housekeeping")
	c.JSON(http.StatusAccepted, s.hk.status())
}

// controlHousekeeping handles POST /api/v1/housekeeping/{pause,resume,cancel}
// (operator).
func (s *Server) controlHousekeeping(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var err error
		switch action {
		case "pause":
			err = s.hk.setPaused(true)
		case "resume":
			err = s.hk.setPaused(false)
		case "cancel":
			err = s.hk.cancelRun()
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "housekeeping."+action, "", "%s housekeeping", map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action])
		c.JSON(http.StatusOK, s.hk.status())
	}
}

// getHousekeepingPlan handles GET /api/v1/housekeeping/plan?threshold=: the
// dry run.
func (s *Server) getHousekeepingPlan(c *gin.Context) {
	var threshold float64
	if v := c.Query("threshold"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			s.fail(c, invalid("threshold %q: want a number from 0 to 1", v))
			return
		}
		threshold = t
	}
	if err := checkThreshold(threshold); err != nil {
		s.fail(c, err)
		return
	}
	s.jobsMu.Lock()
	plan, err := s.hk.dryRun(c.Request.Context(), threshold)
	s.jobsMu.Unlock()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, plan)
}

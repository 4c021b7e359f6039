package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// jobControl pauses, resumes and cancels one of the core's jobs.
type jobControl interface {
	Pause() error
	Resume() error
	Cancel() error
}

// housekeeping is what the server needs of the core's housekeeping job
// (an *appliance.HousekeepingJob).
type housekeeping interface {
	jobControl
	Status() appliance.HousekeepingStatus
	Start(threshold float64, user string) error
	Plan(ctx context.Context, threshold float64) (appliance.HousekeepingPlan, error)
}

// housekeepingFigures are the housekeeping figures /metrics shows.
type housekeepingFigures interface {
	ProgressRatio() float64
	LastDuration() time.Duration
	ReclaimedBytes() int64
	Runs(state string) int64
}

// housekeepingRequest is the optional body of POST /api/v1/housekeeping.
type housekeepingRequest struct {
	Threshold *float64 `json:"threshold"`
}

// control runs a pause, resume or cancel on job.
func control(job jobControl, action string) error {
	switch action {
	case "pause":
		return job.Pause()
	case "resume":
		return job.Resume()
	}
	return job.Cancel()
}

// controlled is the audit message's verb for an action.
func controlled(action string) string {
	switch action {
	case "pause":
		return "paused"
	case "resume":
		return "resumed"
	}
	return "cancelled"
}

// getHousekeeping handles GET /api/v1/housekeeping.
func (s *Server) getHousekeeping(c *gin.Context) {
	c.JSON(http.StatusOK, s.housekeepingFor(c))
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
	if err := s.hk.Start(threshold, user(c).Name); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "housekeeping.start", "", "started housekeeping")
	c.JSON(http.StatusAccepted, s.housekeepingFor(c))
}

// controlHousekeeping handles POST /api/v1/housekeeping/{pause,resume,cancel}
// (operator).
func (s *Server) controlHousekeeping(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := control(s.hk, action); err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "housekeeping."+action, "", "%s housekeeping", controlled(action))
		c.JSON(http.StatusOK, s.housekeepingFor(c))
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
	plan, err := s.hk.Plan(c.Request.Context(), threshold)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, plan)
}

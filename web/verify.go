package web

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Verify job states, as the verify tests name them.
const (
	verifyIdle      = jobIdle
	verifyRunning   = jobRunning
	verifyPaused    = jobPaused
	verifyDone      = jobDone
	verifyFailed    = jobFailed
	verifyCancelled = jobCancelled
)

// verifyStatus is what GET /api/v1/verify shows.
type verifyStatus struct {
	jobInfo
	verifyDetail
}

// verifyDetail is the verify's own part of its status.
type verifyDetail struct {
	Containers     int          `json:"containers"`
	ContainersDone int          `json:"containers_done"`
	Bytes          int64        `json:"bytes"`
	BytesDone      int64        `json:"bytes_done"`
	Damage         []damageView `json:"damage"`
	report         chunkstore.VerifyReport
}

// damageView is a chunkstore.Damage with the fingerprint in hex.
type damageView struct {
	Container uint64   `json:"container"`
	Volume    uint32   `json:"volume"`
	Offset    int64    `json:"offset"`
	Chunk     string   `json:"chunk,omitempty"` // empty: the whole container
	Problem   string   `json:"problem"`
	Items     []string `json:"items"`
}

func viewDamage(ds []chunkstore.Damage) []damageView {
	out := make([]damageView, 0, len(ds))
	for _, d := range ds {
		v := damageView{Container: d.Container, Volume: d.Volume, Offset: d.Offset, Problem: d.Problem, Items: d.Items}
		if d.Chunk != nil {
			v.Chunk = d.Chunk.String()
		}
		if v.Items == nil {
			v.Items = []string{}
		}
		out = append(out, v)
	}
	return out
}

// verifyJob runs at most one engine verify at a time. Pause and blackout
// windows block the engine inside its progress callback, between
// containers; cancel ends it through its context.
type verifyJob struct {
	*job[verifyDetail]
}

func newVerifyJob(s *Server) *verifyJob {
	fresh := func(verifyDetail) verifyDetail { return verifyDetail{Damage: []damageView{}} }
	return &verifyJob{newJob(s, "verify", fresh(verifyDetail{}), fresh, verifyEvent)}
}

func (j *verifyJob) status() verifyStatus {
	info, d := j.snapshot()
	d.Damage = append([]damageView{}, d.Damage...)
	return verifyStatus{info, d}
}

// progressRatio is how far the job is, 0 to 1.
func (j *verifyJob) progressRatio() float64 {
	info, d := j.snapshot()
	switch {
	case info.State == verifyDone:
		return 1
	case d.Bytes > 0:
		return float64(d.BytesDone) / float64(d.Bytes)
	}
	return 0
}

// begin starts a verify in the background.
func (j *verifyJob) begin() error {
	return j.start(j.task, "verify started", nil)
}

// task runs the engine's verify; its progress callback records progress
// and blocks while the job is paused or a blackout window holds.
func (j *verifyJob) task(ctx context.Context, _ *job[verifyDetail]) error {
	rep, err := j.s.eng.Verify(ctx, func(p chunkstore.VerifyProgress) {
		j.update(func(d *verifyDetail) {
			d.Containers, d.ContainersDone, d.Bytes, d.BytesDone = p.Containers, p.ContainersDone, p.Bytes, p.BytesDone
		})
		_ = j.checkpoint(ctx) // a cancelled context ends the engine's verify too
	})
	j.update(func(d *verifyDetail) { d.Damage, d.report = viewDamage(rep.Damage), rep })
	return err
}

// verifyEvent is the system event at the end of a verify.
func verifyEvent(st jobInfo, d verifyDetail) appliance.Event {
	rep := d.report
	e := appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: "verify.finish"}
	switch st.State {
	case verifyCancelled:
		e.Message = "verify cancelled"
	case verifyFailed:
		e.Level, e.Message = appliance.LevelError, "verify failed: "+st.Error
	default:
		e.Message = fmt.Sprintf("verify checked %d containers (%.1f MiB), no damage", rep.Containers, float64(rep.Bytes)/(1<<20))
	}
	if len(d.Damage) > 0 {
		seen := map[string]bool{}
		for _, dm := range d.Damage {
			for _, it := range dm.Items {
				seen[it] = true
			}
		}
		items := make([]string, 0, len(seen))
		for it := range seen {
			items = append(items, it)
		}
		sort.Strings(items)
		named := "no item uses the damaged data"
		if len(items) > 0 {
			named = "damaged items: " + strings.Join(items, ", ")
		}
		e.Level = appliance.LevelError
		e.Message = fmt.Sprintf("verify found %d damaged chunks or containers; %s", len(d.Damage), named)
	}
	return e
}

// getVerify handles GET /api/v1/verify.
func (s *Server) getVerify(c *gin.Context) {
	c.JSON(http.StatusOK, s.verify.status())
}

// startVerify handles POST /api/v1/verify (operator).
func (s *Server) startVerify(c *gin.Context) {
	if err := s.startJob("verify", s.verify.begin); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "verify.start", "", "started a verify")
	c.JSON(http.StatusAccepted, s.verify.status())
}

// controlVerify handles POST /api/v1/verify/{pause,resume,cancel}
// (operator).
func (s *Server) controlVerify(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var err error
		switch action {
		case "pause":
			err = s.verify.setPaused(true)
		case "resume":
			err = s.verify.setPaused(false)
		case "cancel":
			err = s.verify.cancelRun()
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "verify."+action, "", "%s the verify", map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action])
		c.JSON(http.StatusOK, s.verify.status())
	}
}

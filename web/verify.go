package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"backstop/chunkstore"
	"backstop/internal/appliance"
)

// Verify job states.
const (
	verifyIdle      = "idle"
	verifyRunning   = "running"
	verifyPaused    = "paused"
	verifyDone      = "done"
	verifyFailed    = "failed"
	verifyCancelled = "cancelled"
)

// verifyStatus is what GET /api/v1/verify shows.
type verifyStatus struct {
	State          string       `json:"state"`
	Started        *time.Time   `json:"started"`
	Finished       *time.Time   `json:"finished"`
	Containers     int          `json:"containers"`
	ContainersDone int          `json:"containers_done"`
	Bytes          int64        `json:"bytes"`
	BytesDone      int64        `json:"bytes_done"`
	Damage         []damageView `json:"damage"`
	Error          string       `json:"error"`
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

// verifyJob runs at most one engine verify at a time. Pause blocks the
// engine inside its progress callback, between containers; cancel ends
// it through its context.
type verifyJob struct {
	s *Server

	mu     sync.Mutex
	cond   *sync.Cond
	st     verifyStatus
	cancel context.CancelFunc
	done   chan struct{}
}

func newVerifyJob(s *Server) *verifyJob {
	j := &verifyJob{s: s, st: verifyStatus{State: verifyIdle, Damage: []damageView{}}}
	j.cond = sync.NewCond(&j.mu)
	return j
}

func (j *verifyJob) status() verifyStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.st
	st.Damage = append([]damageView{}, j.st.Damage...)
	return st
}

// progressRatio is how far the job is, 0 to 1.
func (j *verifyJob) progressRatio() float64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.st.State == verifyDone:
		return 1
	case j.st.Bytes > 0:
		return float64(j.st.BytesDone) / float64(j.st.Bytes)
	}
	return 0
}

func active(state string) bool { return state == verifyRunning || state == verifyPaused }

// start begins a verify in the background.
func (j *verifyJob) start() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if active(j.st.State) {
		return errorf(http.StatusConflict, codeConflict, "a verify is already %s", j.st.State)
	}
	now := j.s.now().UTC()
	ctx, cancel := context.WithCancel(context.Background())
	j.st = verifyStatus{State: verifyRunning, Started: &now, Damage: []damageView{}}
	j.cancel, j.done = cancel, make(chan struct{})
	go j.run(ctx, j.done)
	return nil
}

func (j *verifyJob) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	j.s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: "verify.start", Message: "verify started"})
	rep, err := j.s.eng.Verify(ctx, j.progress(ctx))
	j.mu.Lock()
	now := j.s.now().UTC()
	j.st.Finished = &now
	j.st.Damage = viewDamage(rep.Damage)
	switch {
	case errors.Is(err, context.Canceled):
		j.st.State = verifyCancelled
	case err != nil:
		j.st.State, j.st.Error = verifyFailed, err.Error()
	default:
		j.st.State = verifyDone
	}
	st := j.st
	j.cancel()
	j.mu.Unlock()
	j.s.record(verifyEvent(st, rep))
}

// progress is the engine's callback: it records progress and blocks while
// the job is paused.
func (j *verifyJob) progress(ctx context.Context) func(chunkstore.VerifyProgress) {
	return func(p chunkstore.VerifyProgress) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.st.Containers, j.st.ContainersDone, j.st.Bytes, j.st.BytesDone = p.Containers, p.ContainersDone, p.Bytes, p.BytesDone
		for j.st.State == verifyPaused && ctx.Err() == nil {
			j.cond.Wait()
		}
	}
}

// verifyEvent is the system event at the end of a verify.
func verifyEvent(st verifyStatus, rep chunkstore.VerifyReport) appliance.Event {
	e := appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: "verify.finish"}
	switch st.State {
	case verifyCancelled:
		e.Message = "verify cancelled"
	case verifyFailed:
		e.Level, e.Message = appliance.LevelError, "verify failed: "+st.Error
	default:
		e.Message = fmt.Sprintf("verify checked %d containers (%.1f MiB), no damage", rep.Containers, float64(rep.Bytes)/(1<<20))
	}
	if len(st.Damage) > 0 {
		seen := map[string]bool{}
		for _, d := range st.Damage {
			for _, it := range d.Items {
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
		e.Message = fmt.Sprintf("verify found %d damaged chunks or containers; %s", len(st.Damage), named)
	}
	return e
}

// setPaused pauses or resumes the running job.
func (j *verifyJob) setPaused(pause bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	from, to := verifyRunning, verifyPaused
	if !pause {
		from, to = verifyPaused, verifyRunning
	}
	if j.st.State != from {
		return errorf(http.StatusConflict, codeConflict, "no %s verify (it is %s)", from, j.st.State)
	}
	j.st.State = to
	j.cond.Broadcast()
	return nil
}

// cancelJob ends the running or paused job and waits for it.
func (j *verifyJob) cancelJob() error {
	j.mu.Lock()
	if !active(j.st.State) {
		state := j.st.State
		j.mu.Unlock()
		return errorf(http.StatusConflict, codeConflict, "no verify is running (it is %s)", state)
	}
	done := j.interrupt()
	j.mu.Unlock()
	<-done
	return nil
}

// interrupt cancels the job's context and wakes a paused callback; the
// caller holds mu.
func (j *verifyJob) interrupt() chan struct{} {
	if j.cancel != nil {
		j.cancel()
	}
	j.cond.Broadcast()
	return j.done
}

// stop cancels any job and waits for it, at shutdown.
func (j *verifyJob) stop() {
	j.mu.Lock()
	done := j.interrupt()
	j.mu.Unlock()
	if done != nil {
		<-done
	}
}

// inBlackout reports whether a blackout window holds now.
func (s *Server) inBlackout() bool {
	now := s.now()
	for _, w := range s.state.Settings().Blackout {
		if w.Contains(now) {
			return true
		}
	}
	return false
}

// getVerify handles GET /api/v1/verify.
func (s *Server) getVerify(c *gin.Context) {
	c.JSON(http.StatusOK, s.verify.status())
}

// startVerify handles POST /api/v1/verify (operator).
func (s *Server) startVerify(c *gin.Context) {
	if s.inBlackout() {
		s.fail(c, errorf(http.StatusConflict, codeBlackout, "a blackout window is in force; verify may not start now"))
		return
	}
	if err := s.verify.start(); err != nil {
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
			err = s.verify.cancelJob()
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "verify."+action, "", "%s the verify", map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action])
		c.JSON(http.StatusOK, s.verify.status())
	}
}

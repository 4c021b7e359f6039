package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Background job states, shared by verify and housekeeping.
const (
	jobIdle      = "idle"
	jobRunning   = "running"
	jobPaused    = "paused"
	jobBlackout  = "blackout" // running, but waiting for a blackout window to end
	jobDone      = "done"
	jobFailed    = "failed"
	jobCancelled = "cancelled"
)

// active reports whether a job in state holds the engine: running, paused
// or waiting out a blackout window.
func active(state string) bool {
	return state == jobRunning || state == jobPaused || state == jobBlackout
}

// jobInfo is the part of a job's status every job shows.
type jobInfo struct {
	State    string     `json:"state"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
	Error    string     `json:"error"`
}

// jobTask is the work of one run. It reports progress with job.update and
// calls job.checkpoint from the engine's progress or wait callback, where
// pause and blackout windows hold it.
type jobTask[D any] func(ctx context.Context, j *job[D]) error

// job runs one task of a kind at a time in the background: verify or
// housekeeping. Pause and blackout windows block the task inside
// checkpoint; cancel ends it through its context; stop does the same at
// shutdown. It records a system event when a run starts and when it ends.
type job[D any] struct {
	s    *Server
	name string // "verify", "housekeeping": messages and event actions
	// reset makes the detail of a new run from the last one's.
	reset func(prev D) D
	// finish is the system event at the end of a run.
	finish func(info jobInfo, d D) appliance.Event

	mu      sync.Mutex
	info    jobInfo
	detail  D
	paused  bool          // the operator paused the run
	waiting bool          // the run is waiting out a blackout window
	wake    chan struct{} // closed (and replaced) to wake checkpoint
	cancel  context.CancelFunc
	done    chan struct{}
}

func newJob[D any](s *Server, name string, initial D, reset func(D) D, finish func(jobInfo, D) appliance.Event) *job[D] {
	return &job[D]{s: s, name: name, reset: reset, finish: finish,
		info: jobInfo{State: jobIdle}, detail: initial, wake: make(chan struct{})}
}

// snapshot is the job's status now.
func (j *job[D]) snapshot() (jobInfo, D) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.info, j.detail
}

// active reports whether a run is under way.
func (j *job[D]) active() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return active(j.info.State)
}

// update changes the detail under the job's lock.
func (j *job[D]) update(f func(*D)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.detail)
}

// start begins a run of task in the background; startMsg is the message
// of the start event; init, if set, fills in the new run's detail. The
// caller holds Server.jobsMu (see startJob).
func (j *job[D]) start(task jobTask[D], startMsg string, init func(*D)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if active(j.info.State) {
		return errorf(http.StatusConflict, codeConflict, "a %s is already %s", j.name, j.info.State)
	}
	now := j.s.now().UTC()
	ctx, cancel := context.WithCancel(context.Background())
	j.info = jobInfo{State: jobRunning, Started: &now}
	j.detail = j.reset(j.detail)
	if init != nil {
		init(&j.detail)
	}
	j.paused, j.waiting = false, false
	j.cancel, j.done = cancel, make(chan struct{})
	go j.run(ctx, j.done, task, startMsg)
	return nil
}

// outcome is the state a run ends in after its task returned err.
func outcome(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return jobCancelled
	case err != nil:
		return jobFailed
	}
	return jobDone
}

func (j *job[D]) run(ctx context.Context, done chan struct{}, task jobTask[D], startMsg string) {
	defer close(done)
	j.s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: j.name + ".start", Message: startMsg})
	err := task(ctx, j)
	j.mu.Lock()
	now := j.s.now().UTC()
	j.info.Finished = &now
	j.info.State = outcome(err)
	if j.info.State == jobFailed {
		j.info.Error = clean(err)
	}
	info, d := j.info, j.detail
	j.cancel()
	j.mu.Unlock()
	j.s.record(j.finish(info, d))
}

// checkpoint returns once the run may go on: it blocks while the operator
// has paused it and while a blackout window holds (looking at the clock
// again every Options.MaintenanceTick), and returns the context's error
// once the run is cancelled.
func (j *job[D]) checkpoint(ctx context.Context) error {
	for {
		blackout := j.s.inBlackout()
		j.mu.Lock()
		if err := ctx.Err(); err != nil {
			j.mu.Unlock()
			return err
		}
		entered := false
		switch {
		case j.paused:
			j.info.State = jobPaused
		case blackout:
			entered = !j.waiting
			j.waiting = true
			j.info.State = jobBlackout
		default:
			left := j.waiting
			j.waiting = false
			j.info.State = jobRunning
			j.mu.Unlock()
			if left {
				j.s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: j.name + ".resume",
					Message: fmt.Sprintf("the blackout window ended; %s goes on", j.name)})
			}
			return nil
		}
		wake := j.wake
		j.mu.Unlock()
		if entered {
			j.s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: j.name + ".blackout",
				Message: fmt.Sprintf("a blackout window began; %s waits until it ends", j.name)})
		}
		t := time.NewTimer(j.s.opts.MaintenanceTick)
		select {
		case <-wake:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// kick wakes checkpoint; the caller holds mu.
func (j *job[D]) kick() {
	close(j.wake)
	j.wake = make(chan struct{})
}

// setPaused pauses or resumes the run. A run waiting out a blackout window
// may be paused too; once resumed it waits for the window again.
func (j *job[D]) setPaused(pause bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case pause && (j.info.State == jobRunning || j.info.State == jobBlackout):
		j.paused, j.info.State = true, jobPaused
	case !pause && j.info.State == jobPaused:
		j.paused, j.info.State = false, jobRunning
		if j.waiting {
			j.info.State = jobBlackout
		}
	case pause:
		return errorf(http.StatusConflict, codeConflict, "no running %s to pause (it is %s)", j.name, j.info.State)
	default:
		return errorf(http.StatusConflict, codeConflict, "no paused %s to resume (it is %s)", j.name, j.info.State)
	}
	j.kick()
	return nil
}

// cancelRun ends the run and waits for it.
func (j *job[D]) cancelRun() error {
	j.mu.Lock()
	if !active(j.info.State) {
		state := j.info.State
		j.mu.Unlock()
		return errorf(http.StatusConflict, codeConflict, "no %s is running (it is %s)", j.name, state)
	}
	done := j.interrupt()
	j.mu.Unlock()
	<-done
	return nil
}

// interrupt cancels the run's context and wakes checkpoint; the caller
// holds mu.
func (j *job[D]) interrupt() chan struct{} {
	if j.cancel != nil {
		j.cancel()
	}
	j.kick()
	return j.done
}

// stop cancels any run and waits for it, at shutdown.
func (j *job[D]) stop() {
	j.mu.Lock()
	done := j.interrupt()
	j.mu.Unlock()
	if done != nil {
		<-done
	}
}

// startJob starts one of the server's jobs unless a blackout window holds
// or the other job runs: verify and housekeeping take turns, as the
// engine's maintenance lock demands.
func (s *Server) startJob(name string, start func() error) error {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	return s.startJobLocked(name, start)
}

// startJobLocked is startJob for a caller that holds jobsMu.
func (s *Server) startJobLocked(name string, start func() error) error {
	if s.inBlackout() {
		return errorf(http.StatusConflict, codeBlackout, "a blackout window is in force; %s may not start now", name)
	}
	if name != "verify" && s.verify.active() {
		return errorf(http.StatusConflict, codeConflict, "verify is running; %s waits until it ends (they take turns)", name)
	}
	if name != "housekeeping" && s.hk.active() {
		return errorf(http.StatusConflict, codeConflict, "housekeeping is running; %s waits until it ends (they take turns)", name)
	}
	return start()
}

// inBlackout reports whether a blackout window holds now.
func (s *Server) inBlackout() bool {
	return s.state.Settings().InBlackout(s.now())
}

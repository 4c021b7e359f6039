package appliance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Background job states, shared by verify and housekeeping.
const (
	JobIdle      = "idle"
	JobRunning   = "running"
	JobPaused    = "paused"
	JobBlackout  = "blackout" // running, but waiting for a blackout window to end
	JobDone      = "done"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Refusals of the job runner, for errors.Is. The error returned carries a
// message for a person beside the kind.
var (
	// ErrJobBusy: the job, or the other job, runs already (they take turns).
	ErrJobBusy = errors.New("appliance: a job is running")
	// ErrNotRunning: nothing to pause, resume or cancel.
	ErrNotRunning = errors.New("appliance: no such job is running")
	// ErrBlackout: a blackout window is in force; no job may start.
	ErrBlackout = errors.New("appliance: a blackout window is in force")
)

// jobError is a refusal: kind for errors.Is, msg for a person.
type jobError struct {
	kind error
	msg  string
}

func (e *jobError) Error() string { return "appliance: " + e.msg }
func (e *jobError) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &jobError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// JobActive reports whether a job in state holds the engine: running,
// paused or waiting out a blackout window.
func JobActive(state string) bool {
	return state == JobRunning || state == JobPaused || state == JobBlackout
}

// JobInfo is the part of a job's status every job shows.
type JobInfo struct {
	State    string     `json:"state"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
	Error    string     `json:"error"`
}

// jobTask is the work of one run. It reports progress with job.update and
// calls job.checkpoint from the engine's progress or wait callback, where
// pause and blackout windows hold it.
type jobTask func(ctx context.Context) error

// job runs one task of a kind at a time in the background: verify or
// housekeeping. Pause and blackout windows block the task inside
// checkpoint; cancel ends it through its context; stop does the same at
// shutdown. It records a system event when a run starts and when it ends.
type job[D any] struct {
	c    *Core
	name string // "verify", "housekeeping": messages and event actions
	// reset makes the detail of a new run from the last one's.
	reset func(prev D) D
	// finish is the system event at the end of a run.
	finish func(info JobInfo, d D) Event
	// describe is a run's progress for its task: a fraction and a text.
	describe func(d D) (float64, string)

	mu      sync.Mutex
	info    JobInfo
	detail  D
	paused  bool          // the operator paused the run
	waiting bool          // the run is waiting out a blackout window
	wake    chan struct{} // closed (and replaced) to wake checkpoint
	cancel  context.CancelFunc
	done    chan struct{}
	// task is the run's entry in the task log; stopping is set when the
	// core shuts down, so a run it ends shows as interrupted.
	task     *TaskRun
	stopping bool
}

func newJob[D any](c *Core, name string, initial D, reset func(D) D, finish func(JobInfo, D) Event,
	describe func(D) (float64, string)) *job[D] {
	return &job[D]{c: c, name: name, reset: reset, finish: finish, describe: describe,
		info: JobInfo{State: JobIdle}, detail: initial, wake: make(chan struct{})}
}

// snapshot is the job's status now.
func (j *job[D]) snapshot() (JobInfo, D) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.info, j.detail
}

// active reports whether a run is under way.
func (j *job[D]) active() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return JobActive(j.info.State)
}

// update changes the detail under the job's lock.
func (j *job[D]) update(f func(*D)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.detail)
	if JobActive(j.info.State) {
		j.task.Progress(j.describe(j.detail))
	}
}

// logf adds a line to the current run's task log.
func (j *job[D]) logf(format string, args ...any) {
	j.mu.Lock()
	t := j.task
	j.mu.Unlock()
	t.Logf(format, args...)
}

// start begins a run of task in the background; startMsg is the message
// of the start event and the title of its task (auto: started on a
// schedule); init, if set, fills in the new run's detail. The caller holds
// Core.jobsMu (see Core.startJob).
func (j *job[D]) start(task jobTask, startMsg string, auto bool, init func(*D)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if JobActive(j.info.State) {
		return refuse(ErrJobBusy, "a %s is already %s", j.name, j.info.State)
	}
	now := j.c.now().UTC()
	ctx, cancel := context.WithCancel(context.Background())
	j.info = JobInfo{State: JobRunning, Started: &now}
	j.detail = j.reset(j.detail)
	if init != nil {
		init(&j.detail)
	}
	j.paused, j.waiting = false, false
	j.cancel, j.done = cancel, make(chan struct{})
	var run *TaskRun
	run = j.c.tasks.Begin(TaskStart{Kind: j.name, Title: startMsg, Auto: auto, Pool: true,
		Cancel: func() error { return j.cancelTask(run) }})
	j.task, j.stopping = run, false
	go j.run(ctx, j.done, task, startMsg)
	return nil
}

// outcome is the state a run ends in after its task returned err.
func outcome(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return JobCancelled
	case err != nil:
		return JobFailed
	}
	return JobDone
}

func (j *job[D]) run(ctx context.Context, done chan struct{}, task jobTask, startMsg string) {
	defer close(done)
	j.c.record(Event{Level: LevelInfo, Kind: KindSystem, Action: j.name + ".start", Message: startMsg})
	err := task(ctx)
	j.mu.Lock()
	now := j.c.now().UTC()
	j.info.Finished = &now
	j.info.State = outcome(err)
	if j.info.State == JobFailed {
		j.info.Error = PlainMessage(err)
	}
	info, d := j.info, j.detail
	j.cancel()
	t, stopping := j.task, j.stopping
	j.mu.Unlock()
	e := j.finish(info, d)
	t.Finish(err, stopping, e.Message)
	j.c.record(e)
}

// cancelTask cancels the run whose task is t, if it is still the current
// one.
func (j *job[D]) cancelTask(t *TaskRun) error {
	j.mu.Lock()
	current := j.task == t
	j.mu.Unlock()
	if !current {
		return refuse(ErrNotRunning, "task %d is not running", t.ID())
	}
	return j.cancelRun()
}

// checkpoint returns once the run may go on: it blocks while the operator
// has paused it and while a blackout window holds (looking at the clock
// again every CoreOptions.MaintenanceTick), and returns the context's
// error once the run is cancelled.
func (j *job[D]) checkpoint(ctx context.Context) error {
	for {
		blackout := j.c.inBlackout()
		j.mu.Lock()
		if err := ctx.Err(); err != nil {
			j.mu.Unlock()
			return err
		}
		entered := false
		switch {
		case j.paused:
			j.info.State = JobPaused
		case blackout:
			entered = !j.waiting
			j.waiting = true
			j.info.State = JobBlackout
		default:
			left := j.waiting
			j.waiting = false
			j.info.State = JobRunning
			j.task.SetState(JobRunning)
			j.mu.Unlock()
			if left {
				j.task.Logf("the blackout window ended; %s goes on", j.name)
				j.c.record(Event{Level: LevelInfo, Kind: KindSystem, Action: j.name + ".resume",
					Message: fmt.Sprintf("the blackout window ended; %s goes on", j.name)})
			}
			return nil
		}
		wake := j.wake
		j.task.SetState(j.info.State)
		t := j.task
		j.mu.Unlock()
		if entered {
			t.Logf("a blackout window began; %s waits until it ends", j.name)
			j.c.record(Event{Level: LevelInfo, Kind: KindSystem, Action: j.name + ".blackout",
				Message: fmt.Sprintf("a blackout window began; %s waits until it ends", j.name)})
		}
		tick := time.NewTimer(j.c.opts.MaintenanceTick)
		select {
		case <-wake:
		case <-ctx.Done():
		case <-tick.C:
		}
		tick.Stop()
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
	case pause && (j.info.State == JobRunning || j.info.State == JobBlackout):
		j.paused, j.info.State = true, JobPaused
	case !pause && j.info.State == JobPaused:
		j.paused, j.info.State = false, JobRunning
		if j.waiting {
			j.info.State = JobBlackout
		}
	case pause:
		return refuse(ErrNotRunning, "no running %s to pause (it is %s)", j.name, j.info.State)
	default:
		return refuse(ErrNotRunning, "no paused %s to resume (it is %s)", j.name, j.info.State)
	}
	j.task.SetState(j.info.State)
	j.task.Logf("%s %s", j.name, map[bool]string{true: "paused", false: "resumed"}[pause])
	j.kick()
	return nil
}

// cancelRun ends the run and waits for it.
func (j *job[D]) cancelRun() error {
	j.mu.Lock()
	if !JobActive(j.info.State) {
		state := j.info.State
		j.mu.Unlock()
		return refuse(ErrNotRunning, "no %s is running (it is %s)", j.name, state)
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

// stop cancels any run and waits for it, or for ctx.
func (j *job[D]) stop(ctx context.Context) error {
	j.mu.Lock()
	j.stopping = true
	done := j.interrupt()
	j.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("appliance: stop %s: %w", j.name, ctx.Err())
	}
}

// PlainMessage is err's message for a person: without the package
// prefixes ("chunkstore: ", "appliance: ") meant for logs.
func PlainMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"chunkstore: ", "appliance: ", "web: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

package appliance

import (
	"context"
	"errors"
	"fmt"
)

// TaskRun is the handle of a running task: its owner reports progress,
// writes its log and finishes it. A nil *TaskRun does nothing, so code
// that may run outside the task log needs no checks.
type TaskRun struct {
	l  *TaskLog
	id int64
}

// ID is the task's ID (0 for a nil handle).
func (r *TaskRun) ID() int64 {
	if r == nil {
		return 0
	}
	return r.id
}

// with runs f on the task under the log's lock, if it is still kept.
func (r *TaskRun) with(f func(e *taskEntry)) {
	if r == nil {
		return
	}
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if e := r.l.findLocked(r.id); e != nil {
		f(e)
	}
}

// Progress sets how far the task is (0 to 1) and where, for a person.
func (r *TaskRun) Progress(fraction float64, text string) {
	r.with(func(e *taskEntry) {
		e.Progress, e.Text = min(max(fraction, 0), 1), text
	})
}

// SetState shows a running task's sub-state: JobRunning, JobPaused or
// JobBlackout.
func (r *TaskRun) SetState(state string) {
	r.with(func(e *taskEntry) {
		if e.Active() && JobActive(state) {
			e.State = state
		}
	})
}

// Logf adds a line to the task's log.
func (r *TaskRun) Logf(format string, args ...any) {
	r.with(func(e *taskEntry) { r.l.appendLocked(e, fmt.Sprintf(format, args...)) })
}

// Finish ends the task: done if err is nil, cancelled if it is
// context.Canceled (interrupted if interrupted is set: the appliance
// stopped it), failed otherwise; msg is the log's last line.
func (r *TaskRun) Finish(err error, interrupted bool, msg string) {
	r.with(func(e *taskEntry) {
		now := r.l.opts.Now().UTC()
		e.Finished, e.Cancellable = &now, false
		switch {
		case err == nil:
			e.State, e.Progress = JobDone, 1
		case errors.Is(err, context.Canceled) && interrupted:
			e.State, e.Error = TaskInterrupted, "the appliance stopped while it ran"
		case errors.Is(err, context.Canceled):
			e.State = JobCancelled
		default:
			e.State, e.Error = JobFailed, PlainMessage(err)
		}
		delete(r.l.cancel, r.id)
		if msg != "" {
			r.l.appendLocked(e, msg)
		}
		r.l.saveLinesLocked(e)
		r.l.saveLocked()
	})
}

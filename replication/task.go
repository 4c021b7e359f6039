package replication

import (
	"context"
	"fmt"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Tasks is where passes are recorded as tasks (an *appliance.TaskLog).
// A pass is a task when it has items to send or delete, or when it fails
// after one that did not: a continuous mapping polls every few seconds
// and retries a failing target, and neither its empty polls nor every
// retry of one failure belongs in a list of 500 tasks.
type Tasks interface {
	Begin(s appliance.TaskStart) *appliance.TaskRun
}

// passTask is a pass's task and how far it is.
type passTask struct {
	run        *appliance.TaskRun
	todo, done int
}

// beginTask makes the pass a task if it has work.
func (p *pass) beginTask(send []chunkstore.Item, del []string) {
	if p.s.opts.Tasks == nil || len(send)+len(del) == 0 {
		return
	}
	var bytes int64
	for _, it := range send {
		bytes += it.Size
	}
	p.task.run = p.s.opts.Tasks.Begin(appliance.TaskStart{Kind: appliance.TaskReplication, Store: p.m.SourceStore,
		Title: fmt.Sprintf("replication of %s to %s (mapping %s)", p.m.SourceStore, p.m.Target, p.m.Name)})
	p.task.todo = len(send) + len(del)
	p.task.run.Logf("%d items to send (%d bytes), %d to delete", len(send), bytes, len(del))
	p.task.run.Progress(0, fmt.Sprintf("0 of %d items", p.task.todo))
}

// stepTask counts an item sent or deleted.
func (p *pass) stepTask(what, name string) {
	if p.task.run == nil {
		return
	}
	p.task.done++
	p.task.run.Progress(float64(p.task.done)/float64(p.task.todo), fmt.Sprintf("%d of %d items", p.task.done, p.task.todo))
	p.task.run.Logf("%s %s", what, name)
}

// endTask finishes the pass's task: err is the pass's outcome; failing
// tells whether the pass before failed too.
func (p *pass) endTask(err error, blackout, failing bool) {
	run := p.task.run
	switch {
	case run == nil && (err == nil || blackout || failing || p.s.opts.Tasks == nil):
		return
	case run == nil:
		run = p.s.opts.Tasks.Begin(appliance.TaskStart{Kind: appliance.TaskReplication, Store: p.m.SourceStore,
			Title: fmt.Sprintf("replication pass of mapping %s", p.name)})
	}
	switch {
	case blackout:
		run.Finish(context.Canceled, false, "a blackout window began; the next pass after it goes on")
	case err != nil:
		run.Finish(err, false, "the pass failed: "+err.Error()+"; the next one resumes")
	default:
		run.Finish(nil, false, fmt.Sprintf("%d items sent or deleted", p.task.done))
	}
}

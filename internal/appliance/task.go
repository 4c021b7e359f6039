package appliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Task kinds: the long operations the task log records.
const (
	TaskHousekeeping = "housekeeping"
	TaskVerify       = "verify"
	TaskReplication  = "replication"
)

// TaskInterrupted is the state of a task that was running when the
// appliance stopped: it never finished. The other states are the jobs'
// (JobRunning, JobPaused, JobBlackout, JobDone, JobFailed, JobCancelled).
const TaskInterrupted = "interrupted"

// Bounds of the task log (TaskLogOptions' defaults).
const (
	DefaultMaxTasks     = 500  // the newest tasks kept; older ones are dropped
	DefaultMaxTaskLines = 1000 // the last lines kept of each task's log
)

// ErrNotCancellable: the task runs, but nothing can end it early.
var ErrNotCancellable = errors.New("appliance: the task cannot be cancelled")

// TaskLine is one line of a task's log.
type TaskLine struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Task is one long operation: a housekeeping or verify run, a replication
// pass. Progress runs from 0 to 1; Text says where the task is, for a
// person.
type Task struct {
	ID       int64      `json:"id"`
	Kind     string     `json:"kind"`
	Title    string     `json:"title"`
	State    string     `json:"state"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished"`
	Progress float64    `json:"progress"`
	Text     string     `json:"text"`
	Error    string     `json:"error"`
	// Auto: the appliance started it on a schedule, not a person.
	Auto bool `json:"auto"`
	// Store: the task is about one store's items (a replication pass);
	// only those who may read the store see it.
	Store string `json:"store,omitempty"`
	// Pool: its progress and log are the whole pool's figures, which only
	// those who see pool figures may see (docs/security.md, "Figures").
	Pool bool `json:"pool"`
	// Cancellable: POST /api/v1/tasks/{id}/cancel may end it now.
	Cancellable bool `json:"cancellable"`
	// Lines is how many lines its log had in all; Log holds the last
	// MaxLines of them (only in Get's answer).
	Lines int        `json:"lines"`
	Log   []TaskLine `json:"log,omitempty"`
}

// Active reports whether the task is still under way.
func (t Task) Active() bool { return JobActive(t.State) }

// TaskLogOptions configure a TaskLog; zero fields take the defaults.
type TaskLogOptions struct {
	// Dir keeps tasks.json and each task's log (DIR/appliance/tasks);
	// "": in memory only.
	Dir string
	// MaxTasks bounds the tasks kept (default DefaultMaxTasks); MaxLines
	// each task's log (default DefaultMaxTaskLines).
	MaxTasks, MaxLines int
	Now                func() time.Time
	Logger             *slog.Logger
}

func (o TaskLogOptions) withDefaults() TaskLogOptions {
	if o.MaxTasks <= 0 {
		o.MaxTasks = DefaultMaxTasks
	}
	if o.MaxLines <= 0 {
		o.MaxLines = DefaultMaxTaskLines
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// TaskLog is the list of tasks, newest last, bounded and kept on disk:
// tasks.json holds every task but their logs, tasks/<id>.json each log.
// A task is written when it begins, when its log grows and when it ends;
// its progress in between lives in memory. Safe for concurrent use.
type TaskLog struct {
	opts TaskLogOptions

	mu     sync.Mutex
	tasks  []*taskEntry // ascending ID
	next   int64
	cancel map[int64]func() error
}

type taskEntry struct {
	Task
	log     []TaskLine
	savedAt time.Time // when log was last written
}

// logSaveEvery bounds how often a running task's log is written: a
// verify that finds much damage logs a line per damaged chunk, and a
// write (with its fsync) per line would slow it down. A task's log is
// always written when it ends; a crash loses at most this much of it.
const logSaveEvery = 5 * time.Second

// taskFile is tasks.json.
type taskFile struct {
	Next  int64  `json:"next"`
	Tasks []Task `json:"tasks"`
}

const tasksName = "tasks.json"

// OpenTaskLog reads the task log in opts.Dir, if any. Tasks that were
// running when the appliance stopped become TaskInterrupted. A log that
// cannot be read is logged and started afresh: the task log is a record,
// never a reason not to start.
func OpenTaskLog(opts TaskLogOptions) *TaskLog {
	l := &TaskLog{opts: opts.withDefaults(), next: 1, cancel: map[int64]func() error{}}
	if l.opts.Dir == "" {
		return l
	}
	doc, err := l.load()
	if err != nil {
		l.opts.Logger.Error("tasks: load", "dir", l.opts.Dir, "err", err)
		return l
	}
	l.next = max(doc.Next, 1)
	interrupted := false
	for _, t := range doc.Tasks {
		e := &taskEntry{Task: t}
		if e.Active() {
			e.State, e.Cancellable, interrupted = TaskInterrupted, false, true
			e.Error = "the appliance stopped while it ran"
		}
		e.log = l.loadLines(t.ID)
		l.tasks = append(l.tasks, e)
		l.next = max(l.next, t.ID+1)
	}
	if interrupted {
		l.mu.Lock()
		l.saveLocked()
		l.mu.Unlock()
	}
	return l
}

func (l *TaskLog) load() (taskFile, error) {
	b, err := os.ReadFile(filepath.Join(l.opts.Dir, tasksName))
	if errors.Is(err, os.ErrNotExist) {
		return taskFile{}, nil
	}
	if err != nil {
		return taskFile{}, fmt.Errorf("read %s: %w", tasksName, err)
	}
	var doc taskFile
	if err := json.Unmarshal(b, &doc); err != nil {
		return taskFile{}, fmt.Errorf("parse %s: %w", tasksName, err)
	}
	return doc, nil
}

func (l *TaskLog) linesName(id int64) string { return strconv.FormatInt(id, 10) + ".json" }

func (l *TaskLog) loadLines(id int64) []TaskLine {
	b, err := os.ReadFile(filepath.Join(l.opts.Dir, "log", l.linesName(id)))
	if err != nil {
		return nil
	}
	var lines []TaskLine
	if err := json.Unmarshal(b, &lines); err != nil {
		l.opts.Logger.Warn("tasks: parse log", "task", id, "err", err)
		return nil
	}
	return lines
}

// saveLocked writes tasks.json atomically; a failure is logged (the list
// in memory stays right and the next change writes it again). l.mu is
// held.
func (l *TaskLog) saveLocked() {
	if l.opts.Dir == "" {
		return
	}
	doc := taskFile{Next: l.next, Tasks: make([]Task, 0, len(l.tasks))}
	for _, e := range l.tasks {
		doc.Tasks = append(doc.Tasks, e.Task)
	}
	b, err := json.Marshal(doc)
	if err == nil {
		err = os.MkdirAll(l.opts.Dir, 0o700)
	}
	if err == nil {
		err = writeFileAtomic(l.opts.Dir, tasksName, b)
	}
	if err != nil {
		l.opts.Logger.Error("tasks: save", "dir", l.opts.Dir, "err", err)
	}
}

// saveLinesLocked writes e's log. l.mu is held.
func (l *TaskLog) saveLinesLocked(e *taskEntry) {
	if l.opts.Dir == "" {
		return
	}
	dir := filepath.Join(l.opts.Dir, "log")
	b, err := json.Marshal(e.log)
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err == nil {
		err = writeFileAtomic(dir, l.linesName(e.ID), b)
	}
	if err != nil {
		l.opts.Logger.Error("tasks: save log", "task", e.ID, "err", err)
	}
}

// TaskStart describes a task that begins.
type TaskStart struct {
	Kind, Title, Store string
	Auto, Pool         bool
	// Cancel ends the task (and returns once it has ended); nil: it
	// cannot be cancelled.
	Cancel func() error
}

// Begin records a task that starts now and returns its handle.
func (l *TaskLog) Begin(s TaskStart) *TaskRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &taskEntry{Task: Task{ID: l.next, Kind: s.Kind, Title: s.Title, State: JobRunning,
		Started: l.opts.Now().UTC(), Auto: s.Auto, Pool: s.Pool, Store: s.Store, Cancellable: s.Cancel != nil}}
	l.next++
	if s.Cancel != nil {
		l.cancel[e.ID] = s.Cancel
	}
	l.tasks = append(l.tasks, e)
	l.pruneLocked()
	l.appendLocked(e, s.Title)
	l.saveLocked()
	return &TaskRun{l: l, id: e.ID}
}

// pruneLocked drops the oldest finished tasks beyond MaxTasks (a running
// task is never dropped).
func (l *TaskLog) pruneLocked() {
	for len(l.tasks) > l.opts.MaxTasks {
		i := slices.IndexFunc(l.tasks, func(e *taskEntry) bool { return !e.Active() })
		if i < 0 {
			return
		}
		if l.opts.Dir != "" {
			os.Remove(filepath.Join(l.opts.Dir, "log", l.linesName(l.tasks[i].ID)))
		}
		l.tasks = slices.Delete(l.tasks, i, i+1)
	}
}

// appendLocked adds a line to e's log, keeping the last MaxLines.
func (l *TaskLog) appendLocked(e *taskEntry, text string) {
	e.log = append(e.log, TaskLine{Time: l.opts.Now().UTC(), Text: text})
	if over := len(e.log) - l.opts.MaxLines; over > 0 {
		e.log = slices.Delete(e.log, 0, over)
	}
	e.Lines++
	if now := l.opts.Now(); now.Sub(e.savedAt) >= logSaveEvery {
		e.savedAt = now
		l.saveLinesLocked(e)
	}
}

// findLocked is the task with id, or nil.
func (l *TaskLog) findLocked(id int64) *taskEntry {
	i, ok := slices.BinarySearchFunc(l.tasks, id, func(e *taskEntry, id int64) int {
		switch {
		case e.ID < id:
			return -1
		case e.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return l.tasks[i]
}

// Get is the task with id, with its log.
func (l *TaskLog) Get(id int64) (Task, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.findLocked(id)
	if e == nil {
		return Task{}, refuse(ErrNotFound, "task %d not found", id)
	}
	t := e.Task
	t.Log = append([]TaskLine{}, e.log...)
	return t, nil
}

// TaskFilter selects tasks for List: Kind and State ("" for any; state
// "running" matches paused and blackout too), Before (an ID; 0 for the
// newest) and Limit (at most that many); Visible, if set, drops the
// tasks the caller may not see.
type TaskFilter struct {
	Kind, State string
	Before      int64
	Limit       int
	Visible     func(Task) bool
}

// List is the tasks the filter selects, newest first, without their logs;
// more reports whether older ones match too.
func (l *TaskLog) List(f TaskFilter) (tasks []Task, more bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tasks = []Task{}
	for i := len(l.tasks) - 1; i >= 0; i-- {
		t := l.tasks[i].Task
		switch {
		case f.Before > 0 && t.ID >= f.Before:
			continue
		case f.Kind != "" && t.Kind != f.Kind:
			continue
		case f.State == JobRunning && !t.Active():
			continue
		case f.State != "" && f.State != JobRunning && t.State != f.State:
			continue
		case f.Visible != nil && !f.Visible(t):
			continue
		}
		if len(tasks) == f.Limit {
			return tasks, true
		}
		tasks = append(tasks, t)
	}
	return tasks, false
}

// Cancel ends a running task that can be cancelled, and returns once it
// has ended.
func (l *TaskLog) Cancel(id int64) error {
	l.mu.Lock()
	e := l.findLocked(id)
	if e == nil {
		l.mu.Unlock()
		return refuse(ErrNotFound, "task %d not found", id)
	}
	cancel := l.cancel[id]
	state := e.State
	l.mu.Unlock()
	if !JobActive(state) {
		return refuse(ErrNotRunning, "task %d is not running (it is %s)", id, state)
	}
	if cancel == nil {
		return refuse(ErrNotCancellable, "task %d (%s) cannot be cancelled", id, e.Kind)
	}
	return cancel()
}

// LastStarted is the newest task of kind with Auto as given; ok is false
// if there is none.
func (l *TaskLog) LastStarted(kind string, auto bool) (t Task, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.tasks) - 1; i >= 0; i-- {
		if e := l.tasks[i]; e.Kind == kind && e.Auto == auto {
			return e.Task, true
		}
	}
	return Task{}, false
}

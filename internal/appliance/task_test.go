package appliance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/testclock"
)

// TestTaskLogBoundsAndRestart: the log keeps the newest MaxTasks tasks and
// the last MaxLines lines of each, drops the files of those it forgets,
// and after a reopen has the same tasks, a running one as interrupted.
func TestTaskLogBoundsAndRestart(t *testing.T) {
	dir := t.TempDir()
	clk := testclock.New(testNow)
	opts := TaskLogOptions{Dir: dir, MaxTasks: 3, MaxLines: 2, Now: clk.Now}
	l := OpenTaskLog(opts)
	for i := range 5 {
		r := l.Begin(TaskStart{Kind: TaskVerify, Title: fmt.Sprintf("run %d", i)})
		r.Logf("line a")
		r.Logf("line b")
		r.Progress(0.5, "half")
		clk.Advance(time.Minute)
		var err error
		if i == 3 {
			err = errors.New("chunkstore: disk on fire")
		}
		r.Finish(err, false, "end")
	}
	running := l.Begin(TaskStart{Kind: TaskHousekeeping, Title: "hk", Pool: true})
	running.Progress(0.25, "a quarter")

	check := func(l *TaskLog, runningState string) {
		t.Helper()
		got, more := l.List(TaskFilter{Limit: 10})
		if more || len(got) != 3 {
			t.Fatalf("list %d tasks (more %v), want 3", len(got), more)
		}
		if got[0].ID != 6 || got[0].State != runningState || got[1].ID != 5 || got[2].ID != 4 {
			t.Fatalf("list %+v", got)
		}
		if got[2].State != JobFailed || got[2].Error != "disk on fire" || got[1].State != JobDone || got[1].Progress != 1 {
			t.Fatalf("outcomes %+v %+v", got[2], got[1])
		}
		full, err := l.Get(5)
		if err != nil {
			t.Fatal(err)
		}
		if full.Lines != 4 || len(full.Log) != 2 || full.Log[0].Text != "line b" || full.Log[1].Text != "end" {
			t.Fatalf("task 5 log %d lines %+v", full.Lines, full.Log)
		}
		if _, err := l.Get(2); !errors.Is(err, ErrNotFound) {
			t.Fatalf("dropped task 2: %v", err)
		}
	}
	check(l, JobRunning)
	if _, err := os.Stat(filepath.Join(dir, "log", "1.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("log of a dropped task: %v", err)
	}

	re := OpenTaskLog(opts) // the appliance stopped with task 6 running
	check(re, TaskInterrupted)
	if next := re.Begin(TaskStart{Kind: TaskVerify}); next.ID() != 7 {
		t.Fatalf("next id %d, want 7", next.ID())
	}
}

// TestTaskListFilters: kind, state ("running" takes paused in too), the
// cursor and the limit.
func TestTaskListFilters(t *testing.T) {
	l := OpenTaskLog(TaskLogOptions{})
	a := l.Begin(TaskStart{Kind: TaskVerify})
	a.Finish(nil, false, "")
	b := l.Begin(TaskStart{Kind: TaskHousekeeping})
	b.Finish(context.Canceled, false, "")
	c := l.Begin(TaskStart{Kind: TaskVerify})
	c.SetState(JobPaused)
	d := l.Begin(TaskStart{Kind: TaskReplication})
	d.Finish(errors.New("no route"), false, "")

	ids := func(f TaskFilter) (out []int64, more bool) {
		ts, more := l.List(f)
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out, more
	}
	for _, tc := range []struct {
		name string
		f    TaskFilter
		want string
	}{
		{"all", TaskFilter{Limit: 10}, "[4 3 2 1] false"},
		{"verify", TaskFilter{Kind: TaskVerify, Limit: 10}, "[3 1] false"},
		{"running", TaskFilter{State: JobRunning, Limit: 10}, "[3] false"},
		{"cancelled", TaskFilter{State: JobCancelled, Limit: 10}, "[2] false"},
		{"first page", TaskFilter{Limit: 2}, "[4 3] true"},
		{"second page", TaskFilter{Before: 3, Limit: 2}, "[2 1] false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, more := ids(tc.f)
			if s := fmt.Sprint(got, " ", more); s != tc.want {
				t.Fatalf("got %s, want %s", s, tc.want)
			}
		})
	}
	if err := l.Cancel(3); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancel a task without cancel: %v", err)
	}
	if err := l.Cancel(1); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("cancel a finished task: %v", err)
	}
	if err := l.Cancel(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel a missing task: %v", err)
	}
}

// TestJobRunsAreTasks: a verify run is a task whose progress follows the
// engine's, which the task log can cancel; a run the core's shutdown ends
// is interrupted, on disk too.
func TestJobRunsAreTasks(t *testing.T) {
	eng := &stubEngine{steps: make(chan struct{})}
	dir := t.TempDir()
	l := &memLedger{}
	c := NewCore(eng, l, CoreOptions{Now: func() time.Time { return testNow }, MaintenanceTick: time.Millisecond, TaskDir: dir})
	if err := c.Verify().Start(); err != nil {
		t.Fatal(err)
	}
	eng.steps <- struct{}{}
	task := func(id int64) Task {
		t.Helper()
		tk, err := c.Tasks().Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	waitState(t, func() string { return fmt.Sprint(task(1).Progress) }, "0.5")
	if tk := task(1); tk.Kind != TaskVerify || tk.State != JobRunning || !tk.Cancellable || !tk.Pool ||
		tk.Text != "1 of 2 containers (5 B of 10 B)" {
		t.Fatalf("running task %+v", tk)
	}
	if err := c.Tasks().Cancel(1); err != nil {
		t.Fatal(err)
	}
	if tk := task(1); tk.State != JobCancelled || tk.Cancellable || tk.Finished == nil || tk.Log[len(tk.Log)-1].Text != "verify cancelled" {
		t.Fatalf("cancelled task %+v", tk)
	}

	if err := c.Housekeeping().Start(0, "ann"); err != nil {
		t.Fatal(err)
	}
	waitState(t, func() string { return task(2).State }, JobRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if tk := task(2); tk.State != TaskInterrupted || tk.Title != "housekeeping started by ann" {
		t.Fatalf("task at shutdown %+v", tk)
	}
	re := OpenTaskLog(TaskLogOptions{Dir: dir})
	if tk, err := re.Get(2); err != nil || tk.State != TaskInterrupted {
		t.Fatalf("after restart %+v %v", tk, err)
	}
}

// TestScheduledVerifyCoversAll: with verify every 3 days, scheduled
// verify runs once a day, a slice each time, and three runs have read back
// every container; it starts in no blackout window and not before a day
// has passed.
func TestScheduledVerifyCoversAll(t *testing.T) {
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve, eo.ContainerSize = 1<<30, 0, 64<<10
	eng, err := chunkstore.Open(ctx, filepath.Join(t.TempDir(), "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if _, err := eng.CreateStore("s", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 6 {
		w, err := eng.Create(ctx, "s", fmt.Sprint(i), chunkstore.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 200<<10)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	all, err := eng.Verify(ctx, nil)
	if err != nil || all.Containers < 6 {
		t.Fatalf("full verify %+v %v", all, err)
	}

	clk := testclock.New(testNow)
	l := &memLedger{}
	c := NewCore(eng, l, CoreOptions{Now: clk.Now, MaintenanceTick: time.Millisecond})
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Shutdown(sctx)
	})
	if c.AutoVerify() {
		t.Fatal("scheduled verify ran while off")
	}
	l.set(Settings{Verify: VerifySchedule{Auto: true, EveryDays: 3}})
	l.set(Settings{Verify: VerifySchedule{Auto: true, EveryDays: 3}, Blackout: blackout().Blackout})
	if c.AutoVerify() {
		t.Fatal("scheduled verify ran in a blackout window")
	}
	l.set(Settings{Verify: VerifySchedule{Auto: true, EveryDays: 3}})
	containers := 0
	for day := range 3 {
		if !c.AutoVerify() {
			t.Fatalf("day %d: scheduled verify did not start", day)
		}
		waitState(t, func() string { return c.Verify().Status().State }, JobDone)
		st := c.Verify().Status()
		if !st.Auto || st.Slices != 3 {
			t.Fatalf("day %d: status %+v", day, st)
		}
		containers += st.Containers
		if c.AutoVerify() {
			t.Fatalf("day %d: a second run the same day", day)
		}
		clk.Advance(24 * time.Hour)
	}
	if containers < all.Containers || containers > all.Containers+3 {
		t.Fatalf("three slices checked %d containers, the store has %d", containers, all.Containers)
	}
	if tasks, _ := c.Tasks().List(TaskFilter{Kind: TaskVerify, Limit: 10}); len(tasks) != 3 || !tasks[0].Auto {
		t.Fatalf("tasks %+v", tasks)
	}
}

// TestTaskLogSavesRunningLogsAtMostEvery5s: a running task's log is
// written with its first line and then at most every logSaveEvery, so a
// task that logs a line per damaged chunk does not write its file each
// time; a crash loses at most that much of the log.
func TestTaskLogSavesRunningLogsAtMostEvery5s(t *testing.T) {
	dir := t.TempDir()
	clk := testclock.New(testNow)
	l := OpenTaskLog(TaskLogOptions{Dir: dir, Now: clk.Now})
	r := l.Begin(TaskStart{Kind: TaskVerify, Title: "verify started"})
	for i := range 100 {
		r.Logf("damage %d", i)
	}
	lines := func() int {
		t.Helper()
		tk, err := OpenTaskLog(TaskLogOptions{Dir: dir}).Get(r.ID()) // as after a crash
		if err != nil {
			t.Fatal(err)
		}
		return len(tk.Log)
	}
	if n := lines(); n != 1 {
		t.Fatalf("%d lines on disk before 5 s passed, want the first only", n)
	}
	clk.Advance(logSaveEvery)
	r.Logf("one more")
	if n := lines(); n != 102 {
		t.Fatalf("%d lines on disk after 5 s, want 102", n)
	}
}

// BenchmarkTaskLog measures a housekeeping-like task (begin, two lines,
// progress, finish) on disk, and reports the size of tasks.json and of
// the logs once the log holds DefaultMaxTasks tasks:
//
//	go test -run - -bench TaskLog -benchtime 600x ./internal/appliance
func BenchmarkTaskLog(b *testing.B) {
	dir := b.TempDir()
	l := OpenTaskLog(TaskLogOptions{Dir: dir})
	for i := 0; b.Loop(); i++ {
		r := l.Begin(TaskStart{Kind: TaskHousekeeping, Title: "housekeeping started by administrator", Pool: true})
		r.Logf("phase mark: 1234 containers")
		r.Logf("phase sweep: 1234 containers")
		r.Progress(0.5, "sweeping: 617 of 1234 containers, 1.2 GiB reclaimed")
		r.Finish(nil, false, fmt.Sprintf("housekeeping reclaimed 1.2 GiB (12 containers dropped, 3 rewritten) in 1m2s, run %d", i))
	}
	b.StopTimer()
	st, err := os.Stat(filepath.Join(dir, tasksName))
	if err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "log"))
	if err != nil {
		b.Fatal(err)
	}
	var logs int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			logs += fi.Size()
		}
	}
	b.ReportMetric(float64(st.Size()), "tasks.json-bytes")
	b.ReportMetric(float64(logs), "log-bytes")
	b.ReportMetric(float64(len(ents)), "tasks-kept")
}

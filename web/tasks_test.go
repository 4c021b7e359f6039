package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// waitTask polls GET /api/v1/tasks/{id} as user until cond holds.
func (e *env) waitTask(id int64, user string, cond func(taskDetail) bool) taskDetail {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d taskDetail
		e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/tasks/%d", id), auth: user}).decode(e.t, &d)
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %+v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTasksAPI: a verify run is a task; everyone sees it, only an admin
// its figures and log; an operator cancels it through the task; the list
// pages and filters.
func TestTasksAPI(t *testing.T) {
	step := make(chan struct{})
	e := newEnv(t, withEngine(func(eng *chunkstore.Engine) Engine { return gatedEngine{eng, step} }))
	for i := range 3 {
		e.write("default", fmt.Sprint("item", i), randomData(uint64(i), 100<<10))
	}
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/tasks"}, 401, codeUnauthenticated},
		{"list read-only", req{method: "GET", path: "/api/v1/tasks", auth: "ro"}, 200, ""},
		{"bad kind", req{method: "GET", path: "/api/v1/tasks?kind=tape", auth: "ro"}, 400, codeInvalid},
		{"bad state", req{method: "GET", path: "/api/v1/tasks?state=sleeping", auth: "ro"}, 400, codeInvalid},
		{"bad limit", req{method: "GET", path: "/api/v1/tasks?limit=501", auth: "ro"}, 400, codeInvalid},
		{"bad cursor", req{method: "GET", path: "/api/v1/tasks?cursor=x", auth: "ro"}, 400, codeInvalid},
		{"missing", req{method: "GET", path: "/api/v1/tasks/7", auth: "ro"}, 404, codeNotFound},
		{"not an id", req{method: "GET", path: "/api/v1/tasks/x", auth: "ro"}, 404, codeNotFound},
		{"start verify", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""},
	})
	step <- struct{}{}
	d := e.waitTask(1, "admin", func(d taskDetail) bool { return d.Progress > 0 })
	if d.Kind != appliance.TaskVerify || d.State != jobRunning || d.FiguresHidden || d.Text == "" || len(d.Log) == 0 || !d.Cancellable {
		t.Fatalf("admin's view %+v", d)
	}
	ro := e.waitTask(1, "ro", func(taskDetail) bool { return true })
	if !ro.FiguresHidden || ro.Progress != 0 || ro.Text != "" || len(ro.Log) != 0 || ro.State != jobRunning || ro.Title != "verify started" {
		t.Fatalf("read-only view %+v", ro)
	}
	e.run([]check{
		{"cancel read-only", req{method: "POST", path: "/api/v1/tasks/1/cancel", auth: "ro"}, 403, codeForbidden},
		{"cancel missing", req{method: "POST", path: "/api/v1/tasks/9/cancel", auth: "op"}, 404, codeNotFound},
		{"cancel", req{method: "POST", path: "/api/v1/tasks/1/cancel", auth: "op"}, 200, ""},
		{"cancel again", req{method: "POST", path: "/api/v1/tasks/1/cancel", auth: "op"}, 409, codeConflict},
	})
	if d := e.waitTask(1, "admin", func(taskDetail) bool { return true }); d.State != jobCancelled || d.Finished == nil {
		t.Fatalf("cancelled %+v", d)
	}
	if st := e.waitVerify(func(verifyStatus) bool { return true }); st.State != verifyCancelled {
		t.Fatalf("verify after its task was cancelled %+v", st)
	}

	// Two housekeeping runs and one more verify: four tasks.
	for range 2 {
		e.run([]check{{"housekeeping", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
		waitHK(e)
	}
	go func() {
		for range 3 {
			step <- struct{}{}
		}
	}()
	e.run([]check{{"verify", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	e.waitVerify(state(verifyDone))

	page := func(q string) (ids []int64, next string) {
		t.Helper()
		var p taskPage
		e.do(req{method: "GET", path: "/api/v1/tasks" + q, auth: "ro"}).decode(t, &p)
		for _, tk := range p.Tasks {
			ids = append(ids, tk.ID)
		}
		return ids, p.Next
	}
	for _, tc := range []struct{ q, want string }{
		{"", "[4 3 2 1] "},
		{"?limit=3", "[4 3 2] 2"},
		{"?limit=3&cursor=2", "[1] "},
		{"?kind=verify", "[4 1] "},
		{"?state=cancelled", "[1] "},
		{"?kind=housekeeping&limit=1", "[3] 3"},
		{"?state=running", "[] "},
	} {
		ids, next := page(tc.q)
		if got := fmt.Sprint(ids, " ", next); got != tc.want && !(ids == nil && got == "[] "+next && tc.want == "[] ") {
			t.Errorf("tasks%s: %s, want %s", tc.q, got, tc.want)
		}
	}
}

// waitHK waits until housekeeping is not running.
func waitHK(e *env) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st housekeepingStatus
		e.do(req{method: "GET", path: "/api/v1/housekeeping", auth: "admin"}).decode(e.t, &st)
		if !active(st.State) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("housekeeping %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestVerifyScheduleSetting: the verify schedule is a setting an admin
// puts and everyone reads; a cycle out of bounds is refused.
func TestVerifyScheduleSetting(t *testing.T) {
	e := newEnv(t)
	e.run([]check{
		{"too long", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"verify":{"auto":true,"every_days":400}}`}, 400, codeInvalid},
		{"zero days", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"verify":{"auto":true,"every_days":0}}`}, 400, codeInvalid},
		{"operator", req{method: "PUT", path: "/api/v1/settings", auth: "op", body: `{"verify":{"auto":true,"every_days":7}}`}, 403, codeForbidden},
		{"weekly", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"verify":{"auto":true,"every_days":7}}`}, 200, ""},
	})
	var st appliance.Settings
	e.do(req{method: "GET", path: "/api/v1/settings", auth: "ro"}).decode(t, &st)
	if st.Verify != (appliance.VerifySchedule{Auto: true, EveryDays: 7}) || !st.Housekeeping.Auto {
		t.Fatalf("settings %+v", st)
	}
	var audit []string
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		if ev.Action == "settings.update" {
			audit = append(audit, ev.Message)
		}
	}
	if len(audit) != 1 || !strings.HasSuffix(audit[0], "scheduled verify all data every 7 days") {
		t.Fatalf("audit %q", audit)
	}
}

// TestReplicationTasksByStore: a replication pass's task is shown, in the
// list and by id, to those who may read its source store only, as its
// mapping is; nor can anyone else learn it exists by cancelling it.
func TestReplicationTasksByStore(t *testing.T) {
	e := figuresEnv(t) // store a: op may read it; store b: admin only
	tasks := e.core.Tasks()
	for _, store := range []string{"a", "b"} {
		tasks.Begin(appliance.TaskStart{Kind: appliance.TaskReplication, Store: store, Title: "replication of " + store}).
			Finish(nil, false, "")
	}
	list := func(user string) string {
		var p taskPage
		e.do(req{method: "GET", path: "/api/v1/tasks?kind=replication", auth: user}).decode(t, &p)
		var out []string
		for _, tk := range p.Tasks {
			out = append(out, tk.Store)
		}
		return fmt.Sprint(out)
	}
	if got := list("admin"); got != "[b a]" {
		t.Fatalf("admin sees %s", got)
	}
	if got := list("op"); got != "[a]" {
		t.Fatalf("op sees %s", got)
	}
	e.run([]check{
		{"op reads a's task", req{method: "GET", path: "/api/v1/tasks/1", auth: "op"}, 200, ""},
		{"op reads b's task", req{method: "GET", path: "/api/v1/tasks/2", auth: "op"}, 404, codeNotFound},
		{"op cancels b's task", req{method: "POST", path: "/api/v1/tasks/2/cancel", auth: "op"}, 404, codeNotFound},
		{"admin reads b's task", req{method: "GET", path: "/api/v1/tasks/2", auth: "admin"}, 200, ""},
	})
}

package web

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// hkGatedEngine makes housekeeping wait for a step before each of its
// Wait calls (one per sweep batch) and tells when the job's own Wait let
// it go on.
type hkGatedEngine struct {
	gatedEngine
	hkStep chan struct{}
	passed chan struct{}
}

func (g hkGatedEngine) Housekeep(ctx context.Context, opts chunkstore.HousekeepingOptions) (chunkstore.HousekeepingReport, error) {
	wait := opts.Wait
	opts.Wait = func(ctx context.Context) error {
		select {
		case <-g.hkStep:
		case <-ctx.Done():
		}
		err := wait(ctx)
		if err == nil {
			g.passed <- struct{}{}
		}
		return err
	}
	return g.Engine.Housekeep(ctx, opts)
}

func newGated(t *testing.T, opts ...envOption) (*env, hkGatedEngine) {
	var g hkGatedEngine
	opts = append(opts, withEngine(func(eng *chunkstore.Engine) Engine {
		g = hkGatedEngine{gatedEngine{eng, make(chan struct{})}, make(chan struct{}), make(chan struct{}, 16)}
		return g
	}))
	return newEnv(t, opts...), g
}

// waitHK polls GET /api/v1/housekeeping until cond holds.
func (e *env) waitHK(cond func(housekeepingStatus) bool) housekeepingStatus {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st housekeepingStatus
		e.do(req{method: "GET", path: "/api/v1/housekeeping", auth: "admin"}).decode(e.t, &st) // the figures are an admin's
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("housekeeping status %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hkState(s string) func(housekeepingStatus) bool {
	return func(st housekeepingStatus) bool { return st.State == s }
}

// garbage writes NAME-keep and NAME-drop, then deletes NAME-drop:
// housekeeping has something to reclaim.
func (e *env) garbage(name string, keep, drop []byte) {
	e.t.Helper()
	e.write("default", name+"-keep", keep)
	e.write("default", name+"-drop", drop)
	if err := e.eng.Delete(context.Background(), "default", name+"-drop"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) readItem(store, name string) []byte {
	e.t.Helper()
	r, err := e.eng.OpenItem(context.Background(), store, name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func systemEvents(e *env) map[string]appliance.Event {
	out := map[string]appliance.Event{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindSystem) {
		out[ev.Action] = ev
	}
	return out
}

func TestHousekeepingReclaims(t *testing.T) {
	e := newEnv(t)
	keep, drop, shared := randomData(1, 3<<20), randomData(2, 3<<20), randomData(3, 1<<20)
	e.write("default", "keep", keep)
	e.write("default", "drop", drop)
	e.write("default", "shared-1", shared)
	e.write("default", "shared-2", shared)

	var page itemPage
	e.do(req{method: "GET", path: "/api/v1/stores/default/items", auth: "ro"}).decode(t, &page)
	freed := map[string]int64{}
	for _, it := range page.Items {
		freed[it.Name] = it.FreedIfDeleted
	}
	if freed["drop"] < 3<<20 || freed["keep"] < 3<<20 || freed["shared-1"] != 0 || freed["shared-2"] != 0 {
		t.Fatalf("freed if deleted %v", freed)
	}
	var one itemView
	e.do(req{method: "GET", path: "/api/v1/stores/default/items/drop", auth: "ro"}).decode(t, &one)
	if one.FreedIfDeleted != freed["drop"] {
		t.Fatalf("item view freed %d, list %d", one.FreedIfDeleted, freed["drop"])
	}

	// Nothing deleted yet: the dry run finds nothing to reclaim.
	var plan appliance.HousekeepingPlan
	e.do(req{method: "GET", path: "/api/v1/housekeeping/plan", auth: "admin"}).decode(t, &plan)
	if plan.ReclaimBytes != 0 || plan.Threshold != chunkstore.DefaultHousekeepingThreshold || plan.LiveBytes == 0 {
		t.Fatalf("plan before delete %+v", plan)
	}
	e.run([]check{{"delete drop", req{method: "DELETE", path: "/api/v1/stores/default/items/drop", auth: "op"}, 204, ""}})
	e.do(req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=0.5", auth: "admin"}).decode(t, &plan)
	if plan.ReclaimBytes < freed["drop"]*9/10 || plan.Threshold != 0.5 {
		t.Fatalf("plan after delete %+v, item held %d", plan, freed["drop"])
	}
	before := e.eng.Stats().StoredBytes

	e.run([]check{{"start", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":0.5}`}, 202, ""}})
	st := e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) })
	if st.State != jobDone || st.Report == nil || st.Error != "" || st.Auto || st.Threshold != 0.5 || st.Phase != "sweep" {
		t.Fatalf("done %+v", st)
	}
	r := st.Report
	if r.ReclaimedBytes < plan.ReclaimBytes*9/10 || r.State != jobDone || r.Dropped+r.Rewritten == 0 ||
		st.ReclaimedBytes != r.ReclaimedBytes || st.ContainersDone != st.Containers || r.StoredAfter >= r.StoredBefore {
		t.Fatalf("report %+v, plan %+v", r, plan)
	}
	if after := e.eng.Stats().StoredBytes; before-after < freed["drop"]*9/10 {
		t.Fatalf("stored %d -> %d, item held %d", before, after, freed["drop"])
	}
	if st.Plan == nil || st.Plan.Threshold != 0.5 {
		t.Fatalf("last plan not kept %+v", st.Plan)
	}
	for name, want := range map[string][]byte{"keep": keep, "shared-1": shared, "shared-2": shared} {
		if !bytes.Equal(e.readItem("default", name), want) {
			t.Errorf("%s reads back wrong after housekeeping", name)
		}
	}

	m := string(e.do(req{method: "GET", path: "/metrics"}).body)
	for _, want := range []string{
		"backstop_housekeeping_progress_ratio 1",
		"backstop_housekeeping_reclaimed_bytes_total " + strconv.FormatFloat(float64(r.ReclaimedBytes), 'g', -1, 64),
		`backstop_housekeeping_runs_total{result="done"} 1`,
		`backstop_housekeeping_runs_total{result="failed"} 0`,
		"backstop_housekeeping_last_duration_seconds ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	ev := systemEvents(e)
	if !strings.Contains(ev["housekeeping.start"].Message, "by op") || !strings.Contains(ev["housekeeping.finish"].Message, "reclaimed") ||
		ev["housekeeping.finish"].Level != appliance.LevelInfo {
		t.Errorf("events %+v", ev)
	}
	audited := false
	for _, a := range e.state.Events(0, 1000, appliance.KindAudit) {
		audited = audited || a.Actor == "op" && a.Action == "housekeeping.start"
	}
	if !audited {
		t.Error("no audit event housekeeping.start")
	}

	// A second run finds nothing left and finishes at once; the report is
	// replaced.
	e.run([]check{{"start again", req{method: "POST", path: "/api/v1/housekeeping", auth: "admin"}, 202, ""}})
	st = e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) })
	if st.State != jobDone || st.Report.ReclaimedBytes != 0 || st.Threshold != chunkstore.DefaultHousekeepingThreshold {
		t.Fatalf("second run %+v", st)
	}
}

func TestHousekeepingEndpoints(t *testing.T) {
	e := newEnv(t)
	e.run([]check{
		{"status no token", req{method: "GET", path: "/api/v1/housekeeping"}, 401, codeUnauthenticated},
		{"status expired token", req{method: "GET", path: "/api/v1/housekeeping", auth: "token:expired"}, 401, codeUnauthenticated},
		{"status read-only", req{method: "GET", path: "/api/v1/housekeeping", auth: "ro"}, 200, ""},
		{"plan no token", req{method: "GET", path: "/api/v1/housekeeping/plan"}, 401, codeUnauthenticated},
		{"plan read-only", req{method: "GET", path: "/api/v1/housekeeping/plan", auth: "ro"}, 403, codeForbidden},
		{"plan operator", req{method: "GET", path: "/api/v1/housekeeping/plan", auth: "op"}, 403, codeForbidden},
		{"plan admin", req{method: "GET", path: "/api/v1/housekeeping/plan", auth: "admin"}, 200, ""},
		{"plan threshold 1", req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=1", auth: "admin"}, 200, ""},
		{"plan threshold 1.5", req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=1.5", auth: "admin"}, 400, codeInvalid},
		{"plan threshold -0.1", req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=-0.1", auth: "admin"}, 400, codeInvalid},
		{"plan threshold NaN", req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=NaN", auth: "admin"}, 400, codeInvalid},
		{"plan threshold x", req{method: "GET", path: "/api/v1/housekeeping/plan?threshold=x", auth: "admin"}, 400, codeInvalid},
		{"start no token", req{method: "POST", path: "/api/v1/housekeeping"}, 401, codeUnauthenticated},
		{"start read-only", req{method: "POST", path: "/api/v1/housekeeping", auth: "ro"}, 403, codeForbidden},
		{"start malformed", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":`}, 400, codeInvalid},
		{"start unknown field", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":0.5,"x":1}`}, 400, codeInvalid},
		{"start threshold 2", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":2}`}, 400, codeInvalid},
		{"start threshold string", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":"half"}`}, 400, codeInvalid},
		{"start array", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `[]`}, 400, codeInvalid},
		{"delete method", req{method: "DELETE", path: "/api/v1/housekeeping", auth: "admin"}, 405, codeMethodNotAllowed},
	})
	for _, a := range []string{"pause", "resume", "cancel"} {
		e.run([]check{
			{a + " no token", req{method: "POST", path: "/api/v1/housekeeping/" + a}, 401, codeUnauthenticated},
			{a + " read-only", req{method: "POST", path: "/api/v1/housekeeping/" + a, auth: "ro"}, 403, codeForbidden},
			{a + " idle", req{method: "POST", path: "/api/v1/housekeeping/" + a, auth: "op"}, 409, codeConflict},
		})
	}
	var st housekeepingStatus
	e.do(req{method: "GET", path: "/api/v1/housekeeping", auth: "admin"}).decode(t, &st)
	if st.State != jobIdle || st.Report != nil || st.Plan == nil || st.Plan.Threshold != 1 || st.Started != nil {
		t.Fatalf("idle status %+v", st)
	}
	// An empty store: a run with nothing to do finishes with a report.
	e.run([]check{{"start empty body", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
	st = e.waitHK(hkState(jobDone))
	// The plan and the report are pool figures: an operator who started
	// the run sees its state, not what it reclaimed (docs/security.md).
	for _, who := range []string{"op", "ro"} {
		var their housekeepingStatus
		e.do(req{method: "GET", path: "/api/v1/housekeeping", auth: who}).decode(t, &their)
		if their.State != jobDone || their.Report != nil || their.Plan != nil || their.Containers != 0 {
			t.Fatalf("%s sees pool figures of housekeeping: %+v", who, their)
		}
	}
	if st.Report == nil || st.Report.ReclaimedBytes != 0 || st.Report.Containers != 0 {
		t.Fatalf("empty run %+v", st)
	}
}

func TestHousekeepingPauseResumeCancel(t *testing.T) {
	e, g := newGated(t)
	e.garbage("g1", randomData(1, 1<<20), randomData(2, 1<<20))
	e.run([]check{
		{"start", req{method: "POST", path: "/api/v1/housekeeping", auth: "op", body: `{"threshold":0}`}, 202, ""},
		{"start again", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 409, codeConflict},
		{"verify meanwhile", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 409, codeConflict},
		{"resume running", req{method: "POST", path: "/api/v1/housekeeping/resume", auth: "op"}, 409, codeConflict},
		{"pause", req{method: "POST", path: "/api/v1/housekeeping/pause", auth: "op"}, 200, ""},
		{"pause paused", req{method: "POST", path: "/api/v1/housekeeping/pause", auth: "op"}, 409, codeConflict},
		{"dry run meanwhile", req{method: "GET", path: "/api/v1/housekeeping/plan", auth: "admin"}, 409, codeConflict},
	})
	// The engine reaches its Wait before the first batch and is held there.
	g.hkStep <- struct{}{}
	st := e.waitHK(func(st housekeepingStatus) bool { return st.Phase == "sweep" })
	if st.State != jobPaused || st.ContainersDone != 0 || st.Containers == 0 {
		t.Fatalf("paused %+v", st)
	}
	select {
	case <-g.passed:
		t.Fatal("housekeeping went on while paused")
	case <-time.After(50 * time.Millisecond):
	}
	e.run([]check{{"resume", req{method: "POST", path: "/api/v1/housekeeping/resume", auth: "op"}, 200, ""}})
	testwait.Recv(t, g.passed)
	st = e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) })
	if st.State != jobDone || st.Report.ReclaimedBytes == 0 || st.ContainersDone != st.Containers {
		t.Fatalf("done %+v", st)
	}

	// Cancel while the engine waits for its first batch.
	e.garbage("g2", randomData(3, 1<<20), randomData(4, 1<<20))
	e.run([]check{
		{"start to cancel", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""},
		{"cancel", req{method: "POST", path: "/api/v1/housekeeping/cancel", auth: "op"}, 200, ""},
		{"cancel again", req{method: "POST", path: "/api/v1/housekeeping/cancel", auth: "op"}, 409, codeConflict},
	})
	st = e.waitHK(func(housekeepingStatus) bool { return true })
	if st.State != jobCancelled || st.Report == nil || st.Report.State != jobCancelled || st.Report.ReclaimedBytes != 0 || st.Finished == nil {
		t.Fatalf("cancelled %+v", st)
	}
	if ev := systemEvents(e)["housekeeping.finish"]; !strings.HasPrefix(ev.Message, "housekeeping cancelled") {
		t.Fatalf("finish event %+v", ev)
	}
	m := string(e.do(req{method: "GET", path: "/metrics"}).body)
	if !strings.Contains(m, `backstop_housekeeping_runs_total{result="cancelled"} 1`) || !strings.Contains(m, `backstop_housekeeping_runs_total{result="done"} 1`) {
		t.Errorf("metrics %s", m)
	}

	// Verify runs: housekeeping waits its turn.
	e.run([]check{{"verify", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	e.run([]check{{"housekeeping during verify", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 409, codeConflict}})
	r := e.do(req{method: "POST", path: "/api/v1/housekeeping", auth: "op"})
	if !strings.Contains(string(r.body), "verify is running") {
		t.Errorf("conflict message %s", r.body)
	}
	e.run([]check{{"cancel verify", req{method: "POST", path: "/api/v1/verify/cancel", auth: "op"}, 200, ""}})

	audit := map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		audit[ev.Actor+" "+ev.Action] = true
	}
	for _, a := range []string{"start", "pause", "resume", "cancel"} {
		if !audit["op housekeeping."+a] {
			t.Errorf("no audit event housekeeping.%s: %v", a, audit)
		}
	}
}

// blackoutNow sets a blackout window around the test clock's now, or none,
// and keeps the other settings.
func blackoutNow(e *env, on bool) {
	e.t.Helper()
	now := e.clock.Now().Local()
	st := e.state.Settings()
	st.Blackout = nil
	if on {
		st.Blackout = []appliance.Window{{Days: []time.Weekday{now.Weekday()}, Start: now.Add(-time.Hour).Format("15:04"), End: now.Add(time.Hour).Format("15:04")}}
	}
	if err := e.state.SetSettings(st); err != nil {
		e.t.Fatal(err)
	}
}

// feed steps a gated verify until stop is closed.
func feed(step chan struct{}) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case step <- struct{}{}:
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

func TestHousekeepingBlackout(t *testing.T) {
	e, g := newGated(t, withTick(5*time.Millisecond))
	e.garbage("g3", randomData(1, 1<<20), randomData(2, 1<<20))
	blackoutNow(e, true)
	e.run([]check{
		{"start in blackout", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 409, codeBlackout},
		{"verify in blackout", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 409, codeBlackout},
	})
	if err := e.state.SetSettings(appliance.Settings{}); err != nil {
		t.Fatal(err)
	}

	// A running job that meets a window waits until it ends.
	e.run([]check{{"start", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
	blackoutNow(e, true)
	g.hkStep <- struct{}{}
	st := e.waitHK(hkState(jobBlackout))
	if st.ContainersDone != 0 {
		t.Fatalf("in blackout %+v", st)
	}
	// Pausing and resuming in the window leaves it waiting for the window.
	e.run([]check{
		{"pause in window", req{method: "POST", path: "/api/v1/housekeeping/pause", auth: "op"}, 200, ""},
		{"resume in window", req{method: "POST", path: "/api/v1/housekeeping/resume", auth: "op"}, 200, ""},
	})
	e.waitHK(hkState(jobBlackout))
	select {
	case <-g.passed:
		t.Fatal("housekeeping went on inside a blackout window")
	default:
	}
	e.clock.Advance(3 * time.Hour)
	e.tokens = map[string]string{} // sessions ended while the clock moved
	testwait.Recv(t, g.passed)
	st = e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) })
	if st.State != jobDone || st.Report.ReclaimedBytes == 0 {
		t.Fatalf("after the window %+v", st)
	}
	ev := systemEvents(e)
	if ev["housekeeping.blackout"].Message == "" || ev["housekeeping.resume"].Message == "" {
		t.Fatalf("events %v", ev)
	}

	// Verify, on the same runner, waits out a window too.
	e.run([]check{{"verify", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	blackoutNow(e, true)
	g.step <- struct{}{}
	e.waitVerify(state(jobBlackout))
	e.clock.Advance(3 * time.Hour)
	e.tokens = map[string]string{}
	stop := feed(g.step)
	defer stop()
	e.waitVerify(state(verifyDone))
}

func TestAutoHousekeeping(t *testing.T) {
	e, g := newGated(t, withTick(5*time.Millisecond))
	ctx := context.Background()

	// One check at a time: nothing to reclaim, a run not started.
	if !e.core.AutoHousekeeping(ctx) {
		t.Fatal("no dry run")
	}
	if st := e.core.Housekeeping().Status(); st.State != jobIdle || st.Plan == nil || st.Plan.ReclaimBytes != 0 {
		t.Fatalf("nothing to reclaim %+v", st)
	}
	e.garbage("g4", randomData(1, 1<<20), randomData(2, 1<<20))
	blackoutNow(e, true)
	if e.core.AutoHousekeeping(ctx) {
		t.Fatal("dry run inside a blackout window")
	}
	blackoutNow(e, false)
	e.run([]check{{"verify", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	if e.core.AutoHousekeeping(ctx) {
		t.Fatal("dry run while verify runs")
	}
	e.run([]check{{"cancel verify", req{method: "POST", path: "/api/v1/verify/cancel", auth: "op"}, 200, ""}})
	if st := e.core.Housekeeping().Status(); st.State != jobIdle || st.Plan.ReclaimBytes != 0 {
		t.Fatalf("ran anyway %+v", st)
	}

	// The loop: the interval passes on the clock, a run starts by itself.
	var st housekeepingStatus
	e.do(req{method: "GET", path: "/api/v1/housekeeping", auth: "ro"}).decode(t, &st)
	if st.NextAutoCheck == nil || !st.NextAutoCheck.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("next check %v, now %v", st.NextAutoCheck, e.clock.Now())
	}
	e.clock.Advance(61 * time.Minute)
	e.tokens = map[string]string{}
	g.hkStep <- struct{}{}
	testwait.Recv(t, g.passed)
	st = e.waitHK(func(st housekeepingStatus) bool { return st.Report != nil })
	if st.State != jobDone || !st.Auto || st.Report.ReclaimedBytes == 0 || st.Plan.ReclaimBytes == 0 {
		t.Fatalf("automatic run %+v", st)
	}
	if ev := systemEvents(e)["housekeeping.start"]; !strings.HasPrefix(ev.Message, "automatic housekeeping started") {
		t.Fatalf("start event %+v", ev)
	}

	// Turned off through the API, it shows no next check.
	e.run([]check{
		{"auto off", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"housekeeping":{"auto":false,"interval_minutes":30}}`}, 200, ""},
		{"off with interval 0", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"housekeeping":{"auto":false,"interval_minutes":0}}`}, 400, codeInvalid},
		{"interval 0", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"housekeeping":{"auto":true,"interval_minutes":0}}`}, 400, codeInvalid},
		{"interval too long", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"housekeeping":{"auto":true,"interval_minutes":100000}}`}, 400, codeInvalid},
		{"unknown field", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"housekeeping":{"auto":true,"every":5}}`}, 400, codeInvalid},
	})
	if hs := e.state.Settings().Housekeeping; hs.Auto || hs.IntervalMinutes != 30 {
		t.Fatalf("settings %+v", hs)
	}
	e.waitHK(func(st housekeepingStatus) bool { return st.NextAutoCheck == nil })
}

func TestHousekeepingShutdown(t *testing.T) {
	e, g := newGated(t)
	e.garbage("g5", randomData(1, 1<<20), randomData(2, 1<<20))
	e.run([]check{{"start", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
	e.run([]check{{"pause", req{method: "POST", path: "/api/v1/housekeeping/pause", auth: "op"}, 200, ""}})
	g.hkStep <- struct{}{} // now held in the job's Wait, paused
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.core.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.core.Housekeeping().Status(); st.State != jobCancelled {
		t.Fatalf("after shutdown %+v", st)
	}
	// What was deleted is still reclaimable: nothing half-done.
	plan, err := e.eng.PlanHousekeeping(context.Background(), 0.8)
	if err != nil || plan.ReclaimBytes == 0 {
		t.Fatalf("plan after shutdown %+v %v", plan, err)
	}
}

// TestHousekeepingEngineBusy: the engine's maintenance lock is held from
// outside the server (a verify run straight on the engine): the run fails
// with a clear message, an error event and a failed-run count.
func TestHousekeepingEngineBusy(t *testing.T) {
	e := newEnv(t)
	e.garbage("g6", randomData(1, 1<<20), randomData(2, 1<<20))
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		once := false
		_, err := e.eng.Verify(context.Background(), func(chunkstore.VerifyProgress) {
			if !once {
				once = true
				close(held)
				<-hold
			}
		})
		done <- err
	}()
	testwait.Recv(t, held)
	e.run([]check{{"start", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
	st := e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) })
	close(hold)
	if err := testwait.Recv(t, done); err != nil {
		t.Fatal(err)
	}
	if st.State != jobFailed || !strings.Contains(st.Error, "already running") || st.Report == nil || st.Report.State != jobFailed {
		t.Fatalf("busy engine %+v", st)
	}
	if ev := systemEvents(e)["housekeeping.finish"]; ev.Level != appliance.LevelError || !strings.Contains(ev.Message, "failed") {
		t.Fatalf("finish event %+v", ev)
	}
	if m := string(e.do(req{method: "GET", path: "/metrics"}).body); !strings.Contains(m, `backstop_housekeeping_runs_total{result="failed"} 1`) {
		t.Errorf("failed run not counted")
	}
	// Once verify is done, housekeeping runs.
	e.run([]check{{"start again", req{method: "POST", path: "/api/v1/housekeeping", auth: "op"}, 202, ""}})
	if st := e.waitHK(func(st housekeepingStatus) bool { return !active(st.State) }); st.State != jobDone || st.Report.ReclaimedBytes == 0 {
		t.Fatalf("after verify %+v", st)
	}
}

package web

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// gatedEngine makes the engine's verify wait for a step before each
// container's progress report.
type gatedEngine struct {
	*chunkstore.Engine
	step chan struct{}
}

func (g gatedEngine) VerifySlice(ctx context.Context, slices int, progress func(chunkstore.VerifyProgress)) (chunkstore.VerifyReport, error) {
	return g.Engine.VerifySlice(ctx, slices, func(p chunkstore.VerifyProgress) {
		select {
		case <-g.step:
		case <-ctx.Done():
		}
		progress(p)
	})
}

func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// waitVerify polls GET /api/v1/verify until cond holds.
func (e *env) waitVerify(cond func(verifyStatus) bool) verifyStatus {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st verifyStatus
		e.do(req{method: "GET", path: "/api/v1/verify", auth: "admin"}).decode(e.t, &st) // the figures are an admin's
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("verify status %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(s string) func(verifyStatus) bool {
	return func(st verifyStatus) bool { return st.State == s }
}

func TestVerifyPauseResume(t *testing.T) {
	step := make(chan struct{})
	e := newEnv(t, withEngine(func(eng *chunkstore.Engine) Engine { return gatedEngine{eng, step} }))
	for i := range 3 {
		e.write("default", fmt.Sprint("item", i), randomData(uint64(i), 100<<10))
	}
	e.run([]check{
		{"status no token", req{method: "GET", path: "/api/v1/verify"}, 401, codeUnauthenticated},
		{"status idle", req{method: "GET", path: "/api/v1/verify", auth: "ro"}, 200, ""},
		{"pause idle", req{method: "POST", path: "/api/v1/verify/pause", auth: "op"}, 409, codeConflict},
		{"cancel idle", req{method: "POST", path: "/api/v1/verify/cancel", auth: "op"}, 409, codeConflict},
		{"start read-only", req{method: "POST", path: "/api/v1/verify", auth: "ro"}, 403, codeForbidden},
		{"start no token", req{method: "POST", path: "/api/v1/verify"}, 401, codeUnauthenticated},
		{"start", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""},
		{"start again", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 409, codeConflict},
		{"resume running", req{method: "POST", path: "/api/v1/verify/resume", auth: "op"}, 409, codeConflict},
		{"pause read-only", req{method: "POST", path: "/api/v1/verify/pause", auth: "ro"}, 403, codeForbidden},
		{"pause", req{method: "POST", path: "/api/v1/verify/pause", auth: "op"}, 200, ""},
		{"pause paused", req{method: "POST", path: "/api/v1/verify/pause", auth: "op"}, 409, codeConflict},
	})
	step <- struct{}{}
	st := e.waitVerify(func(st verifyStatus) bool { return st.ContainersDone == 1 })
	if st.State != verifyPaused || st.Containers != 3 {
		t.Fatalf("paused %+v", st)
	}
	select {
	case step <- struct{}{}:
		t.Fatal("verify went on while paused")
	case <-time.After(50 * time.Millisecond):
	}
	e.run([]check{{"resume", req{method: "POST", path: "/api/v1/verify/resume", auth: "op"}, 200, ""}})
	step <- struct{}{}
	step <- struct{}{}
	st = e.waitVerify(state(verifyDone))
	if st.ContainersDone != 3 || st.BytesDone != st.Bytes || len(st.Damage) != 0 || st.Started == nil || st.Finished == nil || st.Error != "" {
		t.Fatalf("done %+v", st)
	}

	e.run([]check{{"start to cancel", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	e.run([]check{{"cancel", req{method: "POST", path: "/api/v1/verify/cancel", auth: "op"}, 200, ""}})
	if st := e.waitVerify(func(verifyStatus) bool { return true }); st.State != verifyCancelled {
		t.Fatalf("after cancel %+v", st)
	}

	audit, system := map[string]bool{}, map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, "") {
		if ev.Kind == appliance.KindAudit {
			audit[ev.Actor+" "+ev.Action] = true
		} else {
			system[ev.Action] = true
		}
	}
	for _, a := range []string{"start", "pause", "resume", "cancel"} {
		if !audit["op verify."+a] {
			t.Errorf("no audit event verify.%s: %v", a, audit)
		}
	}
	if !system["verify.start"] || !system["verify.finish"] {
		t.Errorf("system events %v", system)
	}
}

func TestVerifyDamage(t *testing.T) {
	e := newEnv(t)
	e.write("default", "precious", randomData(7, 256<<10))
	// Flip bytes in the middle of the only container.
	vol := filepath.Join(e.dir, "data", "volumes", "0000.vol")
	f, err := os.OpenFile(vol, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a}, 64), 100<<10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e.run([]check{{"start", req{method: "POST", path: "/api/v1/verify", auth: "admin"}, 202, ""}})
	st := e.waitVerify(func(st verifyStatus) bool { return !active(st.State) })
	if st.State != verifyDone || len(st.Damage) == 0 {
		t.Fatalf("verify %+v", st)
	}
	// A read-only user may read store default (no client list): he sees
	// the damage to its item, and none of the pool's figures.
	var ro verifyStatus
	e.do(req{method: "GET", path: "/api/v1/verify", auth: "ro"}).decode(t, &ro)
	if len(ro.Damage) == 0 || !slices.Contains(ro.Damage[0].Items, "default/precious") ||
		!slices.Equal(ro.Damage[0].Names, []string{"store default, item precious"}) || ro.Bytes != 0 || ro.Containers != 0 {
		t.Fatalf("read-only verify view %+v", ro)
	}
	var ev *appliance.Event
	for _, x := range e.state.Events(0, 1000, appliance.KindSystem) {
		if x.Action == "verify.finish" {
			ev = &x
		}
	}
	if ev == nil || ev.Level != appliance.LevelError || !strings.Contains(ev.Message, "store default, item precious") {
		t.Fatalf("finish event %+v", ev)
	}
}

func TestVerifyBlackout(t *testing.T) {
	e := newEnv(t)
	// The test clock says Monday 12:00 UTC; windows are in local time.
	now := e.clock.Now().Local()
	w := appliance.Window{Days: []time.Weekday{now.Weekday()}, Start: now.Add(-time.Hour).Format("15:04"), End: now.Add(time.Hour).Format("15:04")}
	if err := e.state.SetSettings(appliance.Settings{Blackout: []appliance.Window{w}}); err != nil {
		t.Fatal(err)
	}
	e.run([]check{{"in blackout", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 409, codeBlackout}})
	e.clock.Advance(3 * time.Hour)
	e.tokens = map[string]string{} // sessions ended while the clock moved
	e.run([]check{{"after blackout", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	e.waitVerify(state(verifyDone))
}

func TestVerifyShutdown(t *testing.T) {
	step := make(chan struct{})
	e := newEnv(t, withEngine(func(eng *chunkstore.Engine) Engine { return gatedEngine{eng, step} }))
	e.write("default", "x", randomData(1, 10<<10))
	e.write("default", "y", randomData(2, 10<<10))
	e.run([]check{{"start", req{method: "POST", path: "/api/v1/verify", auth: "op"}, 202, ""}})
	e.run([]check{{"pause", req{method: "POST", path: "/api/v1/verify/pause", auth: "op"}, 200, ""}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.core.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.core.Verify().Status(); st.State != verifyCancelled {
		t.Fatalf("after shutdown %+v", st)
	}
}

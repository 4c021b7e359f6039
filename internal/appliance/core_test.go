package appliance

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// stubEngine's verify and housekeeping report progress (or wait) once per
// step and end when steps is closed or the context is cancelled; damage is
// what verify reports.
type stubEngine struct {
	steps  chan struct{}
	damage []chunkstore.Damage
	plan   chunkstore.HousekeepingPlan
}

func (s *stubEngine) VerifySlice(ctx context.Context, _ int, progress func(chunkstore.VerifyProgress)) (chunkstore.VerifyReport, error) {
	for {
		select {
		case _, ok := <-s.steps:
			if !ok {
				return chunkstore.VerifyReport{Containers: 1, Damage: s.damage}, nil
			}
			progress(chunkstore.VerifyProgress{Containers: 2, ContainersDone: 1, Bytes: 10, BytesDone: 5})
		case <-ctx.Done():
			return chunkstore.VerifyReport{}, ctx.Err()
		}
	}
}

func (s *stubEngine) Housekeep(ctx context.Context, opts chunkstore.HousekeepingOptions) (chunkstore.HousekeepingReport, error) {
	for {
		select {
		case _, ok := <-s.steps:
			if !ok {
				return chunkstore.HousekeepingReport{HousekeepingPlan: s.plan}, nil
			}
			if err := opts.Wait(ctx); err != nil {
				return chunkstore.HousekeepingReport{}, err
			}
		case <-ctx.Done():
			return chunkstore.HousekeepingReport{}, ctx.Err()
		}
	}
}

func (s *stubEngine) PlanHousekeeping(context.Context, float64) (chunkstore.HousekeepingPlan, error) {
	return s.plan, nil
}

// memLedger is settings and an event log in memory.
type memLedger struct {
	mu       sync.Mutex
	settings Settings
	events   []Event
}

func (l *memLedger) Settings() Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.settings
}

func (l *memLedger) set(st Settings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.settings = st
}

func (l *memLedger) Record(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return e
}

func (l *memLedger) actions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Action)
	}
	return out
}

var testNow = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)

func newTestCore(t *testing.T, eng Engine) (*Core, *memLedger) {
	t.Helper()
	l := &memLedger{}
	c := NewCore(eng, l, CoreOptions{Now: func() time.Time { return testNow }, MaintenanceTick: time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return c, l
}

// waitState polls status until it is want.
func waitState(t *testing.T, status func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for status() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want %s", status(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// blackout is a window around testNow.
func blackout() Settings {
	now := testNow.Local()
	return Settings{Blackout: []Window{{Start: now.Add(-time.Hour).Format("15:04"), End: now.Add(time.Hour).Format("15:04")}}}
}

func TestJobRefusals(t *testing.T) {
	eng := &stubEngine{steps: make(chan struct{})}
	c, l := newTestCore(t, eng)
	v, hk := c.Verify(), c.Housekeeping()
	verifyState := func() string { return v.Status().State }

	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"pause idle verify", v.Pause, ErrNotRunning},
		{"resume idle verify", v.Resume, ErrNotRunning},
		{"cancel idle housekeeping", hk.Cancel, ErrNotRunning},
		{"threshold above 1", func() error { return hk.Start(1.5, "op") }, ErrInvalid},
		{"negative plan threshold", func() error { _, err := hk.Plan(t.Context(), -1); return err }, ErrInvalid},
		{"verify starts", v.Start, nil},
		{"verify twice", v.Start, ErrJobBusy},
		{"housekeeping while verify runs", func() error { return hk.Start(0, "op") }, ErrJobBusy},
		{"resume a running verify", v.Resume, ErrNotRunning},
		{"pause", v.Pause, nil},
		{"resume", v.Resume, nil},
		{"cancel", v.Cancel, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.HasPrefix(PlainMessage(err), "appliance") {
				t.Errorf("message for a person keeps its prefix: %q", PlainMessage(err))
			}
		})
	}
	waitState(t, verifyState, JobCancelled)
	waitState(t, func() string { return l.actions()[len(l.actions())-1] }, "verify.finish")

	l.set(blackout())
	if err := hk.Start(0, "op"); !errors.Is(err, ErrBlackout) {
		t.Fatalf("start in a blackout window: %v", err)
	}
	if err := v.Start(); !errors.Is(err, ErrBlackout) {
		t.Fatalf("verify in a blackout window: %v", err)
	}
	got := strings.Join(l.actions(), " ")
	if got != "verify.start verify.finish" {
		t.Fatalf("events %s", got)
	}
}

func TestJobBlackoutWait(t *testing.T) {
	eng := &stubEngine{steps: make(chan struct{})}
	c, l := newTestCore(t, eng)
	hk := c.Housekeeping()
	if err := hk.Start(0, "op"); err != nil {
		t.Fatal(err)
	}
	l.set(blackout())
	step := func() {
		t.Helper()
		select {
		case eng.steps <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("housekeeping took no step")
		}
	}
	step()
	state := func() string { return hk.Status().State }
	waitState(t, state, JobBlackout)
	if err := hk.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := hk.Resume(); err != nil {
		t.Fatal(err)
	}
	waitState(t, state, JobBlackout) // resumed, it waits for the window again
	l.set(Settings{})
	waitState(t, state, JobRunning)
	close(eng.steps)
	waitState(t, state, JobDone)
	waitState(t, func() string { return l.actions()[len(l.actions())-1] }, "housekeeping.finish")
	if hk.Runs(JobDone) != 1 || hk.ProgressRatio() != 1 {
		t.Fatalf("runs %d, progress %v", hk.Runs(JobDone), hk.ProgressRatio())
	}
	want := "housekeeping.start housekeeping.blackout housekeeping.resume housekeeping.finish"
	if got := strings.Join(l.actions(), " "); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

func TestCoreShutdownCancels(t *testing.T) {
	eng := &stubEngine{steps: make(chan struct{})}
	c, _ := newTestCore(t, eng)
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); !errors.Is(err, ErrCoreStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if err := c.Verify().Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Verify().Status(); st.State != JobCancelled {
		t.Fatalf("after shutdown %+v", st)
	}
}

func TestVerifySetsHealth(t *testing.T) {
	eng := &stubEngine{steps: make(chan struct{})}
	c, _ := newTestCore(t, eng)
	close(eng.steps)
	if err := c.Verify().Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, func() string { return c.Verify().Status().State }, JobDone)
	if r := c.Health().Report(); r.State != OK || len(r.Components) != 1 || r.Components[0].Name != ComponentVerify {
		t.Fatalf("clean verify: %+v", r)
	}

	eng.damage = []chunkstore.Damage{{Container: 7, Problem: "checksum", Items: []string{"default/precious"}}}
	if err := c.Verify().Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, func() string { return c.Verify().Status().State }, JobDone)
	r := c.Health().Report()
	if r.State != Degraded || !strings.HasPrefix(r.Components[0].Reason, "damaged") {
		t.Fatalf("damaged verify: %+v", r)
	}
}

// TestAutoHousekeepingRealEngine runs automatic housekeeping's check on a
// real engine: a dry run, then a run that reclaims a deleted item's space.
func TestAutoHousekeepingRealEngine(t *testing.T) {
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve = 1<<30, 0
	eng, err := chunkstore.Open(ctx, filepath.Join(t.TempDir(), "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c, l := newTestCore(t, eng)
	if !c.AutoHousekeeping(ctx) {
		t.Fatal("no dry run")
	}
	if st := c.Housekeeping().Status(); st.State != JobIdle || st.Plan == nil || st.Plan.ReclaimBytes != 0 {
		t.Fatalf("nothing to reclaim %+v", st)
	}
	w, err := eng.Create(ctx, "default", "drop", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Delete(ctx, "default", "drop"); err != nil {
		t.Fatal(err)
	}
	if !c.AutoHousekeeping(ctx) {
		t.Fatal("no dry run")
	}
	waitState(t, func() string { return c.Housekeeping().Status().State }, JobDone)
	st := c.Housekeeping().Status()
	if !st.Auto || st.Report == nil || st.Report.ReclaimedBytes == 0 || c.Housekeeping().ReclaimedBytes() != st.Report.ReclaimedBytes {
		t.Fatalf("automatic run %+v", st)
	}
	// The finish event is recorded just after the state changes.
	waitState(t, func() string { return strings.Join(l.actions(), " ") }, "housekeeping.start housekeeping.finish")
}

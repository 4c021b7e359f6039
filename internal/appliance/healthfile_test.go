package appliance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// TestHealthEvents: every change of a part's state is a health.change
// event at the state's level; a repeat, or a part that starts ok, is not.
func TestHealthEvents(t *testing.T) {
	l := &memLedger{}
	h := OpenHealth(HealthOptions{Now: func() time.Time { return testNow }, Events: l})
	steps := []struct {
		state HealthState
		level string // "" no event
	}{
		{OK, ""}, {OK, ""}, {Warning, LevelWarning}, {Warning, ""}, {Degraded, LevelError},
		{Failed, LevelError}, {OK, LevelInfo},
	}
	for i, s := range steps {
		before := len(l.events)
		h.Set(ComponentCapacity, s.state, "why")
		if r := h.Report(); r.State != s.state {
			t.Fatalf("step %d: appliance %s, want %s", i, r.State, s.state)
		}
		switch got := l.events[before:]; {
		case s.level == "" && len(got) != 0:
			t.Fatalf("step %d: unexpected event %+v", i, got)
		case s.level != "" && (len(got) != 1 || got[0].Level != s.level || got[0].Action != ActionHealthChange ||
			got[0].Kind != KindSystem || got[0].Object != ComponentCapacity):
			t.Fatalf("step %d: events %+v, want one at %s", i, got, s.level)
		}
	}
	if got := Warning.Rank(); got != 1 {
		t.Fatalf("warning rank %d", got)
	}
}

// TestHealthPersists: a restart keeps the verify part and its damage, and
// does not announce again a part whose state did not change.
func TestHealthPersists(t *testing.T) {
	dir := t.TempDir()
	l := &memLedger{}
	now := testNow
	opts := HealthOptions{Now: func() time.Time { return now }, Dir: dir, Events: l}
	h := OpenHealth(opts)
	h.SetFor(PartShare+"backup", "nas.backup", Degraded, "metadata damaged")
	dmg := []DamagedItem{{Store: "nas.backup", Item: "4.1", Share: "backup", Path: "/a/b.bin", Name: "share backup: /a/b.bin"}}
	h.SetDamage(2, dmg)
	if _, err := os.Stat(filepath.Join(dir, healthName)); err != nil {
		t.Fatal(err)
	}

	now = now.Add(time.Hour)
	l2 := &memLedger{}
	opts.Events = l2
	h2 := OpenHealth(opts)
	r := h2.Report()
	if r.State != Degraded || len(r.Components) != 1 || r.Components[0].Name != ComponentVerify ||
		!r.Components[0].Since.Equal(testNow) || !strings.Contains(r.Components[0].Reason, "share backup: /a/b.bin") {
		t.Fatalf("after restart %+v", r)
	}
	if len(r.Damage) != 1 || r.Damage[0] != dmg[0] {
		t.Fatalf("damage after restart %+v", r.Damage)
	}
	h2.SetFor(PartShare+"backup", "nas.backup", Degraded, "metadata damaged")
	if len(l2.events) != 0 {
		t.Fatalf("a state that did not change was announced again: %+v", l2.events)
	}
	if p := h2.Report().Components[0]; p.Name != PartShare+"backup" || !p.Since.Equal(testNow) {
		t.Fatalf("share part %+v", p)
	}

	// A file that does not parse is started afresh, not fatal.
	if err := os.WriteFile(filepath.Join(dir, healthName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := OpenHealth(opts).Report(); r.State != OK || len(r.Damage) != 0 {
		t.Fatalf("bad file %+v", r)
	}
}

// damageEngine is a real engine whose verify reports damage in items.
type damageEngine struct {
	*chunkstore.Engine
	damage []chunkstore.Damage
}

func (e *damageEngine) VerifySlice(ctx context.Context, slices int, progress func(chunkstore.VerifyProgress)) (chunkstore.VerifyReport, error) {
	rep, err := e.Engine.VerifySlice(ctx, slices, progress)
	rep.Damage = e.damage
	return rep, err
}

// fileNamer names the items of store nas.backup as files.
type fileNamer map[string]string

func (n fileNamer) NameItem(_ context.Context, store, item string) (ItemName, bool) {
	p, ok := n[store+"/"+item]
	return ItemName{Share: "backup", Path: p}, ok
}

// TestDamageSurvivesRestartUntilDeleted: damage found by a verify is
// named by share path, is still there after a restart, and goes when the
// damaged item is deleted.
func TestDamageSurvivesRestartUntilDeleted(t *testing.T) {
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Capacity, eo.Reserve = 1<<30, 0
	raw, err := chunkstore.Open(ctx, filepath.Join(t.TempDir(), "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.CreateStore("nas.backup", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"4.1", "5.1"} {
		w, err := raw.Create(ctx, "nas.backup", name, chunkstore.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("data of " + name)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eng := &damageEngine{Engine: raw, damage: []chunkstore.Damage{{Container: 1, Problem: "checksum",
		Items: []string{"nas.backup/4.1", "nas.backup/5.1"}}}}
	namer := fileNamer{"nas.backup/4.1": "/dir/four.bin"}
	dir := t.TempDir()
	open := func(l *memLedger) *Core {
		c := NewCore(eng, l, CoreOptions{Now: func() time.Time { return testNow }, HealthDir: dir, Namer: namer,
			HealthTick: time.Hour})
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.Shutdown(sctx)
		})
		return c
	}
	c := open(&memLedger{})
	if err := c.Verify().Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, func() string { return c.Verify().Status().State }, JobDone)
	if got := c.Verify().Status().Damage[0].Names; len(got) != 2 || got[0] != "share backup: /dir/four.bin" ||
		got[1] != "store nas.backup, item 5.1" {
		t.Fatalf("damage table names %v", got)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	l := &memLedger{}
	c = open(l) // the restart
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r := c.Health().Report()
	if r.State != Degraded || len(r.Damage) != 2 || r.Damage[0].Path != "/dir/four.bin" || r.Damage[0].Share != "backup" {
		t.Fatalf("after restart %+v", r)
	}
	if err := raw.Delete(ctx, "nas.backup", "5.1"); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshDamage(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c.Health().Report(); r.State != Degraded || len(r.Damage) != 1 || r.Damage[0].Item != "4.1" {
		t.Fatalf("one deleted %+v", r)
	}
	if err := raw.Delete(ctx, "nas.backup", "4.1"); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshDamage(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c.Health().Report(); r.State != OK || len(r.Damage) != 0 {
		t.Fatalf("all deleted %+v", r)
	}
	if a := strings.Join(l.actions(), " "); a != ActionHealthChange {
		t.Fatalf("events %q", a)
	}
}

package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestMatch(t *testing.T) {
	ev := func(level, kind, action string) appliance.Event {
		return appliance.Event{Level: level, Kind: kind, Action: action}
	}
	for _, c := range []struct {
		name   string
		target appliance.AlertTarget
		e      appliance.Event
		want   bool
	}{
		{"default rule drops info", appliance.AlertTarget{}, ev("info", "system", "store.create"), false},
		{"default rule sends warning", appliance.AlertTarget{}, ev("warning", "system", "health.change"), true},
		{"default rule sends error", appliance.AlertTarget{}, ev("error", "system", "verify.finish"), true},
		{"min error drops warning", appliance.AlertTarget{MinLevel: "error"}, ev("warning", "system", "x"), false},
		{"min info sends info", appliance.AlertTarget{MinLevel: "info"}, ev("info", "audit", "user.create"), true},
		{"kind filter", appliance.AlertTarget{Kinds: []string{"audit"}}, ev("error", "system", "x"), false},
		{"action prefix", appliance.AlertTarget{Actions: []string{"verify.*"}}, ev("error", "system", "verify.finish"), true},
		{"action exact", appliance.AlertTarget{Actions: []string{"verify"}}, ev("error", "system", "verify.finish"), false},
		{"action other", appliance.AlertTarget{Actions: []string{"health.change", "dedup.drop"}}, ev("warning", "system", "dedup.drop"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Match(c.target, c.e); got != c.want {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

// TestNotifyNeverBlocks: with a receiver that hangs, recording goes on at
// once, and a full queue drops its oldest events and counts them.
func TestNotifyNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	st, d := openState(t, Options{Queue: 4}, appliance.AlertTarget{Name: "slow", Type: appliance.AlertWebhook,
		Webhook: &appliance.WebhookTarget{URL: srv.URL, Attempts: 1, TimeoutSeconds: 60}})
	st.Record(appliance.Event{Level: appliance.LevelError, Action: "first", Message: "held by the receiver"})
	waitFor(t, func() bool { return d.Stats().Queued == 0 }) // the worker took it and hangs
	start := time.Now()
	for i := range 10 {
		st.Record(appliance.Event{Level: appliance.LevelError, Action: "verify.finish", Message: fmt.Sprint(i)})
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("recording 10 events took %v with a hanging receiver", el)
	}
	s := d.Stats()
	if s.Queued != 4 || s.Dropped != 6 {
		t.Fatalf("stats %+v, want 4 queued and 6 dropped", s)
	}
	d.mu.Lock()
	oldest := d.queue[0].Message
	d.mu.Unlock()
	if oldest != "6" {
		t.Fatalf("oldest queued event %q, want 6 (the oldest are dropped)", oldest)
	}
}

// TestLoginThreshold: failed logins of one user are info until they
// reach the threshold within the window; a summary counts its number.
func TestLoginThreshold(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := appliance.Settings{Alerts: appliance.Alerts{LoginThreshold: 3}}
	d := New(staticSettings{s}, Options{Now: func() time.Time { return now }})
	failed := func(user, msg string) string {
		return d.classify(appliance.Event{Level: appliance.LevelWarning, Kind: appliance.KindAudit,
			Action: "login.failed", Object: user, Message: msg}).Level
	}
	if l := failed("bob", `smb login of "bob" from 10.0.0.1 failed`); l != "info" {
		t.Fatalf("1st failure: %s", l)
	}
	if l := failed("eve", `smb login of "eve" failed`); l != "info" {
		t.Fatalf("other user: %s", l)
	}
	failed("bob", "again")
	if l := failed("bob", "third"); l != "warning" {
		t.Fatalf("3rd failure: %s, want warning", l)
	}
	now = now.Add(time.Hour)
	if l := failed("bob", "later"); l != "info" {
		t.Fatalf("after the window: %s", l)
	}
	if l := failed("eve", `7 more failed smb logins of "eve" from 10.0.0.2 since ...`); l != "warning" {
		t.Fatalf("summary of 7: %s", l)
	}
	if e := d.classify(appliance.Event{Level: "error", Action: "verify.finish"}); e.Level != "error" {
		t.Fatalf("other events keep their level: %s", e.Level)
	}
}

func TestFormat5424(t *testing.T) {
	m := Message{Appliance: "bs 1", Event: appliance.Event{ID: 9, Time: time.Date(2026, 3, 1, 10, 0, 0, 5000, time.UTC),
		Level: "warning", Kind: "audit", Actor: `ev"il`, Action: "login.failed", Object: "a]b", Message: "line1\nline2"}}
	got := Format5424(4, m, time.Time{})
	want := fmt.Sprintf("<36>1 2026-03-01T10:00:00.000005Z bs_1 backstop %d login.failed "+
		`[backstop@32473 id="9" level="warning" kind="audit" actor="ev\"il" object="a\]b"] `+"\ufeffline1 line2", pid())
	if got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

type fakeItems map[string][]dedup.Item

func (f fakeItems) StoreNames() []string { return []string{"backups"} }
func (f fakeItems) Items(_ context.Context, store string) ([]dedup.Item, error) {
	return f[store], nil
}

type records struct{ evs []appliance.Event }

func (r *records) Record(e appliance.Event) appliance.Event { r.evs = append(r.evs, e); return e }

// TestDropDetector: a week of backups that dedup 10:1, then an hour of
// 2 GiB that does not dedup, alerts once.
func TestDropDetector(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 30, 0, 0, time.UTC)
	var its []dedup.Item
	for h := 1; h < 7*24; h += 6 {
		its = append(its, dedup.Item{Size: 10 << 30, NewBytes: 1 << 30, Modified: now.Add(-time.Duration(h) * time.Hour)})
	}
	items := fakeItems{"backups": its}
	rec := &records{}
	det := NewDropDetector(items, rec, DropOptions{Now: func() time.Time { return now }})
	if _, err := det.Check(context.Background()); err != nil || len(rec.evs) != 0 {
		t.Fatalf("no new backups: %v, %d events", err, len(rec.evs))
	}
	// An ordinary backup in the last hour does not alert.
	items["backups"] = append(its, dedup.Item{Size: 2 << 30, NewBytes: 300 << 20, Modified: now.Add(-10 * time.Minute)})
	if _, err := det.Check(context.Background()); err != nil || len(rec.evs) != 0 {
		t.Fatalf("ordinary backup: %v, %d events", err, len(rec.evs))
	}
	// Encrypted data: 2 GiB that add 2 GiB.
	items["backups"] = append(its, dedup.Item{Size: 2 << 30, NewBytes: 2 << 30, Modified: now.Add(-10 * time.Minute)})
	drops, err := det.Check(context.Background())
	if err != nil || len(rec.evs) != 1 || !drops[0].Alerted {
		t.Fatalf("encrypted data: %v, %d events, %+v", err, len(rec.evs), drops)
	}
	if e := rec.evs[0]; e.Action != "dedup.drop" || e.Level != "warning" || e.Object != "backups" ||
		!strings.Contains(e.Message, "fell to 1.00:1") || !strings.Contains(e.Message, "median is 10.00:1") {
		t.Fatalf("event %+v", e)
	}
	if drops[0].Median != 10 || drops[0].Hours != 28 {
		t.Fatalf("drop %+v", drops[0])
	}
	// Once an hour per store.
	if _, err := det.Check(context.Background()); err != nil || len(rec.evs) != 1 {
		t.Fatalf("second check: %v, %d events", err, len(rec.evs))
	}
	// Less than MinBytes is not enough to tell.
	small := NewDropDetector(fakeItems{"backups": append(its, dedup.Item{Size: 100 << 20, NewBytes: 100 << 20,
		Modified: now.Add(-time.Minute)})}, rec, DropOptions{Now: func() time.Time { return now }})
	if _, err := small.Check(context.Background()); err != nil || len(rec.evs) != 1 {
		t.Fatalf("small write: %v, %d events", err, len(rec.evs))
	}
}

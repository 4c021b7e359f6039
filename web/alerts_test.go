package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/alert"
)

func TestAlerts(t *testing.T) {
	var mu sync.Mutex
	var got []alert.Message
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &m) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer down.Close()
	e := newEnv(t, func(e *env, o *Options) {
		o.Alerts = alert.New(e.state, alert.Options{Hostname: "bs1", RetryBase: time.Millisecond})
	})
	body := `{"targets":[{"name":"hook","type":"webhook","webhook":{"url":"` + hook.URL + `"}},` +
		`{"name":"down","type":"webhook","webhook":{"url":"` + down.URL + `","attempts":1}},` +
		`{"name":"mail","type":"email","min_level":"error","email":{"host":"smtp.example.net","from":"b@example.net","to":["ops@example.net"],"username":"u","password":"pw-secret"}}]}`
	e.run([]check{
		{"get read-only", req{method: "GET", path: "/api/v1/alerts", auth: "ro"}, 403, codeForbidden},
		{"put operator", req{method: "PUT", path: "/api/v1/alerts", auth: "op", body: body}, 403, codeForbidden},
		{"test operator", req{method: "POST", path: "/api/v1/alerts/test", auth: "op", body: `{"name":"hook"}`}, 403, codeForbidden},
		{"put bad url", req{method: "PUT", path: "/api/v1/alerts", auth: "admin", body: `{"targets":[{"name":"x","type":"webhook","webhook":{"url":"ftp://x"}}]}`}, 400, codeInvalid},
		{"put unknown field", req{method: "PUT", path: "/api/v1/alerts", auth: "admin", body: `{"targets":[],"x":1}`}, 400, codeInvalid},
		{"put", req{method: "PUT", path: "/api/v1/alerts", auth: "admin", body: body}, 200, ""},
		{"test unknown", req{method: "POST", path: "/api/v1/alerts/test", auth: "admin", body: `{"name":"nope"}`}, 404, codeNotFound},
		{"test nothing", req{method: "POST", path: "/api/v1/alerts/test", auth: "admin", body: `{}`}, 400, codeInvalid},
	})
	r := e.do(req{method: "GET", path: "/api/v1/alerts", auth: "admin"})
	if strings.Contains(string(r.body), "pw-secret") || !strings.Contains(string(r.body), `"password_set":true`) {
		t.Fatalf("GET shows the password or not that it is set: %s", r.body)
	}
	if r := e.do(req{method: "GET", path: "/api/v1/settings", auth: "ro"}); strings.Contains(string(r.body), "alerts") {
		t.Fatalf("GET /settings shows alerts: %s", r.body)
	}
	// Saving what GET gave (without the password) keeps the password.
	var v struct {
		Targets []map[string]any `json:"targets"`
	}
	r.decode(t, &v)
	e.run([]check{{"put back", req{method: "PUT", path: "/api/v1/alerts", auth: "admin", body: v}, 200, ""}})
	if a := e.state.Settings().Alerts; len(a.Targets) != 3 || a.Targets[2].Email.Password != "pw-secret" {
		t.Fatalf("after saving back: %+v", a.Targets)
	}
	// The test message of a saved target arrives, and one of a failing
	// target reports why.
	var res alertTestResult
	e.do(req{method: "POST", path: "/api/v1/alerts/test", auth: "admin", body: `{"name":"hook"}`}).decode(t, &res)
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if !res.Delivered || n != 1 || !got[0].Test || got[0].Event.Action != "alert.test" {
		t.Fatalf("test of hook: %+v, %d received", res, n)
	}
	e.do(req{method: "POST", path: "/api/v1/alerts/test", auth: "admin", body: `{"name":"down"}`}).decode(t, &res)
	if res.Delivered || !strings.Contains(res.Error, "403") {
		t.Fatalf("test of down: %+v", res)
	}
	found := false
	for _, ev := range e.state.Events(0, 1000, "audit") {
		found = found || ev.Action == "alerts.update" && ev.Actor == "admin"
	}
	m := e.do(req{method: "GET", path: "/metrics"})
	if !strings.Contains(string(m.body), `backstop_alerts_total{result="dropped"} 0`) || !strings.Contains(string(m.body), "backstop_alerts_queued 0") {
		t.Errorf("/metrics has no alert counters:\n%s", m.body)
	}
	if !found {
		t.Error("no audit event for the alerts change")
	}
}

// TestVerifyDamageAlerts: damage a verify finds reaches a webhook target
// with the default rule, through the dispatcher subscribed to the state.
func TestVerifyDamageAlerts(t *testing.T) {
	got := make(chan alert.Message, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		if json.NewDecoder(r.Body).Decode(&m) == nil {
			got <- m
		}
	}))
	defer hook.Close()
	e := newEnv(t, func(e *env, o *Options) {
		d := alert.New(e.state, alert.Options{Hostname: "bs1"})
		e.state.Subscribe(d.Notify)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		o.Alerts = d
	})
	e.run([]check{{"put", req{method: "PUT", path: "/api/v1/alerts", auth: "admin",
		body: `{"targets":[{"name":"hook","type":"webhook","webhook":{"url":"` + hook.URL + `"}}]}`}, 200, ""}})
	e.write("default", "precious", randomData(7, 256<<10))
	vol := filepath.Join(e.dir, "data", "volumes", "0000.vol")
	f, err := os.OpenFile(vol, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a}, 64), 100<<10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e.run([]check{{"verify", req{method: "POST", path: "/api/v1/verify", auth: "admin"}, 202, ""}})
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-got:
			if m.Event.Action != "verify.finish" {
				continue // health changes and the like alert too
			}
			if m.Event.Level != "error" || !strings.Contains(m.Event.Message, "store default, item precious") {
				t.Fatalf("verify alert %+v", m.Event)
			}
			return
		case <-timeout:
			t.Fatal("no verify.finish alert within 30 s")
		}
	}
}

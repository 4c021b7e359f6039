package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
	if !found {
		t.Error("no audit event for the alerts change")
	}
}

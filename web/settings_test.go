package web

import (
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestSettings(t *testing.T) {
	e := newEnv(t)
	good := `{"blackout":[{"days":[1,2],"start":"22:00","end":"06:00"}]}`
	e.run([]check{
		{"get no token", req{method: "GET", path: "/api/v1/settings"}, 401, codeUnauthenticated},
		{"get read-only", req{method: "GET", path: "/api/v1/settings", auth: "ro"}, 200, ""},
		{"put operator", req{method: "PUT", path: "/api/v1/settings", auth: "op", body: good}, 403, codeForbidden},
		{"put no token", req{method: "PUT", path: "/api/v1/settings", body: good}, 401, codeUnauthenticated},
		{"put", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: good}, 200, ""},
		{"put malformed", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[`}, 400, codeInvalid},
		{"put unknown field", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[],"x":1}`}, 400, codeInvalid},
		{"put unknown window field", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[{"start":"01:00","end":"02:00","tz":"UTC"}]}`}, 400, codeInvalid},
		{"put bad time", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[{"start":"25:00","end":"02:00"}]}`}, 400, codeInvalid},
		{"put bad day", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[{"days":[9],"start":"01:00","end":"02:00"}]}`}, 400, codeInvalid},
		{"put wrong type", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":"always"}`}, 400, codeInvalid},
	})
	var st appliance.Settings
	e.do(req{method: "GET", path: "/api/v1/settings", auth: "ro"}).decode(t, &st)
	if len(st.Blackout) != 1 || st.Blackout[0].Start != "22:00" || len(st.Blackout[0].Days) != 2 {
		t.Fatalf("settings %+v", st)
	}
	e.run([]check{{"clear", req{method: "PUT", path: "/api/v1/settings", auth: "admin", body: `{"blackout":[],"housekeeping":{"auto":true,"interval_minutes":60}}`}, 200, ""}})
	if r := e.do(req{method: "GET", path: "/api/v1/settings", auth: "ro"}); string(r.body) != `{"blackout":[],"housekeeping":{"auto":true,"interval_minutes":60}}` {
		t.Fatalf("cleared settings %s", r.body)
	}
	found := false
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		found = found || ev.Actor == "admin" && ev.Action == "settings.update"
	}
	if !found {
		t.Error("no audit event for the settings change")
	}
}

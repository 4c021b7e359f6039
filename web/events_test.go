package web

import (
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestEvents(t *testing.T) {
	e := newEnv(t)
	e.token("admin") // records a login audit event
	e.state.Record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindSystem, Action: "test.system", Message: "hello"})
	e.run([]check{
		{"no token", req{method: "GET", path: "/api/v1/events"}, 401, codeUnauthenticated},
		{"read-only audit", req{method: "GET", path: "/api/v1/events?kind=audit", auth: "ro"}, 403, codeForbidden},
		{"operator audit", req{method: "GET", path: "/api/v1/events?kind=audit", auth: "op"}, 403, codeForbidden},
		{"admin audit", req{method: "GET", path: "/api/v1/events?kind=audit", auth: "admin"}, 200, ""},
		{"bad kind", req{method: "GET", path: "/api/v1/events?kind=secret", auth: "admin"}, 400, codeInvalid},
		{"bad after", req{method: "GET", path: "/api/v1/events?after=x", auth: "admin"}, 400, codeInvalid},
		{"negative after", req{method: "GET", path: "/api/v1/events?after=-1", auth: "admin"}, 400, codeInvalid},
		{"bad limit", req{method: "GET", path: "/api/v1/events?limit=0", auth: "admin"}, 400, codeInvalid},
		{"big limit", req{method: "GET", path: "/api/v1/events?limit=5000", auth: "admin"}, 400, codeInvalid},
	})
	kinds := func(user, query string) map[string]int {
		var evs []appliance.Event
		e.do(req{method: "GET", path: "/api/v1/events" + query, auth: user}).decode(t, &evs)
		out := map[string]int{}
		for _, ev := range evs {
			out[ev.Kind]++
		}
		return out
	}
	if k := kinds("ro", ""); k[appliance.KindAudit] != 0 || k[appliance.KindSystem] != 1 {
		t.Fatalf("read-only sees %v", k)
	}
	if k := kinds("admin", ""); k[appliance.KindAudit] == 0 || k[appliance.KindSystem] != 1 {
		t.Fatalf("admin sees %v", k)
	}
	var evs []appliance.Event
	e.do(req{method: "GET", path: "/api/v1/events?limit=1", auth: "admin"}).decode(t, &evs)
	if len(evs) != 1 {
		t.Fatalf("limit 1: %d events", len(evs))
	}
	var rest []appliance.Event
	e.do(req{method: "GET", path: "/api/v1/events?after=" + itoa(evs[0].ID), auth: "admin"}).decode(t, &rest)
	if len(rest) == 0 || rest[0].ID <= evs[0].ID {
		t.Fatalf("after %d: %+v", evs[0].ID, rest)
	}
	if r := e.do(req{method: "GET", path: "/api/v1/events?after=100000", auth: "ro"}); string(r.body) != "[]" {
		t.Fatalf("no events: %s", r.body)
	}
}

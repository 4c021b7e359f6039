package web

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestStores(t *testing.T) {
	e := newEnv(t)
	e.write("default", "a", bytes.Repeat([]byte("stores "), 1<<14))
	store := func(name string) any { return map[string]string{"name": name} }
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/stores"}, 401, codeUnauthenticated},
		{"list read-only", req{method: "GET", path: "/api/v1/stores", auth: "ro"}, 200, ""},
		{"create", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("s1")}, 201, ""},
		{"create in domain", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"s2","domain":"default"}`}, 201, ""},
		{"create unknown domain", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"s3","domain":"tenant9"}`}, 404, codeNotFound},
		{"create bad domain name", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"s3","domain":"../d"}`}, 400, codeInvalid},
		{"create duplicate", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("s1")}, 409, codeConflict},
		{"create read-only", req{method: "POST", path: "/api/v1/stores", auth: "ro", body: store("s4")}, 403, codeForbidden},
		{"create no token", req{method: "POST", path: "/api/v1/stores", body: store("s4")}, 401, codeUnauthenticated},
		{"create malformed", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":`}, 400, codeInvalid},
		{"create unknown field", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"s4","size":1}`}, 400, codeInvalid},
		{"create oversized", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"` + strings.Repeat("x", 1<<20) + `"}`}, 400, codeInvalid},
		{"create ../x", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("../x")}, 400, codeInvalid},
		{"create a b", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("a b")}, 400, codeInvalid},
		{"create 200 chars", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store(strings.Repeat("s", 200))}, 400, codeInvalid},
		{"create unicode", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("sträm")}, 400, codeInvalid},
		{"create empty", req{method: "POST", path: "/api/v1/stores", auth: "op", body: store("")}, 400, codeInvalid},
		{"get", req{method: "GET", path: "/api/v1/stores/s1", auth: "ro"}, 200, ""},
		{"get no token", req{method: "GET", path: "/api/v1/stores/s1"}, 401, codeUnauthenticated},
		{"get unknown", req{method: "GET", path: "/api/v1/stores/nope", auth: "ro"}, 404, codeNotFound},
		{"get odd", req{method: "GET", path: "/api/v1/stores/a%20b", auth: "ro"}, 400, codeInvalid},
		{"get dotdot", req{method: "GET", path: "/api/v1/stores/..%2Fx", auth: "ro"}, 400, codeInvalid},
		{"get long", req{method: "GET", path: "/api/v1/stores/" + strings.Repeat("s", 200), auth: "ro"}, 400, codeInvalid},
		{"delete by operator", req{method: "DELETE", path: "/api/v1/stores/s1", auth: "op"}, 403, codeForbidden},
		{"delete no token", req{method: "DELETE", path: "/api/v1/stores/s1"}, 401, codeUnauthenticated},
		{"delete not empty", req{method: "DELETE", path: "/api/v1/stores/default", auth: "admin"}, 409, codeConflict},
		{"delete unknown", req{method: "DELETE", path: "/api/v1/stores/nope", auth: "admin"}, 404, codeNotFound},
		{"delete odd", req{method: "DELETE", path: "/api/v1/stores/a%20b", auth: "admin"}, 400, codeInvalid},
		{"delete", req{method: "DELETE", path: "/api/v1/stores/s1", auth: "admin"}, 204, ""},
		{"get deleted", req{method: "GET", path: "/api/v1/stores/s1", auth: "ro"}, 404, codeNotFound},
	})
	var list []storeView
	e.do(req{method: "GET", path: "/api/v1/stores", auth: "ro"}).decode(t, &list)
	if len(list) != 2 || list[0].Name != "default" || list[0].Items != 1 || list[0].LogicalBytes != 7<<14 ||
		list[0].StoredBytes <= 0 || list[0].DedupRatio <= 1 || list[0].Domain != "default" || list[0].Created.IsZero() ||
		list[1].Name != "s2" || list[1].Items != 0 {
		t.Fatalf("stores %+v", list)
	}
	var one storeView
	e.do(req{method: "GET", path: "/api/v1/stores/default", auth: "ro"}).decode(t, &one)
	if !reflect.DeepEqual(one, list[0]) {
		t.Fatalf("store %+v, in list %+v", one, list[0])
	}
	audit := map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		audit[ev.Actor+" "+ev.Action+" "+ev.Object] = true
	}
	for _, want := range []string{"op store.create s1", "admin store.delete s1"} {
		if !audit[want] {
			t.Errorf("no audit event %q in %v", want, audit)
		}
	}
}

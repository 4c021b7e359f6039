package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestUsers(t *testing.T) {
	e := newEnv(t)
	newUser := func(name, role, pw string) any {
		return map[string]string{"name": name, "role": role, "password": pw}
	}
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/users"}, 401, codeUnauthenticated},
		{"list operator", req{method: "GET", path: "/api/v1/users", auth: "op"}, 403, codeForbidden},
		{"list read-only", req{method: "GET", path: "/api/v1/users", auth: "ro"}, 403, codeForbidden},
		{"list admin", req{method: "GET", path: "/api/v1/users", auth: "admin"}, 200, ""},
		{"create", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("bob", "operator", testPassword)}, 201, ""},
		{"create duplicate", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("bob", "operator", testPassword)}, 409, codeConflict},
		{"create by operator", req{method: "POST", path: "/api/v1/users", auth: "op", body: newUser("eve", "admin", testPassword)}, 403, codeForbidden},
		{"create no token", req{method: "POST", path: "/api/v1/users", body: newUser("eve", "admin", testPassword)}, 401, codeUnauthenticated},
		{"create bad role", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("carl", "root", testPassword)}, 400, codeInvalid},
		{"create short password", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("carl", "operator", "short")}, 400, codeInvalid},
		{"create malformed", req{method: "POST", path: "/api/v1/users", auth: "admin", body: `{"name":"carl",`}, 400, codeInvalid},
		{"create unknown field", req{method: "POST", path: "/api/v1/users", auth: "admin", body: `{"name":"carl","role":"admin","password":"xxxxxxxxx","hash":"x"}`}, 400, codeInvalid},
		{"create name ../x", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("../x", "operator", testPassword)}, 400, codeInvalid},
		{"create name a b", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("a b", "operator", testPassword)}, 400, codeInvalid},
		{"create name 200 chars", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser(strings.Repeat("a", 200), "operator", testPassword)}, 400, codeInvalid},
		{"create name unicode", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("jürgen", "operator", testPassword)}, 400, codeInvalid},
		{"create name empty", req{method: "POST", path: "/api/v1/users", auth: "admin", body: newUser("", "operator", testPassword)}, 400, codeInvalid},
		{"get", req{method: "GET", path: "/api/v1/users/bob", auth: "admin"}, 200, ""},
		{"get self", req{method: "GET", path: "/api/v1/users/ro", auth: "ro"}, 200, ""},
		{"get other", req{method: "GET", path: "/api/v1/users/bob", auth: "ro"}, 403, codeForbidden},
		{"get unknown", req{method: "GET", path: "/api/v1/users/nobody", auth: "admin"}, 404, codeNotFound},
		{"get odd name", req{method: "GET", path: "/api/v1/users/a%20b", auth: "admin"}, 400, codeInvalid},
		{"get long name", req{method: "GET", path: "/api/v1/users/" + strings.Repeat("a", 200), auth: "admin"}, 400, codeInvalid},
		{"get unicode name", req{method: "GET", path: "/api/v1/users/j%C3%BCrgen", auth: "admin"}, 400, codeInvalid},
		{"get no token", req{method: "GET", path: "/api/v1/users/bob"}, 401, codeUnauthenticated},
		{"patch role", req{method: "PATCH", path: "/api/v1/users/bob", auth: "admin", body: `{"role":"read-only"}`}, 200, ""},
		{"patch bad role", req{method: "PATCH", path: "/api/v1/users/bob", auth: "admin", body: `{"role":"god"}`}, 400, codeInvalid},
		{"patch nothing", req{method: "PATCH", path: "/api/v1/users/bob", auth: "admin", body: `{}`}, 400, codeInvalid},
		{"patch unknown field", req{method: "PATCH", path: "/api/v1/users/bob", auth: "admin", body: `{"name":"x"}`}, 400, codeInvalid},
		{"patch unknown user", req{method: "PATCH", path: "/api/v1/users/nobody", auth: "admin", body: `{"role":"operator"}`}, 404, codeNotFound},
		{"patch own role", req{method: "PATCH", path: "/api/v1/users/op", auth: "op", body: `{"role":"admin"}`}, 403, codeForbidden},
		{"patch other's password", req{method: "PATCH", path: "/api/v1/users/bob", auth: "op", body: `{"password":"new password"}`}, 403, codeForbidden},
		{"patch short password", req{method: "PATCH", path: "/api/v1/users/op", auth: "op", body: `{"password":"short"}`}, 400, codeInvalid},
		{"patch own password", req{method: "PATCH", path: "/api/v1/users/ro", auth: "ro", body: `{"password":"` + testPassword + `"}`}, 200, ""},
		{"demote last admin", req{method: "PATCH", path: "/api/v1/users/admin", auth: "admin", body: `{"role":"operator"}`}, 409, codeConflict},
		{"delete by operator", req{method: "DELETE", path: "/api/v1/users/bob", auth: "op"}, 403, codeForbidden},
		{"delete last admin", req{method: "DELETE", path: "/api/v1/users/admin", auth: "admin"}, 409, codeConflict},
		{"delete unknown", req{method: "DELETE", path: "/api/v1/users/nobody", auth: "admin"}, 404, codeNotFound},
		{"delete odd name", req{method: "DELETE", path: "/api/v1/users/..%2Fx", auth: "admin"}, 400, codeInvalid},
		{"delete", req{method: "DELETE", path: "/api/v1/users/bob", auth: "admin"}, 204, ""},
		{"get deleted", req{method: "GET", path: "/api/v1/users/bob", auth: "admin"}, 404, codeNotFound},
	})

	var users []map[string]any
	e.do(req{method: "GET", path: "/api/v1/users", auth: "admin"}).decode(t, &users)
	if len(users) != 3 {
		t.Fatalf("users %v", users)
	}
	for _, u := range users {
		for k := range u {
			if k != "name" && k != "role" && k != "created" && k != "modified" {
				t.Fatalf("user has field %q: %v", k, u)
			}
		}
	}
	audit := map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		if ev.Actor != "" {
			audit[ev.Action+" "+ev.Object] = true
		}
	}
	for _, want := range []string{"user.create bob", "user.role bob", "user.password ro", "user.delete bob"} {
		if !audit[want] {
			t.Errorf("no audit event %q in %v", want, audit)
		}
	}
}

func TestUserSessionsEnd(t *testing.T) {
	e := newEnv(t)
	if _, err := e.state.CreateUser("bob", appliance.RoleOperator, testPassword); err != nil {
		t.Fatal(err)
	}
	bob := e.token("bob")
	t.Run("role change applies at once", func(t *testing.T) {
		if r := e.do(req{method: "PATCH", path: "/api/v1/users/bob", auth: "admin", body: `{"role":"read-only"}`}); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := e.do(req{method: "POST", path: "/api/v1/stores", auth: "token:" + bob, body: `{"name":"x"}`}); r.status != 403 {
			t.Fatalf("demoted user created a store: %d", r.status)
		}
	})
	t.Run("password change ends other sessions", func(t *testing.T) {
		other := e.token("ro")
		delete(e.tokens, "ro")
		if r := e.do(req{method: "PATCH", path: "/api/v1/users/ro", auth: "ro", body: `{"password":"another password"}`}); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + other}); r.status != 401 {
			t.Fatalf("old session: %d", r.status)
		}
		if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"}); r.status != 200 {
			t.Fatalf("the caller's own session: %d", r.status)
		}
	})
	t.Run("delete ends sessions", func(t *testing.T) {
		if r := e.do(req{method: "DELETE", path: "/api/v1/users/bob", auth: "admin"}); r.status != http.StatusNoContent {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + bob}); r.status != 401 {
			t.Fatalf("deleted user's session: %d", r.status)
		}
	})
}

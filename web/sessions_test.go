package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	login := func(user, pw string) req {
		return req{method: "POST", path: "/api/v1/sessions", body: loginRequest{Username: user, Password: pw}}
	}
	e.run([]check{
		{"good", login("op", testPassword), 201, ""},
		{"wrong password", login("op", "wrong password"), 401, codeUnauthenticated},
		{"unknown user", login("nobody", testPassword), 401, codeUnauthenticated},
		{"empty", login("", ""), 400, codeInvalid},
		{"malformed JSON", req{method: "POST", path: "/api/v1/sessions", body: `{"username":`}, 400, codeInvalid},
		{"unknown field", req{method: "POST", path: "/api/v1/sessions", body: `{"username":"op","password":"x","otp":1}`}, 400, codeInvalid},
		{"trailing data", req{method: "POST", path: "/api/v1/sessions", body: `{"username":"op","password":"x"} {}`}, 400, codeInvalid},
		{"oversized", req{method: "POST", path: "/api/v1/sessions", body: `{"username":"` + strings.Repeat("a", 2<<20) + `"}`}, 400, codeInvalid},
		{"no body", req{method: "POST", path: "/api/v1/sessions"}, 400, codeInvalid},
	})

	r := e.do(login("admin", testPassword))
	var s sessionResponse
	r.decode(t, &s)
	if s.Token == "" || s.CSRFToken == "" || s.User.Name != "admin" || s.User.Role != appliance.RoleAdmin ||
		!s.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("session %+v", s)
	}
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == cookieName {
			ck = c
		}
	}
	if ck == nil || ck.Value != s.Token || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("cookie %+v", ck)
	}
	events := e.state.Events(0, 100, appliance.KindAudit)
	var ok, failed bool
	for _, ev := range events {
		ok = ok || ev.Action == "login" && ev.Actor == "admin"
		failed = failed || ev.Action == "login.failed" && ev.Actor == "nobody"
	}
	if !ok || !failed {
		t.Fatalf("login events missing: %+v", events)
	}
}

func TestSessionCurrentAndLogout(t *testing.T) {
	e := newEnv(t)
	tok := e.token("op")
	e.run([]check{
		{"current no token", req{method: "GET", path: "/api/v1/sessions/current"}, 401, codeUnauthenticated},
		{"current", req{method: "GET", path: "/api/v1/sessions/current", auth: "op"}, 200, ""},
		{"logout no token", req{method: "DELETE", path: "/api/v1/sessions/current"}, 401, codeUnauthenticated},
		{"logout", req{method: "DELETE", path: "/api/v1/sessions/current", auth: "op"}, 204, ""},
		{"after logout", req{method: "GET", path: "/api/v1/sessions/current", auth: "token:" + tok}, 401, codeUnauthenticated},
	})
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	cur := func(user string) int {
		return e.do(req{method: "GET", path: "/api/v1/sessions/current", auth: user}).status
	}
	t.Run("idle 16 minutes", func(t *testing.T) {
		e.token("ro")
		e.clock.Advance(14 * time.Minute)
		if got := cur("ro"); got != 200 {
			t.Fatalf("after 14 min: %d", got)
		}
		e.clock.Advance(14 * time.Minute) // 14 min since last use
		if got := cur("ro"); got != 200 {
			t.Fatalf("14 min after use: %d", got)
		}
		e.clock.Advance(16 * time.Minute)
		if got := cur("ro"); got != 401 {
			t.Fatalf("16 min idle: %d", got)
		}
	})
	t.Run("25 hours with activity", func(t *testing.T) {
		e.token("op")
		for range 24*6 - 1 { // 23h50

			e.clock.Advance(10 * time.Minute)
			if got := cur("op"); got != 200 {
				t.Fatalf("at %s: %d", e.clock.Now(), got)
			}
		}
		e.clock.Advance(9 * time.Minute)
		if got := cur("op"); got != 200 {
			t.Fatalf("23h59: %d", got)
		}
		e.clock.Advance(10 * time.Minute) // 24h09, used 10 minutes ago
		if got := cur("op"); got != 401 {
			t.Fatalf("after 24h: %d", got)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.cookieClient()
	post := func(path, body, csrf string) *http.Response {
		hr, err := http.NewRequest("POST", e.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if csrf != "" {
			hr.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp, err := c.Post(e.base+"/api/v1/sessions", "application/json",
		strings.NewReader(`{"username":"op","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var s sessionResponse
	r := response{status: resp.StatusCode}
	r.body = readAll(t, resp)
	r.decode(t, &s)
	// A cookie GET needs no CSRF header.
	if resp, err := c.Get(e.base + "/api/v1/sessions/current"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cookie GET: %v %v", resp, err)
	}
	for _, tc := range []struct {
		name, csrf string
		status     int
	}{
		{"no header", "", 403},
		{"wrong header", "nope", 403},
		{"right header", s.CSRFToken, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post("/api/v1/stores", `{"name":"csrf-`+strconv.Itoa(tc.status)+`"}`, tc.csrf)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	t.Run("bearer needs no header", func(t *testing.T) {
		r := e.do(req{method: "POST", path: "/api/v1/stores", auth: "token:" + s.Token, body: `{"name":"bearer"}`})
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("logout clears the cookie", func(t *testing.T) {
		hr, _ := http.NewRequest("DELETE", e.base+"/api/v1/sessions/current", nil)
		hr.Header.Set("X-CSRF-Token", s.CSRFToken)
		resp, err := c.Do(hr)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("logout %v %v", resp, err)
		}
		if resp, _ := c.Get(e.base + "/api/v1/sessions/current"); resp.StatusCode != 401 {
			t.Fatalf("after logout %d", resp.StatusCode)
		}
	})
}

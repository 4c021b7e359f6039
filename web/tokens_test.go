package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// newToken creates a token as auth and returns it with its secret.
func (e *env) newToken(auth string, body map[string]any) tokenView {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/api/v1/tokens", auth: auth, body: body})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create token %v as %s: %d %s", body, auth, r.status, r.body)
	}
	var v tokenView
	r.decode(e.t, &v)
	if v.Secret == "" {
		e.t.Fatalf("no secret in %s", r.body)
	}
	return v
}

func TestTokenUse(t *testing.T) {
	e := newEnv(t)
	tok := e.newToken("op", map[string]any{"name": "backup script"})
	if tok.Role != appliance.RoleOperator || tok.Owner != "op" || tok.ExpiresAt != nil {
		t.Fatalf("token %+v: want op's, operator, no expiry", tok)
	}
	auth := "token:" + tok.Secret
	r := e.do(req{method: "GET", path: "/api/v1/sessions/current", auth: auth})
	var cur sessionResponse
	r.decode(t, &cur)
	if r.status != http.StatusOK || cur.User.Name != "op" || cur.User.Role != appliance.RoleOperator {
		t.Fatalf("current with a token: %d %s", r.status, r.body)
	}
	// A change made with the token is audited as the owner, naming the token.
	if r := e.do(req{method: "POST", path: "/api/v1/stores", auth: auth, body: map[string]any{"name": "nightly"}}); r.status != http.StatusCreated {
		t.Fatalf("create store with a token: %d %s", r.status, r.body)
	}
	r = e.do(req{method: "GET", path: "/api/v1/events?kind=audit", auth: "admin"})
	var evs []appliance.Event
	r.decode(t, &evs)
	found := false
	for _, ev := range evs {
		if ev.Action == "store.create" && ev.Actor == "op" && strings.Contains(ev.Message, `API token "backup script"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit event of op with the token's name in %s", r.body)
	}
	// The list never shows a secret.
	r = e.do(req{method: "GET", path: "/api/v1/tokens", auth: "op"})
	if r.status != http.StatusOK || strings.Contains(string(r.body), tok.Secret) || !strings.Contains(string(r.body), tok.ID) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	// A token cannot end "its session", nor change its owner's password.
	if r := e.do(req{method: "PATCH", path: "/api/v1/users/op", auth: auth, body: map[string]any{"password": "another password"}}); r.status != http.StatusForbidden {
		t.Errorf("password change with a token: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/sessions/current", auth: auth}); r.status != http.StatusBadRequest {
		t.Errorf("logout with a token: %d %s", r.status, r.body)
	}
}

func TestTokenRoleRules(t *testing.T) {
	e := newEnv(t)
	// An operator cannot make an admin token.
	if r := e.do(req{method: "POST", path: "/api/v1/tokens", auth: "op", body: map[string]any{"name": "x", "role": "admin"}}); r.status != http.StatusForbidden {
		t.Errorf("operator making an admin token: %d %s", r.status, r.body)
	}
	ro := e.newToken("admin", map[string]any{"name": "monitoring", "role": "read-only"})
	auth := "token:" + ro.Secret
	// A read-only token of an admin reads, but changes nothing.
	if r := e.do(req{method: "GET", path: "/api/v1/status", auth: auth}); r.status != http.StatusOK {
		t.Errorf("read with a read-only token: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "POST", path: "/api/v1/stores", auth: auth, body: map[string]any{"name": "x"}}); r.status != http.StatusForbidden {
		t.Errorf("write with a read-only token: %d %s", r.status, r.body)
	}
	// A token cannot make a token of a higher role than its own.
	for _, role := range []string{"operator", "admin", ""} {
		body := map[string]any{"name": "escalate " + role}
		if role != "" {
			body["role"] = role
		}
		r := e.do(req{method: "POST", path: "/api/v1/tokens", auth: auth, body: body})
		if role == "" {
			var v tokenView
			r.decode(t, &v)
			if r.status != http.StatusCreated || v.Role != appliance.RoleReadOnly {
				t.Errorf("token made by a read-only token without a role: %d %s", r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusForbidden {
			t.Errorf("read-only token making a %s token: %d %s", role, r.status, r.body)
		}
	}
}

func TestTokenRevokeExpire(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.Now().Add(time.Hour)
	short := e.newToken("op", map[string]any{"name": "short", "expires_at": exp})
	opTok := e.newToken("op", map[string]any{"name": "long"})
	adminTok := e.newToken("admin", map[string]any{"name": "admin one"})

	// Only admins list everyone's; another user's token is not found to op.
	if r := e.do(req{method: "GET", path: "/api/v1/tokens?all=true", auth: "op"}); r.status != http.StatusForbidden {
		t.Errorf("op listing all tokens: %d", r.status)
	}
	r := e.do(req{method: "GET", path: "/api/v1/tokens?all=true", auth: "admin"})
	var all []tokenView
	r.decode(t, &all)
	if len(all) != 3 {
		t.Errorf("admin lists %d tokens, want 3: %s", len(all), r.body)
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/tokens/" + adminTok.ID, auth: "op"}); r.status != http.StatusNotFound {
		t.Errorf("op revoking admin's token: %d %s", r.status, r.body)
	}
	// Revoked: 401 at once.
	if r := e.do(req{method: "DELETE", path: "/api/v1/tokens/" + opTok.ID, auth: "admin"}); r.status != http.StatusNoContent {
		t.Fatalf("admin revoking op's token: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + opTok.Secret}); r.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d %s", r.status, r.body)
	}
	// Expired: 401.
	if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + short.Secret}); r.status != http.StatusOK {
		t.Errorf("token before expiry: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Hour)
	if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + short.Secret}); r.status != http.StatusUnauthorized {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
	// A made-up token with a real id: 401.
	if r := e.do(req{method: "GET", path: "/api/v1/status", auth: "token:" + appliance.TokenPrefix + adminTok.ID + "_forged"}); r.status != http.StatusUnauthorized {
		t.Errorf("forged token: %d %s", r.status, r.body)
	}
}

func TestTokenLimit(t *testing.T) {
	e := newEnv(t)
	for i := range appliance.MaxTokensPerUser {
		e.newToken("ro", map[string]any{"name": fmt.Sprintf("t%d", i)})
	}
	r := e.do(req{method: "POST", path: "/api/v1/tokens", auth: "ro", body: map[string]any{"name": "one more"}})
	if r.status != http.StatusConflict {
		t.Fatalf("token over the limit: %d %s", r.status, r.body)
	}
	// Paginated like every list.
	r = e.do(req{method: "GET", path: "/api/v1/tokens?limit=10", auth: "ro"})
	var page []tokenView
	r.decode(t, &page)
	next := r.header.Get("X-Next-After")
	if len(page) != 10 || next != page[9].ID || !strings.Contains(r.header.Get("Link"), `rel="next"`) {
		t.Fatalf("first page: %d entries, next %q, link %q", len(page), next, r.header.Get("Link"))
	}
	r = e.do(req{method: "GET", path: "/api/v1/tokens?limit=10&after=" + next, auth: "ro"})
	var rest []tokenView
	r.decode(t, &rest)
	if len(rest) != appliance.MaxTokensPerUser-10 || r.header.Get("Link") != "" {
		t.Fatalf("second page: %d entries, link %q", len(rest), r.header.Get("Link"))
	}
}

func TestTokenMetrics(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.MetricsToken = "s3cret-metrics-token" }))
	tok := e.newToken("admin", map[string]any{"name": "prometheus"})
	ro := e.newToken("admin", map[string]any{"name": "read-only", "role": "read-only"})
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"token:s3cret-metrics-token", http.StatusOK},
		{"token:" + tok.Secret, http.StatusOK},
		{"token:" + ro.Secret, http.StatusForbidden}, // appliance-wide figures: an admin's
		{"token:" + tok.Secret + "x", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		if r := e.do(req{method: "GET", path: "/metrics", auth: tc.auth}); r.status != tc.want {
			t.Errorf("/metrics with %q: %d, want %d", tc.auth, r.status, tc.want)
		}
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/tokens/" + tok.ID, auth: "admin"}); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "GET", path: "/metrics", auth: "token:" + tok.Secret}); r.status != http.StatusUnauthorized {
		t.Errorf("/metrics with a revoked token: %d", r.status)
	}
}

// TestListsPaginated checks that the other lists page the same way.
func TestListsPaginated(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"a1", "b2", "c3"} {
		if r := e.do(req{method: "POST", path: "/api/v1/stores", auth: "admin", body: map[string]any{"name": name}}); r.status != http.StatusCreated {
			t.Fatalf("create store: %d %s", r.status, r.body)
		}
	}
	for path, want := range map[string]int{"/api/v1/users": 3, "/api/v1/stores": 4} { // and the default store
		var names []string
		after := ""
		for range 5 {
			r := e.do(req{method: "GET", path: path + "?limit=2&after=" + after, auth: "admin"})
			var page []struct {
				Name string `json:"name"`
			}
			r.decode(t, &page)
			for _, p := range page {
				names = append(names, p.Name)
			}
			if after = r.header.Get("X-Next-After"); after == "" {
				break
			}
		}
		if len(names) != want || !slices.IsSorted(names) {
			t.Errorf("%s in pages of 2: %v, want %d names in order", path, names, want)
		}
	}
	if r := e.do(req{method: "GET", path: "/api/v1/users?limit=0", auth: "admin"}); r.status != http.StatusBadRequest {
		t.Errorf("limit=0: %d", r.status)
	}
}

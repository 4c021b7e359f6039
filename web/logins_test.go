package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// countingState counts password checks; each takes a while, as argon2id
// does, so that concurrent attempts overlap.
type countingState struct {
	*appliance.State
	checks atomic.Int64
}

func (s *countingState) Authenticate(name, password string) (appliance.User, error) {
	s.checks.Add(1)
	time.Sleep(20 * time.Millisecond)
	return s.State.Authenticate(name, password)
}

// withCountingState serves the state through a countingState.
func withCountingState(cs **countingState) envOption {
	return func(e *env, _ *Options) {
		*cs = &countingState{State: e.state}
		e.stAPI = *cs
	}
}

// clientFrom is a client of the env's server whose connections come from
// the loopback address local (127.0.0.0/8 is all loopback on Linux).
func (e *env) clientFrom(local string) *http.Client {
	tr := e.client.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	tr.DialContext = d.DialContext
	tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func postLogin(t *testing.T, c *http.Client, base string, body []byte) (int, http.Header) {
	t.Helper()
	r, err := c.Post(base+"/api/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	r.Body.Close()
	return r.StatusCode, r.Header
}

func loginBody(user, pw string) []byte {
	b, _ := json.Marshal(loginRequest{Username: user, Password: pw})
	return b
}

func TestConcurrentWrongLoginsCannotLockOut(t *testing.T) {
	var cs *countingState
	e := newEnv(t, withCountingState(&cs))
	attacker := e.clientFrom("127.0.0.2")
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, h := postLogin(t, attacker, e.base, loginBody("admin", "wrong password"))
			if st == http.StatusTooManyRequests && h.Get("Retry-After") != "" {
				refused.Add(1)
			} else if st != http.StatusUnauthorized {
				t.Errorf("wrong login: %d", st)
			}
		}()
	}
	wg.Wait()
	budget := int64(appliance.DefaultLimiterOptions().PairFailures)
	if n := cs.checks.Load(); n > budget {
		t.Fatalf("%d of 30 concurrent wrong logins had their password checked, want at most %d", n, budget)
	}
	if refused.Load() < 30-budget {
		t.Fatalf("%d refused", refused.Load())
	}
	// The right password from another address works at once.
	if st, _ := postLogin(t, e.clientFrom("127.0.0.3"), e.base, loginBody("admin", testPassword)); st != http.StatusCreated {
		t.Fatalf("right password from another address: %d", st)
	}
	// The failures are in the audit log, not once per attempt.
	n := 0
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		if ev.Action == "login.failed" {
			n++
		}
	}
	if n == 0 || n > 2 {
		t.Fatalf("%d login.failed events for one flood", n)
	}
}

func TestLoginThrottleWindow(t *testing.T) {
	e := newEnv(t)
	login := func(user, pw string) response {
		return e.do(req{method: "POST", path: "/api/v1/sessions", body: loginRequest{Username: user, Password: pw}})
	}
	o := appliance.DefaultLimiterOptions()
	for i := range o.PairFailures {
		if r := login("ro", "wrong password"); r.status != 401 {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	r := login("ro", testPassword)
	if r.status != 429 || r.errCode() != codeRateLimited || r.header.Get("Retry-After") != "900" {
		t.Fatalf("after the budget: %d %s Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Another user from the same address is not refused yet.
	if r := login("op", testPassword); r.status != 201 {
		t.Fatalf("another user: %d %s", r.status, r.body)
	}
	e.clock.Advance(o.Window)
	if r := login("ro", testPassword); r.status != 201 {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
}

func TestLoginFieldBounds(t *testing.T) {
	e := newEnv(t)
	before := len(e.state.Events(0, 10000, ""))
	for _, tc := range []struct {
		name     string
		user, pw string
	}{
		{"1 MB user name", "evil\n" + strings.Repeat("a", 1_000_000), "password1"},
		{"33-byte user name", strings.Repeat("b", 33), "password1"},
		{"257-byte password", "admin", strings.Repeat("p", 257)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 40 {
				if st, _ := postLogin(t, e.client, e.base, loginBody(tc.user, tc.pw)); st != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", st)
				}
			}
		})
	}
	evs := e.state.Events(0, 10000, "")[before:]
	if len(evs) > 3 {
		t.Fatalf("%d events for 120 oversized logins", len(evs))
	}
	for _, ev := range evs {
		if b, _ := json.Marshal(ev); len(b) > 512 {
			t.Fatalf("event line of %d bytes: %s", len(b), b)
		}
	}
	// A body over the route's limit is refused before it is read.
	big := strings.Repeat("x", 2<<20)
	r := e.do(req{method: "POST", path: "/api/v1/stores", auth: "admin", body: `{"name":"` + big + `"}`})
	if r.status != 400 {
		t.Fatalf("2 MiB body: %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/api/v1/openapi.json", "/app.js"} {
		r := e.do(req{method: "GET", path: p})
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if hsts := r.header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("%s: HSTS %q", p, hsts)
		}
	}
}

func TestMetricsToken(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.MetricsToken = "s3cret-metrics-token" }))
	get := func(auth string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hr, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/metrics", nil)
		if auth != "" {
			hr.Header.Set("Authorization", auth)
		}
		r, err := e.client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	for auth, want := range map[string]int{
		"":                            401,
		"Bearer wrong":                401,
		"Basic czNjcmV0":              401,
		"Bearer s3cret-metrics-token": 200,
	} {
		if got := get(auth); got != want {
			t.Errorf("Authorization %q: %d, want %d", auth, got, want)
		}
	}
}

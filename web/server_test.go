package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/testclock"
)

const testPassword = "correct horse battery"

// testCert is the self-signed certificate the appliance keeps in dir.
func testCert(t *testing.T, dir string) *tls.Certificate {
	t.Helper()
	c, err := appliance.Certificate("", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// env is a running server over a real engine and appliance state.
type env struct {
	t      *testing.T
	dir    string
	clock  *testclock.Clock
	eng    *chunkstore.Engine
	api    Engine // what the server is given: eng or a wrapper
	state  *appliance.State
	stAPI  State // what the server is given as its state: nil for state
	core   *appliance.Core
	tick   time.Duration // the core's MaintenanceTick; 0: its default
	srv    *Server
	client *http.Client
	base   string
	tokens map[string]string // user name → bearer token
}

type envOption func(*env, *Options)

func withOptions(f func(*Options)) envOption { return func(_ *env, o *Options) { f(o) } }

// withTick sets the core's MaintenanceTick.
func withTick(d time.Duration) envOption { return func(e *env, _ *Options) { e.tick = d } }

// withEngine serves a wrapper of the engine.
func withEngine(wrap func(*chunkstore.Engine) Engine) envOption {
	return func(e *env, _ *Options) { e.api = wrap(e.eng) }
}

// newEnv starts a server with users admin, op (operator) and ro (read-only).
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	// Monday 2025-06-02 12:00 UTC: outside any window tests do not set.
	clk := testclock.New(time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Capacity = 1 << 30
	eo.Reserve = 0
	eng, err := chunkstore.Open(ctx, filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	ao := appliance.DefaultOptions()
	ao.Now = clk.Now
	ao.Hash = appliance.HashParams{Memory: 64, Time: 1, Threads: 1}
	state, err := appliance.Open(filepath.Join(dir, "appliance"), ao)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { state.Close() })
	for name, role := range map[string]appliance.Role{"admin": appliance.RoleAdmin, "op": appliance.RoleOperator, "ro": appliance.RoleReadOnly} {
		if _, err := state.CreateUser(name, role, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	o := DefaultOptions()
	o.Addr = "127.0.0.1:0"
	o.Certificate = testCert(t, filepath.Join(dir, "tls"))
	o.Now = clk.Now
	o.Version = "test"
	o.UI = fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>Backstop</title>")},
		"app.js":     {Data: []byte("console.log('hi')")},
	}
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := &env{t: t, dir: dir, clock: clk, eng: eng, api: eng, state: state, tokens: map[string]string{}}
	for _, f := range opts {
		f(e, &o)
	}
	e.start(o)
	return e
}

// start runs a server with o and a client trusting its certificate.
func (e *env) start(o Options) {
	t := e.t
	t.Helper()
	if o.Core == nil {
		o.Core = e.newCore(o.Logger)
	}
	e.core = o.Core
	var st State = e.state
	if e.stAPI != nil {
		st = e.stAPI
	}
	srv, err := New(e.api, st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		cancel()
	})
	leaf, err := x509.ParseCertificate(o.Certificate.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	e.srv = srv
	e.base = "https://" + srv.Addr()
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// newCore starts an appliance core over the env's engine (or its wrapper)
// and state, stopped at the end of the test.
func (e *env) newCore(log *slog.Logger) *appliance.Core {
	t := e.t
	t.Helper()
	core := appliance.NewCore(e.api.(appliance.Engine), e.state, appliance.CoreOptions{Now: e.clock.Now, Logger: log, MaintenanceTick: e.tick})
	if err := core.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := core.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return core
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errCode() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// req describes a request: auth is a user name to log in as (or "" for
// none, or "token:XYZ" for a raw token); body is a string sent as is or a
// value sent as JSON.
type req struct {
	method, path, auth string
	body               any
	header             map[string]string
}

func (e *env) do(r req) response {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(r.method, e.base+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(r.auth, "token:"):
		hr.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(r.auth, "token:"))
	case r.auth != "":
		hr.Header.Set("Authorization", "Bearer "+e.token(r.auth))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// token logs user in once and returns the bearer token.
func (e *env) token(user string) string {
	e.t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return tok
	}
	r := e.do(req{method: "POST", path: "/api/v1/sessions", body: loginRequest{Username: user, Password: testPassword}})
	if r.status != http.StatusCreated {
		e.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	var s sessionResponse
	r.decode(e.t, &s)
	e.tokens[user] = s.Token
	return s.Token
}

// write stores an item with data.
func (e *env) write(store, name string, data []byte) {
	e.t.Helper()
	ctx := context.Background()
	w, err := e.eng.Create(ctx, store, name, chunkstore.WriteOptions{Meta: map[string]string{"k": "v"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		e.t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// check is one table row of an endpoint test.
type check struct {
	name   string
	req    req
	status int
	code   string // error code expected, if any
}

func (e *env) run(checks []check) {
	e.t.Helper()
	for _, c := range checks {
		e.t.Run(c.name, func(t *testing.T) {
			r := e.do(c.req)
			if r.status != c.status {
				t.Fatalf("%s %s: status %d, want %d: %s", c.req.method, c.req.path, r.status, c.status, r.body)
			}
			if c.code != "" && r.errCode() != c.code {
				t.Fatalf("%s %s: code %q, want %q: %s", c.req.method, c.req.path, r.errCode(), c.code, r.body)
			}
			if c.status >= 400 && r.errCode() == "" {
				t.Fatalf("%s %s: error without code: %s", c.req.method, c.req.path, r.body)
			}
		})
	}
}

// cookieClient is a client with a cookie jar, as a browser.
func (e *env) cookieClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Client{Transport: e.client.Transport, Jar: jar}
}

func TestServerStartShutdown(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"})
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	if err := e.srv.Start(context.Background()); err != ErrStarted {
		t.Fatalf("second Start: %v", err)
	}
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(e.base + "/api/v1/openapi.json"); err == nil {
		t.Fatal("server still answers after Shutdown")
	}
}

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no certificate", Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(nil, nil, tc.opts); err == nil {
				t.Fatal("New accepted", tc.opts)
			}
		})
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPanicAndInternalErrors(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	o := DefaultOptions()
	o.Certificate = testCert(t, t.TempDir())
	o.Core = e.core
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	var st State = e.state
	if e.stAPI != nil {
		st = e.stAPI
	}
	srv, err := New(e.api, st, o)
	if err != nil {
		t.Fatal(err)
	}
	srv.router.GET("/api/v1/test/panic", func(*gin.Context) { panic("secret detail") })
	srv.router.GET("/api/v1/test/error", func(c *gin.Context) { srv.fail(c, errors.New("disk on fire")) })
	for _, path := range []string{"/api/v1/test/panic", "/api/v1/test/error"} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != 500 || rec.Body.String() != `{"error":{"code":"internal","message":"internal error"}}` {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), "disk on fire") {
		t.Fatalf("details not logged: %s", logs.String())
	}
}

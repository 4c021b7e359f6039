package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestLogLevels checks that ordinary requests log at debug and
// refusals worth a look at info and above.
func TestRequestLogLevels(t *testing.T) {
	var buf lockedBuffer
	e := newEnv(t, withOptions(func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}))
	cases := []struct {
		r      req
		status int
		logged string // "" = nothing at info
	}{
		{req{method: "GET", path: "/api/v1/status", auth: "ro"}, http.StatusOK, ""},
		{req{method: "GET", path: "/app.js"}, http.StatusOK, ""},
		{req{method: "GET", path: "/api/v1/status"}, http.StatusUnauthorized, ""},
		{req{method: "GET", path: "/api/v1/stores/nope", auth: "ro"}, http.StatusNotFound, ""},
		{req{method: "POST", path: "/api/v1/stores", auth: "ro", body: map[string]any{"name": "x"}}, http.StatusForbidden, "level=INFO"},
		{req{method: "POST", path: "/api/v1/stores", auth: "op", body: "{"}, http.StatusBadRequest, "level=INFO"},
	}
	for _, tc := range cases {
		before := len(buf.String())
		if r := e.do(tc.r); r.status != tc.status {
			t.Fatalf("%s %s: %d, want %d", tc.r.method, tc.r.path, r.status, tc.status)
		}
		got := buf.String()[before:]
		// The line is written after the answer is sent: wait for it.
		for deadline := time.Now().Add(5 * time.Second); tc.logged != "" && !strings.Contains(got, "http request") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			got = buf.String()[before:]
		}
		if tc.logged == "" && strings.Contains(got, "http request") {
			t.Errorf("%s %s (%d) logged at info: %s", tc.r.method, tc.r.path, tc.status, got)
		}
		if tc.logged != "" && !(strings.Contains(got, "http request") && strings.Contains(got, tc.logged)) {
			t.Errorf("%s %s (%d): want a line with %s, got %q", tc.r.method, tc.r.path, tc.status, tc.logged, got)
		}
	}
}

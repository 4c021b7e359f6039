package web

import (
	"strings"
	"testing"
)

func TestUI(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"root", "GET", "/", 200, "<title>Backstop</title>"},
		{"file", "GET", "/app.js", 200, "console.log"},
		{"spa route", "GET", "/stores/default", 200, "<title>Backstop</title>"},
		{"dotdot", "GET", "/../../etc/passwd", 200, "<title>Backstop</title>"},
		{"unknown api", "GET", "/api/v1/nope", 404, `"not_found"`},
		{"api root", "GET", "/api", 404, `"not_found"`},
		{"post to ui", "POST", "/", 404, `"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: tc.method, path: tc.path})
			if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.status == 200 && r.header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}
	if ct := e.do(req{method: "GET", path: "/app.js"}).header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js Content-Type %q", ct)
	}
}

func TestDefaultUI(t *testing.T) {
	o := DefaultOptions()
	if _, _, err := readUIFile(o.UI, "index.html"); err != nil {
		t.Fatalf("embedded UI has no index.html: %v", err)
	}
}

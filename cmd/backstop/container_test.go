package main

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDockerfile: the image exposes the port of every listener serve
// has by default, its HEALTHCHECK is a backstop command that parses, and
// .dockerignore keeps history, data directories and keys out of the
// build context. (docker is not on the build machines; README.md says
// how the Dockerfile is linted.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var exposed []string
	var health []string
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "EXPOSE":
			for _, p := range f[1:] {
				exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
			}
		case len(f) > 0 && f[0] == "HEALTHCHECK":
			_, cmd, ok := strings.Cut(line, " CMD ")
			if !ok || json.Unmarshal([]byte(strings.TrimSpace(cmd)), &health) != nil {
				t.Fatalf("HEALTHCHECK is not in exec form: %q", line)
			}
		}
	}
	f, err := parseServe(&env{name: "serve", stderr: io.Discard}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.listeners() {
		if *l.addr == "" {
			continue // off by default (--nfs)
		}
		_, port, err := net.SplitHostPort(*l.addr)
		if err != nil || !slices.Contains(exposed, port) {
			t.Errorf("--%s's default %s is not exposed (EXPOSE %v)", l.flag, *l.addr, exposed)
		}
	}
	if len(health) < 2 || health[0] != "/usr/local/bin/backstop" || health[1] != "health" {
		t.Fatalf("HEALTHCHECK %v is not backstop health", health)
	}
	if code, _, errs := cli(t, nil, append(health[1:], "--help")...); code != 0 {
		t.Fatalf("HEALTHCHECK's arguments do not parse: %q", errs)
	}
	ig, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "backstop-data/", "bench-results/", "**/node_modules", "**/*.pem", "**/*.key", "**/initial-admin-password"} {
		if !slices.Contains(strings.Split(string(ig), "\n"), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

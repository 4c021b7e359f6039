package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveBoth runs "backstop serve" until the test ends and returns its web
// URL and Catalyst address.
func serveBoth(t *testing.T, dir string) (web, cat string) {
	t.Helper()
	t.Setenv("BACKSTOP_ADMIN_PASSWORD", "store-remote-pw")
	cat, addr := serveWith(t, dir)
	return "https://" + addr, cat
}

// TestStoreCommandsOverTheAPI: store create|ls|set|rm --web-url against a
// real serve, with a password and with an API token, and the errors a
// user meets in plain words.
func TestStoreCommandsOverTheAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, cat := serveBoth(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "store-remote-pw")
	ca := filepath.Join(dir, "tls", "cert.pem")
	viaAPI := []string{"--web-url", web, "--ca", ca}
	store := func(args ...string) (int, string, string) {
		t.Helper()
		return cli(t, nil, append(append([]string{"store"}, args...), viaAPI...)...)
	}

	code, out, errs := store("create", "nightly", "--domain", "vms", "--transfer", "high", "--immutable-days", "3", "--clients", "admin")
	if code != 0 || !strings.Contains(out, "domain vms created\n") || !strings.Contains(out, "store nightly created\n") ||
		!strings.Contains(out, "nightly  vms     high      3 days     admin") {
		t.Fatalf("store create: %d %q %q", code, out, errs)
	}
	// A second store in the domain that exists now.
	if code, out, errs := store("create", "scratch", "--domain", "vms"); code != 0 || strings.Contains(out, "domain vms created") {
		t.Fatalf("store create in an existing domain: %d %q %q", code, out, errs)
	}
	if code, _, errs := store("create", "nightly"); code != 1 || !strings.Contains(errs, "nightly") {
		t.Fatalf("store create of an existing store: %d %q", code, errs)
	}
	// set changes only what it names.
	code, out, errs = store("set", "nightly", "--transfer", "low")
	if code != 0 || !strings.Contains(out, "nightly  vms     low       3 days     admin") {
		t.Fatalf("store set: %d %q %q", code, out, errs)
	}
	// The store works over Catalyst as made.
	if code, out, errs := cli(t, []byte("backup bytes"), "put", "--server", cat, "--ca", ca, "--store", "nightly", "one", "-"); code != 0 {
		t.Fatalf("put into the new store: %d %q %q", code, out, errs)
	}
	if code, _, errs := store("rm", "nightly"); code != 1 || !strings.Contains(errs, "delete its items first") {
		t.Fatalf("store rm of a store with items: %d %q", code, errs)
	}
	if code, out, errs := store("rm", "scratch"); code != 0 || out != "store scratch deleted\n" {
		t.Fatalf("store rm: %d %q %q", code, out, errs)
	}
	if code, _, errs := store("set", "scratch", "--transfer", "high"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("store set of a deleted store: %d %q", code, errs)
	}

	// An API token in place of the password.
	e := &env{remote: remote{user: "admin", ca: ca}}
	w, err := e.webDial(context.Background(), web)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Secret string `json:"secret"`
	}
	if err := w.do(context.Background(), http.MethodPost, "/tokens", map[string]string{"name": "cli", "role": "admin"}, &tok); err != nil || tok.Secret == "" {
		t.Fatalf("token: %v %+v", err, tok)
	}
	w.close(context.Background())
	os.Unsetenv("BACKSTOP_PASSWORD") // t.Setenv above restores it
	t.Setenv("BACKSTOP_TOKEN", tok.Secret)
	code, out, errs = store("ls", "--json")
	var stores []struct{ Name, Transfer string }
	if err := json.Unmarshal([]byte(out), &stores); code != 0 || err != nil {
		t.Fatalf("store ls --json with a token: %d %q %q %v", code, out, errs, err)
	}
	names := []string{}
	for _, s := range stores {
		names = append(names, s.Name+":"+s.Transfer)
	}
	if got := " " + strings.Join(names, " ") + " "; !strings.Contains(got, " nightly:low ") || strings.Contains(got, "scratch") {
		t.Fatalf("store ls with a token: %s", got)
	}
	t.Setenv("BACKSTOP_TOKEN", "")

	// Errors in plain words.
	t.Setenv("BACKSTOP_PASSWORD", "wrong")
	if code, _, errs := store("ls"); code != 1 || !strings.Contains(errs, "bad user or password") {
		t.Fatalf("wrong password: %d %q", code, errs)
	}
	t.Setenv("BACKSTOP_PASSWORD", "store-remote-pw")
	if code, _, errs := cli(t, nil, "store", "ls", "--web-url", web); code != 1 || !strings.Contains(errs, "--ca") {
		t.Fatalf("untrusted certificate: %d %q", code, errs)
	}
	if code, _, errs := cli(t, nil, "store", "ls", "--web-url", "https://"+cat, "--ca", ca); code != 1 || !strings.Contains(errs, "is it the web address?") {
		t.Fatalf("the Catalyst port as web URL: %d %q", code, errs)
	}
}

// TestStoreWebURLFromServer: --server HOST:PORT means the web API on port
// 8443 of HOST.
func TestStoreWebURLFromServer(t *testing.T) {
	e := &env{remote: remote{server: "backup.example:9387"}}
	for flagURL, want := range map[string]string{
		"":                           "https://backup.example:8443/api/v1",
		"https://10.0.0.5:9443/":     "https://10.0.0.5:9443/api/v1",
		"https://appliance/backstop": "https://appliance/backstop/api/v1",
	} {
		if got, err := e.webURL(flagURL); err != nil || got != want {
			t.Errorf("webURL(%q) = %q, %v; want %q", flagURL, got, err, want)
		}
	}
	if _, err := e.webURL("backup.example:8443"); err == nil {
		t.Error("a web URL without a scheme was accepted")
	}
}

package main

// A share or a library that cannot open is degraded, never fatal (issue
// 13): a real "backstop serve" over a data directory with one damaged
// share and one damaged library starts, serves the healthy share over
// SMB, and lists both as degraded parts in GET /api/v1/status.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// damagedDataDir makes a data directory whose share "broken" has
// unreadable metadata and whose library "tapes" names an emulation that
// does not exist; the default share and library are healthy.
func damagedDataDir(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	o := chunkstore.DefaultOptions()
	o.Create = true
	eng, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := sharefs.OpenManager(ctx, eng, dir, sharefs.DefaultManagerOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.Create(ctx, sharefs.Share{Name: "broken", DefaultAccess: sharefs.AccessReadWrite}); err != nil {
		t.Fatal(err)
	}
	if err := sh.Close(); err != nil {
		t.Fatal(err)
	}
	libs, err := library.Open(ctx, filepath.Join(dir, "vtl"), eng, library.Options{Default: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := libs.Create(ctx, library.Spec{Name: "tapes", Drives: 1, Slots: 4}); err != nil {
		t.Fatal(err)
	}
	if err := libs.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "nas", "shares", "broken", "meta", "MANIFEST")
	if _, err := os.Stat(manifest); err != nil {
		t.Fatalf("the share's metadata: %v", err)
	}
	if err := os.WriteFile(manifest, []byte("not a badger manifest"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "vtl", "libraries.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"name": "tapes",
      "emulation": "hp-msl"`, `"name": "tapes",
      "emulation": "no-such-changer"`, 1))
	if !strings.Contains(string(b), "no-such-changer") {
		t.Fatalf("libraries.json has no entry to damage:\n%s", b)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// health is GET /api/v1/status's health as admin sees it.
func (a *sideDoorAppliance) health(t *testing.T) appliance.HealthReport {
	t.Helper()
	code, body := a.do(t, "admin", "GET", "/api/v1/status", nil)
	var st struct {
		Health appliance.HealthReport `json:"health"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("status: %d %s", code, body)
	}
	return st.Health
}

func part(h appliance.HealthReport, name string) (appliance.ComponentHealth, bool) {
	for _, c := range h.Components {
		if c.Name == name {
			return c, true
		}
	}
	return appliance.ComponentHealth{}, false
}

func TestServeWithDegradedShareAndLibrary(t *testing.T) {
	a := serveSideDoorIn(t, damagedDataDir(t))

	// the healthy share is served over SMB
	fs, err := a.mount(t, "admin", sharefs.DefaultShare)
	if err != nil {
		t.Fatalf("mount %s: %v", sharefs.DefaultShare, err)
	}
	want := []byte("still served\n")
	if err := fs.WriteFile("ok.txt", want, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := fs.ReadFile("ok.txt"); err != nil || string(got) != string(want) {
		t.Fatalf("read back: %q %v", got, err)
	}
	fs.Umount()
	if _, err := a.mount(t, "admin", "broken"); err == nil {
		t.Fatal("the degraded share was mounted")
	}

	// both are degraded parts of the appliance's health, with why
	h := a.health(t)
	if h.State != appliance.Degraded {
		t.Fatalf("health %s, want degraded: %+v", h.State, h.Components)
	}
	for name, why := range map[string]string{"share:broken": "broken", "library:tapes": "no-such-changer"} {
		p, ok := part(h, name)
		if !ok || p.State != appliance.Degraded || !strings.Contains(p.Reason, why) {
			t.Fatalf("part %s: %+v (found %v), want degraded saying %q; all: %+v", name, p, ok, why, h.Components)
		}
	}
	for _, healthy := range []string{"share:" + sharefs.DefaultShare, "library:vtl1"} {
		if p, ok := part(h, healthy); ok {
			t.Fatalf("healthy %s has a part: %+v", healthy, p)
		}
	}

	// and in their own listings
	code, body := a.do(t, "admin", "GET", "/api/v1/libraries/tapes", nil)
	if code != http.StatusOK || !strings.Contains(body, `"degraded":"library tapes:`) {
		t.Fatalf("library tapes: %d %s", code, body)
	}
	code, body = a.do(t, "admin", "GET", "/api/v1/shares/broken", nil)
	if code != http.StatusOK || !strings.Contains(body, `"degraded":`) {
		t.Fatalf("share broken: %d %s", code, body)
	}

	// deleting them through the API clears their parts
	if code, body := a.do(t, "admin", "DELETE", "/api/v1/libraries/tapes", nil); code != http.StatusNoContent {
		t.Fatalf("delete library tapes: %d %s", code, body)
	}
	if code, body := a.do(t, "admin", "DELETE", "/api/v1/shares/broken", nil); code != http.StatusNoContent {
		t.Fatalf("delete share broken: %d %s", code, body)
	}
	h = a.health(t)
	for _, name := range []string{"share:broken", "library:tapes"} {
		if p, ok := part(h, name); ok {
			t.Fatalf("part %s after the delete: %+v", name, p)
		}
	}
	if h.State != appliance.OK {
		t.Fatalf("health after the deletes %s: %+v", h.State, h.Components)
	}
}

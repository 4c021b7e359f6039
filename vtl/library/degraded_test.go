package library

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// damage rewrites library name's entry in dir's libraries.json with
// change (the entry as generic JSON).
func damage(t *testing.T, dir, name string, change func(entry map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, fileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range doc["libraries"].([]any) {
		if entry := e.(map[string]any); entry["name"] == name {
			change(entry)
			found = true
		}
	}
	if !found {
		t.Fatalf("no library %s in %s", name, path)
	}
	if b, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDegradedLibraryDoesNotStopTheOthers damages library "bad" in
// several ways; each time Open succeeds, vtl1 works and bad is listed as
// degraded, offers no target, refuses its cartridges and can be deleted.
func TestDegradedLibraryDoesNotStopTheOthers(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string, eng *chunkstore.Engine)
		want   string
	}{
		{"entry does not decode", func(t *testing.T, dir string, _ *chunkstore.Engine) {
			damage(t, dir, "bad", func(e map[string]any) { e["drives"] = "two" })
		}, "does not decode"},
		{"unknown emulation", func(t *testing.T, dir string, _ *chunkstore.Engine) {
			damage(t, dir, "bad", func(e map[string]any) { e["emulation"] = "no-such-changer" })
		}, "emulation"},
		{"cartridge in a drive it does not have", func(t *testing.T, dir string, _ *chunkstore.Engine) {
			damage(t, dir, "bad", func(e map[string]any) { e["in_drives"] = []any{"GONE01L6"} })
		}, "GONE01L6"},
		{"elements do not match the spec", func(t *testing.T, dir string, _ *chunkstore.Engine) {
			damage(t, dir, "bad", func(e map[string]any) { e["in_slots"] = []any{""} })
		}, "slots"},
		{"store missing", func(t *testing.T, _ string, eng *chunkstore.Engine) {
			if err := eng.DeleteStore(storeName("bad")); err != nil {
				t.Fatal(err)
			}
		}, "store vtl-bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			eng := testEngine(t)
			dir := filepath.Join(t.TempDir(), "vtl")
			m := openManager(t, dir, eng)
			if _, err := m.Create(ctx, Spec{Name: "bad", Drives: 1, Slots: 4}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.AddCartridges(ctx, "bad", NewCartridges{Prefix: "BAD", Count: 2}); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir, eng)

			m, err := Open(ctx, dir, eng, Options{Default: true})
			if err != nil {
				t.Fatalf("open with a damaged library: %v", err)
			}
			defer m.Close(ctx)
			deg := m.Degraded()
			if len(deg) != 1 || deg["bad"] == nil || !strings.Contains(deg["bad"].Error(), tc.want) {
				t.Fatalf("degraded %v, want only bad, saying %q", deg, tc.want)
			}
			// the healthy library works and is the only target
			if ts := m.Targets(); len(ts) != 1 || ts[0].Alias != "vtl1" {
				t.Fatalf("targets %+v, want only vtl1", ts)
			}
			if err := m.Move(ctx, "vtl1", "BKS001L6", Location{Type: "drive", Index: 0}); err != nil {
				t.Fatalf("move in vtl1: %v", err)
			}
			// the broken one is listed with why, and refuses its cartridges
			libs := m.Libraries()
			if len(libs) != 2 || libs[0].Name != "bad" || libs[0].Degraded == "" || libs[1].Degraded != "" {
				t.Fatalf("libraries: %+v", libs)
			}
			if in, err := m.Library("bad"); err != nil || in.Degraded == "" {
				t.Fatalf("library bad: %+v %v", in, err)
			}
			if _, err := m.AddCartridges(ctx, "bad", NewCartridges{Prefix: "X", Count: 1}); !errors.Is(err, ErrDegraded) {
				t.Fatalf("add cartridges to bad: %v, want ErrDegraded", err)
			}
			if err := m.Move(ctx, "bad", "BAD001L6", Location{Type: "drive", Index: 0}); !errors.Is(err, ErrDegraded) {
				t.Fatalf("move in bad: %v, want ErrDegraded", err)
			}
			// a change to another library keeps bad's entry as it was
			if _, err := m.Create(ctx, Spec{Name: "other", Drives: 1, Slots: 2}); err != nil {
				t.Fatal(err)
			}
			m.Close(ctx)
			if m, err = Open(ctx, dir, eng, Options{Default: true}); err != nil {
				t.Fatal(err)
			}
			if deg := m.Degraded(); len(deg) != 1 || deg["bad"] == nil {
				t.Fatalf("after a restart: degraded %v, want bad still", deg)
			}
			// deleting it clears it
			if err := m.Delete(ctx, "bad"); err != nil {
				t.Fatalf("delete bad: %v", err)
			}
			if deg := m.Degraded(); len(deg) != 0 {
				t.Fatalf("degraded after the delete: %v", deg)
			}
			if _, err := m.Library("bad"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("library bad after the delete: %v", err)
			}
		})
	}
}

// TestUnreadableLibrariesFileFails: only a file that does not parse at
// all still fails Open (never a silent reset).
func TestUnreadableLibrariesFileFails(t *testing.T) {
	eng := testEngine(t)
	dir := filepath.Join(t.TempDir(), "vtl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := Open(context.Background(), dir, eng, Options{Default: true}); err == nil {
		m.Close(context.Background())
		t.Fatal("open of an unparsable libraries.json succeeded")
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestDomainEncryptCLI: an encrypted domain with its key outside the data
// directory; put and get through it; export-key; with the key gone get
// fails clearly and health fails that domain; import-key brings it back.
func TestDomainEncryptCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	keyFile := filepath.Join(t.TempDir(), "vault.key")
	if code, out, errs := cli(t, nil, "domain", "create", "--data", dir, "--encrypt", "--key-file", keyFile, "sec"); code != 0 || !strings.Contains(out, "encrypted with key") {
		t.Fatalf("domain create: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, nil, "domain", "store", "--data", dir, "sec", "vault"); code != 0 {
		t.Fatalf("domain store: %d %q", code, errs)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	if code, _, errs := cli(t, data, "put", "--data", dir, "--store", "vault", "one", "-"); code != 0 {
		t.Fatalf("put: %d %q", code, errs)
	}
	if code, out, _ := cli(t, nil, "get", "--data", dir, "--store", "vault", "one"); code != 0 || out != string(data) {
		t.Fatal("get differs")
	}
	export := filepath.Join(t.TempDir(), "dr.key")
	if code, _, errs := cli(t, nil, "domain", "export-key", "--data", dir, "sec", export); code != 0 {
		t.Fatalf("export-key: %d %q", code, errs)
	}
	if code, out, _ := cli(t, nil, "domain", "export-key", "--data", dir, "sec", "-"); code != 0 || len(strings.TrimSpace(out)) != 64 {
		t.Fatalf("export-key to stdout: %d %q", code, out)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, nil, "get", "--data", dir, "--store", "vault", "one"); code == 0 || !strings.Contains(errs, "key missing") || !strings.Contains(errs, keyFile) {
		t.Fatalf("get without the key: %d %q", code, errs)
	}
	checkKeyHealth(t, dir, appliance.Failed)
	if code, _, errs := cli(t, nil, "domain", "import-key", "--data", dir, "sec", export); code != 0 {
		t.Fatalf("import-key: %d %q", code, errs)
	}
	if code, out, _ := cli(t, nil, "get", "--data", dir, "--store", "vault", "one"); code != 0 || out != string(data) {
		t.Fatal("get after import-key differs")
	}
	checkKeyHealth(t, dir, appliance.OK)
	if got, _ := os.ReadFile(keyFile); !bytes.Contains(got, bytes.TrimSpace(must(os.ReadFile(export)))) {
		t.Fatal("import-key did not write the key where the domain says")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// checkKeyHealth runs the health monitor once on dir and checks the part
// of domain sec.
func checkKeyHealth(t *testing.T, dir string, want appliance.HealthState) {
	t.Helper()
	ctx := context.Background()
	o := chunkstore.DefaultOptions()
	o.Create = false
	eng, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	h := appliance.NewHealth(time.Now)
	m := &healthMonitor{eng: eng, health: h, log: slog.New(slog.DiscardHandler), interval: time.Hour}
	m.check(ctx)
	p, ok := part(h.Report(), partDomainKey+"sec")
	if !ok || p.State != want || (want == appliance.Failed && !strings.Contains(p.Reason, "key missing")) {
		t.Fatalf("health part %+v (found %v), want %s", p, ok, want)
	}
}

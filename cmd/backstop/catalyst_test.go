package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// serveInProcess runs "backstop serve" until the test ends and returns the
// Catalyst address it printed.
func serveInProcess(t *testing.T, dir string) string {
	t.Helper()
	cat, _ := serveAddrs(t, dir)
	return cat
}

func TestCatalystCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := serveInProcess(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "catalyst-test-pw")
	remote := []string{"--server", addr, "--user", "admin", "--ca", filepath.Join(dir, "tls", "cert.pem")}
	data := make([]byte, 12<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := r.Uint64() & 0x0f0f0f0f0f0f0f0f // half entropy: compressible
		for k := range 8 {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	src := filepath.Join(t.TempDir(), "mon.bin")
	os.WriteFile(src, data, 0o600)

	code, out, errs := cli(t, nil, append([]string{"put", "--meta", "day=mon", "mon", src}, remote...)...)
	if code != 0 || !strings.Contains(out, "stored default/mon: 12.0 MiB") || !strings.Contains(out, "low bandwidth: 12.0 MiB logical") {
		t.Fatalf("put: %d %q %q", code, out, errs)
	}
	// 1% changed: the second backup sends about that much.
	copy(data[5<<20:], bytes.Repeat([]byte{0xff}, 120<<10))
	os.WriteFile(src, data, 0o600)
	code, out, errs = cli(t, nil, append([]string{"put", "--meta", "day=tue", "tue", src}, remote...)...)
	m := regexp.MustCompile(`sent on the wire \((\d+) of (\d+) chunks\)`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] == "0" || len(m[1]) > 1 {
		t.Fatalf("second put: %d %q %q", code, out, errs)
	}
	t.Logf("second backup: %s", strings.TrimSpace(out))

	dst := filepath.Join(t.TempDir(), "restored")
	if code, out, errs := cli(t, nil, append([]string{"get", "tue", dst}, remote...)...); code != 0 {
		t.Fatalf("get: %d %q %q", code, out, errs)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("restored file differs")
	}
	code, out, _ = cli(t, nil, append([]string{"ls", "--meta", "day=tue"}, remote...)...)
	if code != 0 || !strings.Contains(out, " tue\n") || strings.Contains(out, " mon\n") {
		t.Fatalf("ls --meta: %d %q", code, out)
	}
	if code, out, errs := cli(t, nil, append([]string{"rm", "mon"}, remote...)...); code != 0 || out != "deleted default/mon\n" {
		t.Fatalf("rm: %d %q %q", code, out, errs)
	}
	code, out, _ = cli(t, nil, append([]string{"stats"}, remote...)...)
	if code != 0 || !strings.Contains(out, "items          1 in ") || !strings.Contains(out, "12.0 MiB") {
		t.Fatalf("stats: %d %q", code, out)
	}
	// Wrong password, and no password.
	t.Setenv("BACKSTOP_PASSWORD", "nope")
	if code, _, errs := cli(t, nil, append([]string{"ls"}, remote...)...); code != 1 || !strings.Contains(errs, "bad user or password") {
		t.Fatalf("wrong password: %d %q", code, errs)
	}
}

func TestCatalystCLIUntrustedCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := serveInProcess(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "catalyst-test-pw")
	code, _, errs := cli(t, nil, "ls", "--server", addr)
	if code != 1 || !strings.Contains(errs, "--ca DATA/tls/cert.pem") {
		t.Fatalf("ls against a self-signed appliance without --ca: %d %q", code, errs)
	}
	if code, out, errs := cli(t, nil, "stats", "--server", addr, "--insecure"); code != 0 || !strings.Contains(out, "DEDUP") {
		t.Fatalf("stats --insecure: %d %q %q", code, out, errs)
	}
}

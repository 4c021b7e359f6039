package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cli runs backstop in-process and returns its exit code and output.
func cli(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPutGetLsRmStats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	src := filepath.Join(t.TempDir(), "src.bin")
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cli(t, nil, "put", "--data", dir, "one", src); code != 0 || !strings.Contains(out, "stored default/one") {
		t.Fatalf("put: %d %q %q", code, out, errs)
	}
	// Flags after the arguments, and stdin.
	if code, out, errs := cli(t, data, "put", "two", "-", "--data", dir); code != 0 || !strings.Contains(out, "every chunk was already stored") {
		t.Fatalf("put from stdin: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, data, "put", "--data", dir, "two"); code != 1 || !strings.Contains(errs, "--force") {
		t.Fatalf("put over an existing item: %d %q", code, errs)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if code, _, errs := cli(t, nil, "get", "--data", dir, "two", dst); code != 0 {
		t.Fatalf("get: %d %q", code, errs)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("restored file differs")
	}
	if code, out, _ := cli(t, nil, "get", "--data", dir, "one"); code != 0 || out != string(data) {
		t.Fatal("get to stdout differs")
	}
	code, out, _ := cli(t, nil, "stats", "--json", "--data", dir)
	var st struct {
		Logical float64 `json:"logical_bytes"`
		Stored  float64 `json:"stored_bytes"`
		Ratio   float64 `json:"dedup_ratio"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("stats --json: %d %q %v", code, out, err)
	}
	if st.Logical != float64(2*len(data)) || st.Ratio < 1.9 || st.Stored < float64(len(data)) {
		t.Fatalf("stats: %+v", st)
	}
	if code, out, _ := cli(t, nil, "ls", "--data", dir, "--usage"); code != 0 || !strings.Contains(out, "one") || !strings.Contains(out, "ALONE") {
		t.Fatalf("ls: %d %q", code, out)
	}
	if code, out, _ := cli(t, nil, "verify", "--data", dir); code != 0 || !strings.Contains(out, "no damage") {
		t.Fatalf("verify: %d %q", code, out)
	}
	if code, _, _ := cli(t, nil, "rm", "--data", dir, "one", "nope"); code != 1 {
		t.Fatalf("rm with a missing name exits %d", code)
	}
	if code, out, _ := cli(t, nil, "ls", "--data", dir, "--json"); code != 0 || strings.Contains(out, `"one"`) {
		t.Fatalf("ls after rm: %q", out)
	}
	// "two" holds the same data as "one": nothing became reclaimable.
	code, out, _ = cli(t, nil, "housekeeping", "--data", dir, "--dry-run", "--json")
	var plan struct {
		Reclaim int64 `json:"reclaim_bytes"`
		Live    int64 `json:"live_chunks"`
		Chunks  int64 `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil || plan.Reclaim != 0 || plan.Live != plan.Chunks {
		t.Fatalf("housekeeping --dry-run: %d %q %v", code, out, err)
	}
	cli(t, nil, "rm", "--data", dir, "two")
	code, out, _ = cli(t, nil, "housekeeping", "--data", dir, "--dry-run", "--json")
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil || plan.Reclaim < int64(len(data)) {
		t.Fatalf("housekeeping --dry-run after deleting everything: %d %q %v", code, out, err)
	}
	code, out, _ = cli(t, nil, "gc", "--data", dir) // the old name still works
	if code != 0 || !strings.Contains(out, "reclaimed") || !strings.Contains(out, "dropped") {
		t.Fatalf("gc: %d %q", code, out)
	}
	code, out, _ = cli(t, nil, "stats", "--data", dir, "--json")
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Stored != 0 {
		t.Fatalf("stats after gc of everything: %d %q %v", code, out, err)
	}
}

func TestBadInputCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cases := []struct {
		name  string
		stdin []byte
		args  []string
		code  int
		want  string
	}{
		{"no args", nil, []string{}, 2, "Usage"},
		{"unknown command", nil, []string{"frobnicate"}, 2, "unknown command"},
		{"missing data dir", nil, []string{"ls", "--data", dir + "/nope"}, 1, "does not exist"},
		{"get missing item", nil, []string{"get", "--data", dir, "nothing"}, 1, "not found"},
		{"truncated stdin", []byte("short"), []string{"put", "--data", dir, "--size", "100", "x", "-"}, 1, "truncated"},
		{"bad name", []byte("x"), []string{"put", "--data", dir, "bad\x01name"}, 1, "control character"},
		{"bad store", []byte("x"), []string{"put", "--data", dir, "--store", "nope", "x"}, 1, "not found"},
		{"missing file", nil, []string{"put", "--data", dir, "x", "/nonexistent/file"}, 1, "no such file"},
		{"too many args", nil, []string{"get", "--data", dir, "a", "b", "c"}, 2, "want NAME"},
	}
	// Create the data directory first, so the cases see an existing one.
	if code, _, errs := cli(t, []byte("seed"), "put", "--data", dir, "seed"); code != 0 {
		t.Fatal(errs)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := cli(t, c.stdin, c.args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), output %q %q, want %q", code, c.code, out, errs, c.want)
			}
		})
	}
	if code, out, _ := cli(t, nil, "ls", "--data", dir); code != 0 || strings.Contains(out, " x\n") {
		t.Fatalf("a refused put left an item: %q", out)
	}
	ro := t.TempDir()
	os.Chmod(ro, 0o500)
	if os.Geteuid() != 0 { // root writes anywhere
		if code, _, errs := cli(t, []byte("x"), "put", "--data", ro, "x"); code != 1 || !strings.Contains(errs, "not writable") {
			t.Fatalf("read-only data dir: %d %q", code, errs)
		}
	}
}

// TestServe runs the real binary: on first start serve creates the admin
// user with a random password, prints it and keeps it in a 0600 file; the
// REST API answers on the printed address with that password; serve holds
// the data directory, so put refuses clearly; SIGTERM stops it cleanly.
func TestServe(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "backstop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "data")
	serve := exec.Command(bin, "serve", "--data", dir, "--web", "127.0.0.1:0", "--catalyst", "127.0.0.1:0", "--smb", "127.0.0.1:0", "--iscsi", "127.0.0.1:0", "--replication", "127.0.0.1:0")
	serve.Env = os.Environ()
	for i, kv := range serve.Env {
		if strings.HasPrefix(kv, "BACKSTOP_ADMIN_PASSWORD=") {
			serve.Env[i] = "BACKSTOP_ADMIN_PASSWORD_UNSET=1"
		}
	}
	stdout, _ := serve.StdoutPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var password, url string
	for url == "" && sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "created user admin with password "); ok {
			password = p
		}
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "web UI and REST API: "); ok {
			url = u
		}
	}
	if password == "" || url == "" {
		t.Fatalf("serve printed no password or address (password %q, url %q)", password, url)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	st, err := os.Stat(filepath.Join(dir, "initial-admin-password"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("initial-admin-password: %v %v", err, st)
	}
	if saved, _ := os.ReadFile(filepath.Join(dir, "initial-admin-password")); strings.TrimSpace(string(saved)) != password {
		t.Fatal("the saved password differs from the printed one")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	body := fmt.Sprintf(`{"username":"admin","password":%q}`, password)
	resp, err := client.Post(url+"api/v1/sessions", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("login with the printed password: %v %v", err, resp)
	}
	resp.Body.Close()

	put := exec.Command(bin, "put", "--data", dir, "x", "-")
	put.Stdin = strings.NewReader("data")
	out, err := put.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "held by process") {
		t.Fatalf("put while serve runs: %v %s", err, out)
	}
	serve.Process.Signal(syscall.SIGTERM)
	done := make(chan error)
	go func() { done <- serve.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	put = exec.Command(bin, "put", "--data", dir, "x", "-")
	put.Stdin = strings.NewReader("data")
	if out, err := put.CombinedOutput(); err != nil {
		t.Fatalf("put after serve stopped: %v %s", err, out)
	}
}

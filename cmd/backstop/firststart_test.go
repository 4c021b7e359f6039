package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// asNormalUser is cmd run as the user nobody when the test runs as root
// (setpriv), as the test's own user otherwise.
func asNormalUser(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", name}, args...)...)
}

// worldDir is a directory every user may use, removed when the test ends.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "backstop-firststart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// holdPort listens on 0.0.0.0:port until the test ends, so that serve
// finds it in use; when something else holds it already, serve finds it
// in use all the same.
func holdPort(t *testing.T, port int) {
	l, err := net.Listen("tcp", "0.0.0.0:"+strconv.Itoa(port))
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
}

// TestFirstStartAsNormalUser: serve as a normal user with the default
// SMB and iSCSI addresses (445 is privileged; 3260 is held here, as by
// another program) starts, says which are not listening and the flag
// that changes each, and the health shows them failed; the web UI, the
// one listener serve cannot do without, and the others run. Named on the
// command line, the same SMB address stops serve before it creates
// anything.
func TestFirstStartAsNormalUser(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n <= 445 {
			holdPort(t, 445) // normal users may bind 445 here: make it busy instead
		}
	}
	holdPort(t, 3260)
	work := worldDir(t)
	bin := filepath.Join(work, "backstop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(work, "data")

	// Named explicitly: refused before anything is created.
	explicit := asNormalUser(t, bin, "serve", "--data", data, "--web", "127.0.0.1:0", "--catalyst", "127.0.0.1:0",
		"--replication", "127.0.0.1:0", "--smb", "0.0.0.0:445")
	explicit.Env = append(os.Environ(), "BACKSTOP_ADMIN_PASSWORD=first-start-pw")
	out, err := explicit.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SMB cannot listen: bind 0.0.0.0:445: ") || !strings.Contains(string(out), "nothing was created") {
		t.Fatalf("serve --smb 0.0.0.0:445 as a normal user: %v\n%s", err, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("serve created %s before it stopped: %v", data, err)
	}

	// The defaults: serve runs without SMB and iSCSI.
	serve := asNormalUser(t, bin, "serve", "--data", data, "--web", "127.0.0.1:0", "--catalyst", "127.0.0.1:0", "--replication", "127.0.0.1:0")
	serve.Env = append(os.Environ(), "BACKSTOP_ADMIN_PASSWORD=first-start-pw")
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	serve.Stderr = &stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		syscall.Kill(-serve.Process.Pid, syscall.SIGTERM)
		if err := testwait.RecvWithin(t, exited, time.Minute); err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, stderr.String())
		}
	})
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- serve.Wait()
	}()
	var printed strings.Builder
	web := ""
	// The addresses, then what does not listen.
	for !strings.Contains(printed.String(), "the data directory is held") || !strings.Contains(printed.String(), "iSCSI not listening") {
		var line string
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended:\n%s\n%s", printed.String(), stderr.String())
			}
			line = l
		case <-time.After(time.Minute):
			t.Fatalf("serve did not start:\n%s\n%s", printed.String(), stderr.String())
		}
		printed.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "web UI and REST API: "); ok {
			web = u
		}
	}
	for _, want := range []string{"SMB not listening: bind 0.0.0.0:445: ", "; use --smb ADDR",
		"iSCSI not listening: bind 0.0.0.0:3260: address already in use; use --iscsi ADDR"} {
		if !strings.Contains(printed.String(), want) || !strings.Contains(stderr.String(), want) {
			t.Errorf("serve did not report %q:\n%s\n%s", want, printed.String(), stderr.String())
		}
	}
	if web == "" {
		t.Fatalf("serve printed no web address:\n%s", printed.String())
	}
	// The health, through the API, with backstop health.
	check := exec.Command(bin, "health", "--insecure", "--json", "--url", web+"api/v1/health")
	check.Env = append(os.Environ(), "BACKSTOP_PASSWORD=first-start-pw")
	out, _ = check.Output()
	var rep appliance.HealthReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("backstop health --json: %v %q", err, out)
	}
	want := map[string]appliance.HealthState{appliance.ComponentSMB: appliance.Failed, appliance.ComponentISCSI: appliance.Failed,
		appliance.ComponentWeb: appliance.OK, appliance.ComponentCatalyst: appliance.OK}
	for _, p := range rep.Components {
		if st, ok := want[p.Name]; ok {
			if p.State != st || st == appliance.Failed && !strings.Contains(p.Reason, "not listening") {
				t.Errorf("health part %s: %s %q, want %s", p.Name, p.State, p.Reason, st)
			}
			delete(want, p.Name)
		}
	}
	if len(want) > 0 || rep.State != appliance.Failed {
		t.Errorf("health %s, parts missing: %v\n%s", rep.State, want, out)
	}
	// Without a password, health only says the appliance answers.
	check = exec.Command(bin, "health", "--insecure", "--url", web+"api/v1/health")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BACKSTOP_PASSWORD=") {
			check.Env = append(check.Env, kv)
		}
	}
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "the appliance answers") {
		t.Errorf("backstop health without a password: %v %q", err, out)
	}
}

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/internal/testwait"
)

// buildBackstop builds the binary for tests that run it on a terminal.
func buildBackstop(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backstop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// onTerminal runs command (a shell line) on a pseudo-terminal of its own
// with script(1): what the test writes to the returned writer is typed
// on it, and lines reads what the terminal shows. The environment has no
// BACKSTOP_PASSWORD.
type terminal struct {
	in   io.WriteCloser
	mu   sync.Mutex
	seen strings.Builder
	more chan struct{} // a token whenever seen grows
	done chan error
}

func onTerminal(t *testing.T, command string) *terminal {
	t.Helper()
	cmd := exec.Command("script", "-qec", command, "/dev/null")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BACKSTOP_PASSWORD=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	term := &terminal{more: make(chan struct{}, 1), done: make(chan error, 1)}
	var err error
	if term.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
			if err != nil {
				term.done <- cmd.Wait()
				return
			}
		}
	}()
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

// waitFor waits until the terminal shows want (30 s at most).
func (term *terminal) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(term.text(), want) {
		select {
		case <-term.more:
		case <-deadline:
			t.Fatalf("the terminal never showed %q; it shows %q", want, term.text())
		}
	}
}

// TestPasswordPrompt: with --server and no BACKSTOP_PASSWORD, the
// command asks for the password on its terminal, without echoing it,
// and goes on with it; without a terminal it says how to give one.
func TestPasswordPrompt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := serveInProcess(t, dir)
	bin := buildBackstop(t)
	term := onTerminal(t, bin+" stats --insecure --server "+addr)
	term.waitFor(t, "Password for admin@"+addr+": ")
	if _, err := io.WriteString(term.in, "catalyst-test-pw\n"); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "DEDUP")
	if err := testwait.Recv(t, term.done); err != nil {
		t.Fatalf("stats on a terminal: %v\n%s", err, term.text())
	}
	if strings.Contains(term.text(), "catalyst-test-pw") {
		t.Fatalf("the password was echoed: %q", term.text())
	}
	// No terminal (a new session has none): the error says what to do.
	cmd := exec.Command(bin, "stats", "--insecure", "--server", addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BACKSTOP_PASSWORD=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "set BACKSTOP_PASSWORD, or run on a terminal") {
		t.Fatalf("stats with no password and no terminal: %v %q", err, out)
	}
}

// TestPutProgressOnTerminal: put of an input of known size (--size, here
// from a FIFO the test fills in two halves) shows the percentage, the
// rate and the time left on a terminal.
func TestPutProgressOnTerminal(t *testing.T) {
	bin := buildBackstop(t)
	dir := filepath.Join(t.TempDir(), "data")
	fifo := filepath.Join(t.TempDir(), "in")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	term := onTerminal(t, bin+" put --data "+dir+" --size 8M x "+fifo)
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := make([]byte, 4<<20)
	for i := range half {
		half[i] = byte(i * 7 / 5)
	}
	if _, err := w.Write(half); err != nil {
		t.Fatal(err)
	}
	// The engine counts whole chunks: a little of the first half may
	// wait for the second.
	term.waitFor(t, " of 8.0 MiB (4")
	if _, err := w.Write(half); err != nil {
		t.Fatal(err)
	}
	w.Close()
	term.waitFor(t, "stored default/x")
	if err := testwait.Recv(t, term.done); err != nil {
		t.Fatalf("put: %v\n%s", err, term.text())
	}
	line := term.text()[strings.Index(term.text(), " of 8.0 MiB (4"):]
	line, _, _ = strings.Cut(line, "\r")
	if !strings.Contains(line, "/s") || !strings.Contains(line, " left") {
		t.Fatalf("progress line without rate or time left: %q", line)
	}
}

func TestTransferLine(t *testing.T) {
	cases := []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{1 << 30, 4 << 30, 10 * time.Second, "1.0 GiB of 4.0 GiB (25%)  102.4 MiB/s  30s left  x"},
		{4 << 30, 4 << 30, 10 * time.Second, "4.0 GiB of 4.0 GiB (100%)  409.6 MiB/s  0s left  x"},
		{0, 4 << 30, 0, "0 B of 4.0 GiB (0%)  -  - left  x"},
		{1 << 20, -1, time.Second, "1.0 MiB  1.0 MiB/s  x"},
	}
	for _, c := range cases {
		if got := transferLine(c.done, c.total, c.elapsed, "x"); got != c.want {
			t.Errorf("transferLine(%d, %d, %v) = %q, want %q", c.done, c.total, c.elapsed, got, c.want)
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(make([]byte, 1234))
	if n := inputSize(f, -1); n != 1234 {
		t.Fatalf("size of a file: %d", n)
	}
	if n := inputSize(strings.NewReader("abc"), -1); n != -1 {
		t.Fatalf("size of a stream: %d", n)
	}
}

// TestRemoteErrorsInPlainWords: connection, TLS and permission errors of
// --server say what is wrong and what to do, never grpc-go's texts.
func TestRemoteErrorsInPlainWords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, web := serveAddrs(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "catalyst-test-pw")
	closed := freeAddr(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "--server", web, "--insecure"}, "is not the Catalyst service (the web port?"},
		{[]string{"ls", "--server", closed, "--insecure"}, "cannot reach the appliance at " + closed + ": nothing listens there"},
		{[]string{"ls", "--server", addr}, "its certificate is not trusted"},
		{[]string{"ls", "--server", "localhost:" + strings.Split(addr, ":")[1], "--ca", filepath.Join(dir, "tls", "cert.pem"), "--store", "nope"}, `store "nope" not found on localhost:`},
		{[]string{"stats", "--server", addr, "--insecure", "--user", "mallory"}, "refused user mallory: bad user or password"},
	}
	for _, c := range cases {
		code, out, errs := cli(t, nil, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "grpc") || strings.Contains(errs, "desc =") {
			t.Errorf("%v: exit %d, %q %q; want %q", c.args, code, out, errs, c.want)
		}
	}
	// The codes a server answers with, one by one.
	r := remote{server: "h:9387", user: "bob"}
	for code, want := range map[codes.Code]string{
		codes.PermissionDenied: "permission denied on h:9387 for user bob: store \"s\" (an administrator can grant it",
		codes.Unauthenticated:  "h:9387 refused user bob: bad user or password",
		codes.NotFound:         "item \"x\" not found on h:9387",
		codes.Unavailable:      "cannot reach the appliance at h:9387: no answer",
	} {
		msg := map[codes.Code]string{codes.PermissionDenied: "catalyst: permission denied: store \"s\"", codes.NotFound: "chunkstore: not found: item \"x\"",
			codes.Unavailable: "connection error: desc = \"transport: Error while dialing: dial tcp 10.0.0.1:9387: i/o timeout\""}[code]
		err := status.Error(code, msg)
		got := plainRemote(err, r)
		if !strings.Contains(got.Error(), want) || !errors.Is(got, err) {
			t.Errorf("%v: %q, want %q", code, got, want)
		}
	}
}

// serveAddrs runs serve in-process until the test ends and returns its
// Catalyst and web addresses.
func serveAddrs(t *testing.T, dir string) (catalystAddr, webAddr string) {
	t.Helper()
	t.Setenv("BACKSTOP_ADMIN_PASSWORD", "catalyst-test-pw")
	return serveWith(t, dir)
}

// serveWith runs serve in-process, with the admin password the caller
// set in BACKSTOP_ADMIN_PASSWORD, until the test ends, and returns its
// Catalyst and web (host:port) addresses.
func serveWith(t *testing.T, dir string) (catalystAddr, webAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, &env{name: "serve", stdout: pw, stderr: io.Discard},
			[]string{"--data", dir, "--web", "127.0.0.1:0", "--catalyst", "127.0.0.1:0", "--smb", "", "--iscsi", "", "--replication", "", "--log-level", "error"})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := testwait.Recv(t, done); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sc := bufio.NewScanner(pr)
	for (catalystAddr == "" || webAddr == "") && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if a, ok := strings.CutPrefix(line, "catalyst (client-side dedup, TLS): "); ok {
			catalystAddr = a
		}
		if u, ok := strings.CutPrefix(line, "web UI and REST API: https://"); ok {
			webAddr = strings.TrimSuffix(u, "/")
		}
	}
	go io.Copy(io.Discard, pr)
	if catalystAddr == "" || webAddr == "" {
		t.Fatal("serve printed no catalyst or web address")
	}
	return catalystAddr, webAddr
}

// freeAddr is a loopback address nothing listens on (one that was free
// a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

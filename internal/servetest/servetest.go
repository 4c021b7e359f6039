package servetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Package is the import path of the backstop command that Binary builds.
const Package = "github.com/backstop-appliance/backstop/cmd/backstop"

// LineTimeout is how long Line and Addr wait for serve to print the line
// they look for: serve opens its store and listeners first, which takes
// seconds on a loaded machine.
const LineTimeout = 60 * time.Second

// stopTimeout bounds Wait after the process is killed, in case something
// it started still holds its output open.
const stopTimeout = 10 * time.Second

// stderrTail is how many lines of serve's standard error a Serve keeps for
// the log of a failed test; under hostile load serve logs without end.
const stderrTail = 50

// Binary returns the path of a backstop binary: $BACKSTOP_BIN if it is
// set, else one built from this module into a temporary directory of t
// (the go build cache makes a second build in the same run cheap).
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("BACKSTOP_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "backstop")
	if out, err := exec.Command("go", "build", "-o", bin, Package).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// Serve is a running backstop process whose output a test reads.
type Serve struct {
	cmd    *exec.Cmd
	stdout *lines
	stderr *lines
	next   int // index into stdout of the line after the last one Line returned
}

// Start runs bin with args (for serve: "serve" and its flags) and env
// added to the test's environment. Its standard output and error are read
// to the end and kept for Line; when the test ends the process is killed
// and waited for (Line fails at once if it exits before), and if the test failed the last lines of its standard
// error are logged.
func Start(t testing.TB, bin string, args []string, env ...string) *Serve {
	t.Helper()
	s := &Serve{
		cmd:    exec.Command(bin, args...),
		stdout: newLines(0),
		stderr: newLines(stderrTail),
	}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.WaitDelay = stopTimeout
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { // Wait returns once the output is read to the end
		_ = s.cmd.Wait()
		s.stdout.close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(2 * stopTimeout):
			t.Errorf("%s did not exit after it was killed", filepath.Base(bin))
		}
		if t.Failed() {
			t.Logf("%s: last lines of standard error:\n%s", filepath.Base(bin), strings.Join(s.stderr.all(), "\n"))
		}
	})
	return s
}

// PID is the process's id.
func (s *Serve) PID() int { return s.cmd.Process.Pid }

// Line waits up to LineTimeout for the next line of standard output
// (after the one Line or Addr last returned) that starts with prefix once
// its indentation is trimmed, and returns the rest of it, trimmed. It
// fails the test if the process prints none: call it on the test's
// goroutine.
func (s *Serve) Line(t testing.TB, prefix string) string {
	t.Helper()
	deadline := time.NewTimer(LineTimeout)
	defer deadline.Stop()
	for {
		lines, changed, closed := s.stdout.snapshot()
		for i := s.next; i < len(lines); i++ {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), prefix); ok {
				s.next = i + 1
				return strings.TrimSpace(rest)
			}
		}
		if closed {
			t.Fatalf("serve exited without printing a line starting with %q; it printed:\n%s", prefix, strings.Join(lines, "\n"))
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("serve printed no line starting with %q in %v; it printed:\n%s", prefix, LineTimeout, strings.Join(lines, "\n"))
		}
	}
}

// Addr is Line's first word: the address in a line such as
// "SMB shares: 127.0.0.1:44445 (users and passwords of the appliance)".
func (s *Serve) Addr(t testing.TB, prefix string) string {
	t.Helper()
	addr, _, _ := strings.Cut(s.Line(t, prefix), " ")
	return addr
}

// RSS is the process's VmRSS in bytes; it fails the test if /proc has
// none. Call it on the test's goroutine.
func (s *Serve) RSS(t testing.TB) int64 {
	t.Helper()
	v, err := VmRSS(s.PID())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lines is an io.Writer that splits what it is given into lines and keeps
// them (the last max of them if max > 0), for a process's output.
type lines struct {
	mu      sync.Mutex
	max     int
	partial []byte
	kept    []string
	changed chan struct{} // closed and replaced when a line arrives
	closed  bool
}

func newLines(max int) *lines { return &lines{max: max, changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.kept = append(l.kept, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if l.max > 0 && len(l.kept) > 2*l.max {
		l.kept = append([]string(nil), l.kept[len(l.kept)-l.max:]...)
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// snapshot returns the lines so far, a channel closed when more arrive,
// and whether the writer was closed (the process exited).
func (l *lines) snapshot() ([]string, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kept[:len(l.kept):len(l.kept)], l.changed, l.closed
}

// all returns the kept lines (the last max of them) and the partial one.
func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.kept
	if l.max > 0 && len(out) > l.max {
		out = out[len(out)-l.max:]
	}
	out = append([]string(nil), out...)
	if len(l.partial) > 0 {
		out = append(out, string(l.partial))
	}
	return out
}

// close records that no more lines come and wakes the waiters.
func (l *lines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
}

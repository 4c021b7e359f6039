package servetest_test

import (
	"errors"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/backstop-appliance/backstop/internal/servetest"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// sh returns /bin/sh, or skips the test on a system without it.
func sh(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	return p
}

func TestLineAndAddr(t *testing.T) {
	// Printed as serve prints its listeners: indented, the address first,
	// the targets after the iSCSI line. The output arrives in pieces.
	script := `printf 'backstop serving\n  target early (before the address)\n  SMB shares: 127.0.0.1:4445 (users)\n  iSCSI virtual '
sleep 0.2
printf 'tape libraries: 127.0.0.1:3260\n    target iqn.2024-01.test:lib1 (lib1)\n'
echo oops >&2
exec sleep 60`
	s := servetest.Start(t, sh(t), []string{"-c", script}, "SERVETEST_X=1")
	if s.PID() <= 0 {
		t.Fatalf("PID %d", s.PID())
	}
	tests := []struct {
		prefix string
		addr   bool
		want   string
	}{
		{"SMB shares: ", true, "127.0.0.1:4445"},
		{"iSCSI virtual tape libraries: ", true, "127.0.0.1:3260"},
		{"target ", false, "iqn.2024-01.test:lib1 (lib1)"}, // the first after the last match
	}
	for _, tt := range tests {
		var got string
		if tt.addr {
			got = s.Addr(t, tt.prefix)
		} else {
			got = s.Line(t, tt.prefix)
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.prefix, got, tt.want)
		}
	}
	if rss := s.RSS(t); rss <= 0 {
		t.Errorf("RSS %d", rss)
	}
}

func TestEnv(t *testing.T) {
	s := servetest.Start(t, sh(t), []string{"-c", `echo "value: $SERVETEST_X"; exec sleep 60`}, "SERVETEST_X=42")
	if got := s.Line(t, "value: "); got != "42" {
		t.Errorf("got %q, want 42", got)
	}
}

// TestLineAfterExit checks that Line fails at once, rather than after
// LineTimeout, when the process exited without printing the line.
func TestLineAfterExit(t *testing.T) {
	ft := &fatalT{T: t}
	s := servetest.Start(t, sh(t), []string{"-c", "echo nothing here"})
	done := make(chan string, 1)
	go func() {
		defer func() { recover(); done <- "" }()
		done <- s.Line(ft, "SMB shares: ")
	}()
	// Well within LineTimeout: Line must not wait for it.
	if got := testwait.RecvWithin(t, done, servetest.LineTimeout/2); got != "" || !ft.failed.Load() {
		t.Errorf("Line after exit: got %q, failed %v; want a failure", got, ft.failed.Load())
	}
}

// fatalT records Fatalf and ends the goroutine as testing.T does, without
// failing the real test.
type fatalT struct {
	*testing.T
	failed atomic.Bool
}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.failed.Store(true)
	f.Logf("(expected) "+format, args...)
	panic("fatal")
}

func TestVmRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	rss, err := servetest.VmRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("VmRSS of this test: %d, %v", rss, err)
	}
	if _, err := servetest.VmRSS(-1); err == nil {
		t.Error("VmRSS of pid -1: no error")
	}
	// pid 2 is kthreadd on Linux: a kernel thread has no VmRSS.
	if _, err := servetest.VmRSS(2); err != nil && !errors.Is(err, servetest.ErrNoVmRSS) && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VmRSS of a kernel thread: %v", err)
	}
}

func TestSamplePeak(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	var n atomic.Int64
	seen := make(chan struct{})
	stop := servetest.SamplePeak(t, os.Getpid(), func(v int64) {
		if n.Add(1) == 3 {
			close(seen)
		}
	})
	testwait.Recv(t, seen)
	peak := stop()
	if peak < 1<<20 {
		t.Errorf("peak %d", peak)
	}
	if again := stop(); again != peak {
		t.Errorf("second stop: %d, first %d", again, peak)
	}
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds backstop; run without -short")
	}
	bin := servetest.Binary(t)
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("binary %s: %v", bin, err)
	}
}

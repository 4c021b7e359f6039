package smb2_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssBound is the growth of backstop serve's resident memory under the
// hostile pre-authentication load below: docs/smb.md ("Limits") bounds
// the buffers of unauthenticated connections by MaxConns x 72 KiB (36
// MiB with the defaults); 64 MiB leaves the Go runtime its margin.
const rssBound = 64 << 20

// negotiateTimeout is the serve flag the test sets, so that it waits
// seconds, not the default 20 s.
const negotiateTimeout = 5 * time.Second

// TestHostileRSS runs the real backstop serve with only SMB (and the web
// API it always needs) on 127.0.0.1 and opens, from four loopback
// addresses, 48 connections that announce 8 MiB frames and send all but
// 4 KiB of them,
// and 48 that announce frames just under the pre-session limit and
// dribble them. Its VmRSS must grow by less than rssBound, the first
// kind must be closed at once and the second within the negotiate
// timeout. It builds the binary (or runs $BACKSTOP_BIN), so it does not
// run under -short:
//
//	go test -run TestHostileRSS -count=1 ./nas/smb2/
func TestHostileRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs backstop serve; run without -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	bin := os.Getenv("BACKSTOP_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "backstop")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/backstop-appliance/backstop/cmd/backstop").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	serve := exec.Command(bin, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--smb", "127.0.0.1:0", "--iscsi", "", "--replication", "", "--catalyst", "off",
		"--smb-negotiate-timeout", negotiateTimeout.String())
	serve.Env = append(os.Environ(), "BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = io.Discard
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	addr := smbAddr(t, stdout)
	pid := serve.Process.Pid

	time.Sleep(2 * time.Second) // let start-up settle
	idle := vmRSS(t, pid)
	var peak peakRSS
	stop := peak.sample(t, pid)
	defer stop()

	const perAddr = 12
	var big, slow []*hostileConn
	for i := range 4 {
		src := fmt.Sprintf("127.0.0.%d", i+1)
		for range perAddr {
			big = append(big, openHostile(t, addr, src, 8<<20-1, 8<<20-4096))
			slow = append(slow, openHostile(t, addr, src, 65000, 64000))
		}
	}
	start := time.Now()
	for i, c := range big {
		if !c.closedBy(start.Add(10 * time.Second)) {
			t.Errorf("connection %d announcing an 8 MiB frame before a session is still open", i)
			break
		}
	}
	for i, c := range slow {
		if !c.closedBy(start.Add(negotiateTimeout + 20*time.Second)) {
			t.Errorf("slow connection %d still open %v after it was opened (negotiate timeout %v)", i, time.Since(start), negotiateTimeout)
			break
		}
	}
	stop()
	grew := peak.max() - idle
	t.Logf("VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB); slow connections closed within %v",
		idle>>20, peak.max()>>20, grew>>20, rssBound>>20, time.Since(start).Round(100*time.Millisecond))
	if grew > rssBound {
		t.Fatalf("VmRSS grew by %d MiB under hostile SMB load, bound %d MiB", grew>>20, rssBound>>20)
	}
}

// hostileConn is a connection that announced a frame and sends part of
// it, then dribbles a byte every half second; closed is closed when the
// server closes it.
type hostileConn struct {
	closed chan struct{}
}

func openHostile(t *testing.T, addr, src string, announce, send int) *hostileConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	h := &hostileConn{closed: make(chan struct{})}
	go func() {
		defer close(h.closed)
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		_, _ = io.Copy(io.Discard, c) // ends when the server closes
	}()
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(time.Minute))
		hdr := []byte{0, byte(announce >> 16), byte(announce >> 8), byte(announce)}
		if _, err := c.Write(append(hdr, make([]byte, send)...)); err != nil {
			return
		}
		for {
			select {
			case <-h.closed:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if _, err := c.Write([]byte{0}); err != nil {
				return
			}
		}
	}()
	return h
}

// closedBy waits until the server closed the connection or deadline.
func (h *hostileConn) closedBy(deadline time.Time) bool {
	select {
	case <-h.closed:
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}

// smbAddr reads serve's output up to the SMB address and drains the rest.
func smbAddr(t *testing.T, stdout io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(stdout)
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if a, ok := strings.CutPrefix(line, "SMB shares: "); ok {
				a, _, _ = strings.Cut(a, " ")
				found <- a
			}
		}
	}()
	select {
	case a := <-found:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("serve printed no SMB address")
		return ""
	}
}

func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("read status: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Errorf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Error("no VmRSS")
	return 0
}

// peakRSS samples a process's VmRSS and keeps the largest.
type peakRSS struct {
	mu   sync.Mutex
	peak int64
}

func (p *peakRSS) max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

func (p *peakRSS) sample(t *testing.T, pid int) func() {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			v := vmRSS(t, pid)
			p.mu.Lock()
			p.peak = max(p.peak, v)
			p.mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("the RSS sampler did not stop")
		}
	}
}

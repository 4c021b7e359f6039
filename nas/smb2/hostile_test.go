package smb2_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/servetest"
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
	serve := servetest.Start(t, servetest.Binary(t), []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--smb", "127.0.0.1:0", "--iscsi", "", "--replication", "", "--catalyst", "off",
		"--smb-negotiate-timeout", negotiateTimeout.String()},
		"BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	addr := serve.Addr(t, "SMB shares: ")

	time.Sleep(2 * time.Second) // let start-up settle
	idle := serve.RSS(t)
	stop := servetest.SamplePeak(t, serve.PID(), nil)
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
	peak := stop()
	grew := peak - idle
	t.Logf("VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB); slow connections closed within %v",
		idle>>20, peak>>20, grew>>20, rssBound>>20, time.Since(start).Round(100*time.Millisecond))
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

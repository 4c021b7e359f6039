package web

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// connBounds sets the connection bounds of the tests below.
func connBounds(_ *env, o *Options) {
	o.MaxConnsPerAddr = 2
	o.ReadHeaderTimeout = 500 * time.Millisecond
	o.MaxHeaderBytes = 8 << 10
}

// dialFrom opens a TCP connection to addr from the loopback address local.
func dialFrom(t *testing.T, addr, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closed c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestWebConnLimitPerAddr: the connection over MaxConnsPerAddr from one
// address is closed before its TLS handshake; other addresses are served.
func TestWebConnLimitPerAddr(t *testing.T) {
	e := newEnv(t, connBounds)
	addr := e.srv.Addr()
	// Two held connections that have not finished their handshake.
	dialFrom(t, addr, "127.0.0.7")
	dialFrom(t, addr, "127.0.0.7")
	if !closedWithin(dialFrom(t, addr, "127.0.0.7"), 10*time.Second) {
		t.Fatal("the third connection from one address is open")
	}
	if r := e.do(req{method: "GET", path: "/api/v1/openapi.json"}); r.status != 200 {
		t.Fatalf("another address: %d", r.status)
	}
}

// TestWebSlowHeaders: a connection that sends its request headers a byte
// at a time is closed after ReadHeaderTimeout (slowloris), and headers
// over MaxHeaderBytes are answered 431 without reading them all.
func TestWebSlowHeaders(t *testing.T) {
	e := newEnv(t, connBounds)
	tlsDial := func() *tls.Conn {
		c := tls.Client(dialFrom(t, e.srv.Addr(), "127.0.0.9"), &tls.Config{InsecureSkipVerify: true})
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c
	}

	slow := tlsDial()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.Copy(io.Discard, slow)
	}()
	start := time.Now()
	hdr := "GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
	go func() {
		for i := range len(hdr) {
			select {
			case <-closed:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{hdr[i]}); err != nil {
				return
			}
		}
	}()
	select {
	case <-closed:
		t.Logf("slow headers closed after %v (ReadHeaderTimeout 500ms)", time.Since(start).Round(10*time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("a connection dribbling its headers is open after 10 s (ReadHeaderTimeout 500ms)")
	}

	big := tlsDial()
	go func() {
		_, _ = io.WriteString(big, "GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(big), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers over an 8 KiB limit: %d, want 431", resp.StatusCode)
	}
}

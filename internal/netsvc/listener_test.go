package netsvc

import (
	"log/slog"
	"net"
	"testing"
	"time"
)

// dialAddr dials addr from the loopback address local.
func dialAddr(t *testing.T, addr, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: wait}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLimitListener: the wrapper that the gRPC and HTTPS listeners use
// refuses the connection over the per-address limit and over the total
// at accept, and counts a closed connection out.
func TestLimitListener(t *testing.T) {
	noLeak(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logged := &countHandler{}
	ln := LimitListener(raw, Options{MaxConns: 3, MaxConnsPerAddr: 2, Logger: slog.New(logged), RefusedLogInterval: time.Hour})
	accepted := make(chan net.Conn, 16)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	addr := ln.Addr().String()

	dialAddr(t, addr, "127.0.0.1")
	dialAddr(t, addr, "127.0.0.1")
	first := recv(t, accepted, "first connection")
	recv(t, accepted, "second connection")
	if c := dialAddr(t, addr, "127.0.0.1"); !closedSoon(c) {
		t.Fatal("a third connection from one address was not closed")
	}
	if r := ln.Refused(); r.PerAddr != 1 || r.Total != 0 {
		t.Fatalf("refused %+v, want one per address", r)
	}
	dialAddr(t, addr, "127.0.0.2")
	recv(t, accepted, "third connection")
	if c := dialAddr(t, addr, "127.0.0.3"); !closedSoon(c) {
		t.Fatal("a connection over the total was not closed")
	}
	if r := ln.Refused(); r.PerAddr != 1 || r.Total != 1 {
		t.Fatalf("refused %+v, want one per address and one total", r)
	}
	if n := logged.count.Load(); n != 1 {
		t.Fatalf("%d log lines about 2 refusals in one interval, want 1", n)
	}
	if n := ln.Conns(); n != 3 {
		t.Fatalf("Conns %d, want 3", n)
	}

	// Closing makes room, once however often it is closed.
	first.Close()
	first.Close()
	if n := ln.Conns(); n != 2 {
		t.Fatalf("Conns %d after a close, want 2", n)
	}
	dialAddr(t, addr, "127.0.0.1")
	recv(t, accepted, "a connection after another closed")
}

package netsvc

import (
	"net"
	"sync"
)

// Listener is a net.Listener with the connection limits of a Server, for
// the front ends whose accept loop is another library's (gRPC, net/http):
// a connection over Options.MaxConns, or over Options.MaxConnsPerAddr
// from its source address, is closed as soon as it is accepted, before a
// TLS handshake or a byte is read, and counted; a connection Accept
// returns is uncounted when it is closed. Safe for concurrent use.
type Listener struct {
	net.Listener
	gate *gate
}

// LimitListener wraps ln with the limits of o: MaxConns, MaxConnsPerAddr,
// and the refusal logging (Logger, RefusedLogInterval, Now); zero values
// take the defaults of DefaultOptions. The other fields are not used.
func LimitListener(ln net.Listener, o Options) *Listener {
	return &Listener{Listener: ln, gate: newGate(o.withDefaults())}
}

// Accept returns the next connection within the limits; connections over
// them are closed and Accept waits for another. An error of the wrapped
// listener is returned as is.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := sourceAddr(nc)
		if !l.gate.admit(host, l.Addr().String()) {
			_ = nc.Close()
			continue
		}
		return &limitedConn{Conn: nc, release: func() { l.gate.release(host) }}, nil
	}
}

// Conns reports the connections accepted and not yet closed.
func (l *Listener) Conns() int {
	l.gate.mu.Lock()
	defer l.gate.mu.Unlock()
	return l.gate.n
}

// Refused reports the connections refused since LimitListener.
func (l *Listener) Refused() Refusals { return l.gate.refused() }

// limitedConn uncounts itself once, at its first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

package netsvc

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// gate counts the connections served, in all and by source address, and
// refuses one over Options.MaxConns or Options.MaxConnsPerAddr: the
// counting that Server and Listener share.
type gate struct {
	opts Options

	// Connections refused, for Refused.
	refusedTotal, refusedPerAddr atomic.Uint64

	mu       sync.Mutex
	n        int            // connections admitted and not released
	perAddr  map[string]int // of them, by source address
	lastLog  time.Time      // of the last line about refusals
	unlogged uint64         // refusals since that line
}

func newGate(o Options) *gate { return &gate{opts: o, perAddr: map[string]int{}} }

// admit counts a new connection from host, or refuses it (false) when a
// limit is reached, counting and maybe logging the refusal; where is the
// listener's address, for the log.
func (g *gate) admit(host, where string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	var reason string
	switch {
	case g.n >= g.opts.MaxConns:
		reason = "connection limit reached"
		g.refusedTotal.Add(1)
	case g.perAddr[host] >= g.opts.MaxConnsPerAddr:
		reason = "per-address connection limit reached"
		g.refusedPerAddr.Add(1)
	default:
		g.n++
		g.perAddr[host]++
		return true
	}
	g.unlogged++
	if now := g.opts.Now(); g.lastLog.IsZero() || now.Sub(g.lastLog) >= g.opts.RefusedLogInterval {
		g.opts.Logger.Warn("netsvc: refusing connections", "addr", where, "reason", reason,
			"remote", host, "refused", g.unlogged, "max_conns", g.opts.MaxConns, "max_conns_per_addr", g.opts.MaxConnsPerAddr)
		g.lastLog, g.unlogged = now, 0
	}
	return false
}

// release uncounts a connection from host that admit counted.
func (g *gate) release(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.perAddr[host]--; g.perAddr[host] <= 0 {
		delete(g.perAddr, host)
	}
}

// refused reports the refusals so far.
func (g *gate) refused() Refusals {
	return Refusals{Total: g.refusedTotal.Load(), PerAddr: g.refusedPerAddr.Load()}
}

// sourceAddr is the IP address a connection comes from (its remote
// address as is when that has no port).
func sourceAddr(nc net.Conn) string {
	a := nc.RemoteAddr()
	if a == nil {
		return ""
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

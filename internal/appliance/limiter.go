package appliance

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ErrThrottled is what Limiter.Begin returns (as a *ThrottleError) when an
// attempt may not be checked now.
var ErrThrottled = errors.New("appliance: too many failed logins")

// ThrottleError is a refused login attempt: RetryAfter says when the same
// attempt may be made again.
type ThrottleError struct{ RetryAfter time.Duration }

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("appliance: too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// Recorder keeps events (State does).
type Recorder interface {
	Record(Event) Event
}

// LimiterOptions configure a Limiter. Zero fields take the value of
// DefaultLimiterOptions.
type LimiterOptions struct {
	// Window is how long a failure counts.
	Window time.Duration
	// PairFailures bounds the failures (attempts in flight included) of
	// one user name from one source address within Window.
	PairFailures int
	// AddrFailures bounds the failures from one source address (an IPv6
	// address counts as its /64) within Window, whatever the user names.
	AddrFailures int
	// UserFailures is how many failures of one user name, from all
	// addresses, turn on its slow-down: an address that has failures of
	// its own may then try that user once per UserInterval. An address
	// without failures is never slowed down or refused for another's.
	UserFailures int
	UserInterval time.Duration
	// MaxKeys bounds the addresses, pairs and users remembered; beyond
	// it (after dropping what has expired) attempts from new addresses
	// are refused until entries expire.
	MaxKeys int
	// AuditWindow and AuditPerKey: at most AuditPerKey events per
	// (protocol, address, user) in AuditWindow; the failures beyond are
	// counted and summed up in one later event. AuditMax bounds the
	// failed-login events of all keys per AuditWindow.
	AuditWindow time.Duration
	AuditPerKey int
	AuditMax    int
	// Audit records the failed logins; nil records nothing.
	Audit  Recorder
	Logger *slog.Logger
	Now    func() time.Time
}

// DefaultLimiterOptions are the values docs/security.md "Login throttling"
// documents.
func DefaultLimiterOptions() LimiterOptions {
	return LimiterOptions{
		Window:       15 * time.Minute,
		PairFailures: 5,
		AddrFailures: 20,
		UserFailures: 10,
		UserInterval: 2 * time.Second,
		MaxKeys:      100000,
		AuditWindow:  time.Minute,
		AuditPerKey:  1,
		AuditMax:     100,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:          time.Now,
	}
}

func (o LimiterOptions) withDefaults() LimiterOptions {
	d := DefaultLimiterOptions()
	if o.Window <= 0 {
		o.Window = d.Window
	}
	if o.PairFailures <= 0 {
		o.PairFailures = d.PairFailures
	}
	if o.AddrFailures <= 0 {
		o.AddrFailures = d.AddrFailures
	}
	if o.UserFailures <= 0 {
		o.UserFailures = d.UserFailures
	}
	if o.UserInterval <= 0 {
		o.UserInterval = d.UserInterval
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = d.MaxKeys
	}
	if o.AuditWindow <= 0 {
		o.AuditWindow = d.AuditWindow
	}
	if o.AuditPerKey <= 0 {
		o.AuditPerKey = d.AuditPerKey
	}
	if o.AuditMax <= 0 {
		o.AuditMax = d.AuditMax
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Limiter throttles the password checks of every protocol: web, Catalyst,
// SMB (NTLM) and iSCSI (CHAP) share one. Begin checks the budgets and
// reserves a failure under one lock, so concurrent attempts cannot all
// pass the check before any of them fails; the reservation is dropped
// when the attempt succeeds. It is safe for concurrent use.
type Limiter struct {
	o LimiterOptions

	mu         sync.Mutex
	pairs      map[string]*failures // addr + "\x00" + user
	addrs      map[string]*failures
	users      map[string]*userGate
	audit      auditState
	lastSweep  time.Time
	fullLogged time.Time // when "full" was last logged
}

// failures are the times of recent failures and reservations, oldest
// first, at most the budget of their key.
type failures struct {
	t        []time.Time
	inflight int // of t, the attempts not yet settled
}

// dirty reports whether the key has settled failures.
func (f *failures) dirty() bool { return f != nil && len(f.t) > f.inflight }

type userGate struct {
	failures
	next time.Time // when an address with failures may try again
}

// NewLimiter makes a limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	o = o.withDefaults()
	return &Limiter{o: o, pairs: map[string]*failures{}, addrs: map[string]*failures{},
		users: map[string]*userGate{}, audit: auditState{keys: map[string]*auditKey{}}}
}

// Begin asks to check one password of user from addr (a host or
// host:port) over protocol ("web", "catalyst", "smb", "iscsi"). A refusal
// is a *ThrottleError (errors.Is ErrThrottled), already audited, and the
// password must then not be checked. Otherwise done must be called once
// with the outcome; until then the attempt counts as a failure.
func (l *Limiter) Begin(protocol, addr, user string) (done func(ok bool), err error) {
	now := l.o.Now()
	a, u := addrKey(addr), truncate(user, MaxAuditName)
	l.mu.Lock()
	evs := l.sweep(now)
	wait := l.wait(now, a, u)
	if wait == 0 && len(l.pairs)+len(l.addrs)+len(l.users) >= l.o.MaxKeys && l.addrs[a] == nil {
		wait = l.o.Window
		if now.Sub(l.fullLogged) >= time.Minute {
			l.fullLogged = now
			l.o.Logger.Warn("appliance: login limiter full; refusing logins from new addresses", "keys", l.o.MaxKeys)
		}
	}
	if wait > 0 {
		evs = append(evs, l.auditLocked(now, protocol, a, u, "refused without checking: too many failed logins")...)
		l.mu.Unlock()
		l.record(evs)
		return nil, &ThrottleError{RetryAfter: wait}
	}
	pair, ad := l.entry(l.pairs, a+"\x00"+u), l.entry(l.addrs, a)
	pair.t, ad.t = append(pair.t, now), append(ad.t, now)
	pair.inflight++
	ad.inflight++
	if ad.dirty() {
		if g := l.users[u]; g != nil && len(g.t) >= l.o.UserFailures {
			g.next = now.Add(l.o.UserInterval)
		}
	}
	l.mu.Unlock()
	l.record(evs)
	var once sync.Once
	return func(ok bool) { once.Do(func() { l.finish(protocol, a, u, now, ok) }) }, nil
}

// Refused audits a failed login that checked no password (a malformed or
// oversized request, an anonymous logon where none is allowed).
func (l *Limiter) Refused(protocol, addr, user, reason string) {
	now := l.o.Now()
	l.mu.Lock()
	evs := l.auditLocked(now, protocol, addrKey(addr), truncate(user, MaxAuditName), reason)
	l.mu.Unlock()
	l.record(evs)
}

// wait is how long an attempt of u from a must wait; the caller holds mu.
func (l *Limiter) wait(now time.Time, a, u string) time.Duration {
	var wait time.Duration
	check := func(f *failures, budget int) {
		if f == nil {
			return
		}
		f.prune(now, l.o.Window)
		if n := len(f.t); n >= budget {
			wait = max(wait, f.t[n-budget].Add(l.o.Window).Sub(now))
		}
	}
	check(l.pairs[a+"\x00"+u], l.o.PairFailures)
	ad := l.addrs[a]
	check(ad, l.o.AddrFailures)
	if ad.dirty() { // only an address with failures is slowed for the user's
		if g := l.users[u]; g != nil {
			g.prune(now, l.o.Window)
			if len(g.t) >= l.o.UserFailures && now.Before(g.next) {
				wait = max(wait, g.next.Sub(now))
			}
		}
	}
	return wait
}

// record records events outside the lock.
func (l *Limiter) record(evs []Event) {
	if l.o.Audit == nil {
		return
	}
	for _, e := range evs {
		l.o.Audit.Record(e)
	}
}

// finish settles an attempt begun at t.
func (l *Limiter) finish(protocol, a, u string, t time.Time, ok bool) {
	now := l.o.Now()
	l.mu.Lock()
	pair, ad := l.pairs[a+"\x00"+u], l.addrs[a]
	for _, f := range []*failures{pair, ad} {
		if f != nil && f.inflight > 0 {
			f.inflight--
		}
	}
	if ok {
		delete(l.pairs, a+"\x00"+u) // the right password clears the pair
		if ad != nil {
			ad.remove(t)
		}
		l.mu.Unlock()
		return
	}
	g := l.users[u]
	if g == nil {
		g = &userGate{}
		l.users[u] = g
	}
	g.t = append(g.t, now)
	if n := len(g.t); n > l.o.UserFailures {
		g.t = append(g.t[:0], g.t[n-l.o.UserFailures:]...)
	}
	evs := l.auditLocked(now, protocol, a, u, "wrong user name or password")
	l.mu.Unlock()
	l.record(evs)
}

func (l *Limiter) entry(m map[string]*failures, k string) *failures {
	f := m[k]
	if f == nil {
		f = &failures{}
		m[k] = f
	}
	return f
}

// sweep drops expired entries once per AuditWindow, and flushes the
// audit counts of keys whose window has ended; the caller holds mu.
func (l *Limiter) sweep(now time.Time) []Event {
	since := now.Sub(l.lastSweep)
	full := len(l.pairs)+len(l.addrs)+len(l.users) >= l.o.MaxKeys
	if since < l.o.AuditWindow && (!full || since < time.Second) {
		return nil
	}
	l.lastSweep = now
	for k, f := range l.pairs {
		if f.prune(now, l.o.Window); len(f.t) == 0 {
			delete(l.pairs, k)
		}
	}
	for k, f := range l.addrs {
		if f.prune(now, l.o.Window); len(f.t) == 0 {
			delete(l.addrs, k)
		}
	}
	for k, g := range l.users {
		if g.prune(now, l.o.Window); len(g.t) == 0 && !now.Before(g.next) {
			delete(l.users, k)
		}
	}
	evs := l.audit.flush(now, l.o.AuditWindow)
	if len(evs) == 0 {
		return nil
	}
	return l.audit.cap(now, l.o.AuditWindow, l.o.AuditMax, evs)
}

func (f *failures) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(f.t) && !now.Before(f.t[i].Add(window)) {
		i++
	}
	if i > 0 {
		f.t = append(f.t[:0], f.t[i:]...)
	}
}

// remove drops one reservation made at t.
func (f *failures) remove(t time.Time) {
	for i := len(f.t) - 1; i >= 0; i-- {
		if f.t[i].Equal(t) {
			f.t = append(f.t[:i], f.t[i+1:]...)
			return
		}
	}
}

// addrKey is the host of addr; an IPv6 address stands for its /64, which
// one client usually has whole.
func addrKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return truncate(host, MaxAuditName)
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}

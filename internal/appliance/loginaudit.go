package appliance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxAuditName bounds the bytes of a user name (or address) that a
// failed-login event holds, before escaping.
const MaxAuditName = 64

// auditState rate-limits the failed-login events: per key (protocol,
// address, user) AuditPerKey events per AuditWindow, and AuditMax in all;
// what is held back is counted and told in one later event.
type auditState struct {
	keys    map[string]*auditKey
	start   time.Time // of the current window of AuditMax
	n       int       // events in it
	dropped int       // events held back by AuditMax in it
}

type auditKey struct {
	protocol, addr, user string
	start                time.Time
	n                    int // events recorded in this window
	held                 int // failures not recorded in it
}

// auditLocked notes one failed login and returns the events to record
// (none when the key or the whole log is over its budget); the caller
// holds mu and records them after unlocking.
func (l *Limiter) auditLocked(now time.Time, protocol, addr, user, reason string) []Event {
	if l.o.Audit == nil {
		return nil
	}
	s := &l.audit
	var evs []Event
	k := protocol + "\x00" + addr + "\x00" + user
	e := s.keys[k]
	if e != nil && !now.Before(e.start.Add(l.o.AuditWindow)) {
		if e.held > 0 {
			evs = append(evs, heldEvent(now, e))
		}
		e = nil
	}
	if e == nil {
		if len(s.keys) >= l.o.MaxKeys {
			evs = append(evs, s.flush(now, 0)...)
		}
		e = &auditKey{protocol: protocol, addr: addr, user: user, start: now}
		s.keys[k] = e
	}
	if e.n >= l.o.AuditPerKey {
		e.held++
		return s.cap(now, l.o.AuditWindow, l.o.AuditMax, evs)
	}
	e.n++
	evs = append(evs, Event{Time: now.UTC(), Level: LevelWarning, Kind: KindAudit, Actor: Escape(user),
		Action: "login.failed", Object: Escape(user),
		Message: fmt.Sprintf("%s login of %q from %s failed: %s", protocol, user, Escape(addr), reason)})
	return s.cap(now, l.o.AuditWindow, l.o.AuditMax, evs)
}

// cap applies AuditMax to evs.
func (s *auditState) cap(now time.Time, window time.Duration, limit int, evs []Event) []Event {
	if !now.Before(s.start.Add(window)) {
		if s.dropped > 0 {
			evs = append([]Event{{Time: now.UTC(), Level: LevelWarning, Kind: KindAudit, Action: "login.failed",
				Message: fmt.Sprintf("%d more failed-login events since %s not recorded (at most %d a window)",
					s.dropped, s.start.UTC().Format(time.RFC3339), limit)}}, evs...)
		}
		s.start, s.n, s.dropped = now, 0, 0
	}
	out := evs[:0]
	for _, e := range evs {
		if s.n >= limit {
			s.dropped++
			continue
		}
		s.n++
		out = append(out, e)
	}
	return out
}

// flush ends the windows older than window (all of them for 0), with an
// event for each that held failures back.
func (s *auditState) flush(now time.Time, window time.Duration) []Event {
	var evs []Event
	for k, e := range s.keys {
		if window == 0 || !now.Before(e.start.Add(window)) {
			if e.held > 0 {
				evs = append(evs, heldEvent(now, e))
			}
			delete(s.keys, k)
		}
	}
	return evs
}

func heldEvent(now time.Time, e *auditKey) Event {
	return Event{Time: now.UTC(), Level: LevelWarning, Kind: KindAudit, Actor: Escape(e.user), Action: "login.failed",
		Object: Escape(e.user), Message: fmt.Sprintf("%d more failed %s logins of %q from %s since %s",
			e.held, e.protocol, e.user, Escape(e.addr), e.start.UTC().Format(time.RFC3339))}
}

// truncate cuts s to at most n bytes, at a rune boundary, marking a cut
// with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-3]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// Escape makes a name from a client fit for a log line: at most
// MaxAuditName bytes, control characters, quotes and backslashes escaped
// as in a Go string, so that a name cannot forge a line or a field.
func Escape(s string) string {
	q := strconv.Quote(truncate(s, MaxAuditName))
	return strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`)
}

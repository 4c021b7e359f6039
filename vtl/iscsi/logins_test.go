package iscsi_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
)

// countingLimiter counts the attempts the limiter let through: only those
// reach the CHAP check.
type countingLimiter struct {
	*appliance.Limiter
	passed atomic.Int64
}

func (l *countingLimiter) Begin(protocol, addr, user string) (func(bool), error) {
	done, err := l.Limiter.Begin(protocol, addr, user)
	if err == nil {
		l.passed.Add(1)
	}
	return done, err
}

type events struct {
	mu  sync.Mutex
	evs []appliance.Event
}

func (l *events) Record(e appliance.Event) appliance.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
	return e
}

// loginFrom logs in from the loopback address local.
func loginFrom(t *testing.T, addr, local string, c initiator.Config) (*initiator.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := initiator.Login(ctx, nc, c)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

func TestWrongCHAPIsThrottled(t *testing.T) {
	audit := &events{}
	lim := &countingLimiter{Limiter: appliance.NewLimiter(appliance.LimiterOptions{Audit: audit})}
	f := start(t, func(o *iscsi.Options, s *source) {
		o.Logins = lim
		s.targets[0].CHAP = iscsi.CHAP{User: "alice", Secret: "alice-secret-12"}
	})
	chap := func(secret string) initiator.Config {
		c := cfg()
		c.CHAPUser, c.CHAPSecret = "alice", secret
		return c
	}
	var le *initiator.LoginError
	for i := range 30 {
		_, err := loginFrom(t, f.addr, "127.0.0.2", chap("wrong-secret-12"))
		if !errors.As(err, &le) || le.Class != 2 || le.Detail != 1 {
			t.Fatalf("wrong secret %d: %v", i, err)
		}
	}
	budget := int64(appliance.DefaultLimiterOptions().PairFailures)
	if n := lim.passed.Load(); n > budget {
		t.Fatalf("%d of 30 wrong CHAP responses were checked, want at most %d", n, budget)
	}
	// The attacker's address is refused even with the right secret...
	if _, err := loginFrom(t, f.addr, "127.0.0.2", chap("alice-secret-12")); !errors.As(err, &le) || le.Detail != 1 {
		t.Fatalf("right secret from the attacker's address: %v", err)
	}
	// ...another address gets in at once.
	s, err := loginFrom(t, f.addr, "127.0.0.3", chap("alice-secret-12"))
	if err != nil {
		t.Fatalf("right secret from another address: %v", err)
	}
	s.Close()
	audit.mu.Lock()
	defer audit.mu.Unlock()
	if len(audit.evs) == 0 || len(audit.evs) > 2 || !strings.Contains(audit.evs[0].Message, "iscsi") {
		t.Fatalf("audit events %+v", audit.evs)
	}
}

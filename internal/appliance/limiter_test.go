package appliance

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/testclock"
)

type eventList struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventList) Record(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
	return e
}

func (l *eventList) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

func newTestLimiter() (*Limiter, *eventList, *testclock.Clock) {
	evs, clk := &eventList{}, testclock.New(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	return NewLimiter(LimiterOptions{Audit: evs, Now: clk.Now}), evs, clk
}

// attempt runs one password check through the limiter.
func attempt(l *Limiter, addr, user string, right bool, checks *atomic.Int64) error {
	done, err := l.Begin("web", addr, user)
	if err != nil {
		return err
	}
	checks.Add(1)
	time.Sleep(time.Millisecond) // the check takes a while: others arrive meanwhile
	done(right)
	if !right {
		return errors.New("wrong")
	}
	return nil
}

func TestLimiterConcurrentFailuresReserveTheBudget(t *testing.T) {
	l, evs, _ := newTestLimiter()
	var checks atomic.Int64
	var wg sync.WaitGroup
	var throttled atomic.Int64
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errors.Is(attempt(l, "192.0.2.7:5000", "alice", false, &checks), ErrThrottled) {
				throttled.Add(1)
			}
		}()
	}
	wg.Wait()
	if got, want := checks.Load(), int64(DefaultLimiterOptions().PairFailures); got != want {
		t.Fatalf("%d of 30 concurrent wrong attempts were checked, want %d", got, want)
	}
	if throttled.Load() != 30-checks.Load() {
		t.Fatalf("throttled %d", throttled.Load())
	}
	// The same user from another address is not held back.
	if err := attempt(l, "198.51.100.9:6000", "alice", true, &checks); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	// The attacker's pair stays refused.
	var te *ThrottleError
	if err := attempt(l, "192.0.2.7:5001", "alice", true, &checks); !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("attacker's address: %v", err)
	}
	if n := len(evs.list()); n == 0 || n > 2 {
		t.Fatalf("%d audit events for one flood from one address, want 1 or 2: %+v", n, evs.list())
	}
}

func TestLimiterBudgets(t *testing.T) {
	o := DefaultLimiterOptions()
	var checks atomic.Int64
	t.Run("pair window passes", func(t *testing.T) {
		l, _, clk := newTestLimiter()
		for range o.PairFailures {
			if err := attempt(l, "192.0.2.1", "bob", false, &checks); errors.Is(err, ErrThrottled) {
				t.Fatal(err)
			}
		}
		if err := attempt(l, "192.0.2.1", "bob", true, &checks); !errors.Is(err, ErrThrottled) {
			t.Fatalf("over the pair budget: %v", err)
		}
		clk.Advance(o.Window)
		if err := attempt(l, "192.0.2.1", "bob", true, &checks); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
	t.Run("address budget over many users", func(t *testing.T) {
		l, _, _ := newTestLimiter()
		n := 0
		for i := range 100 {
			if err := attempt(l, "192.0.2.2", "user"+string(rune('a'+i%26))+string(rune('a'+i/26)), false, &checks); errors.Is(err, ErrThrottled) {
				break
			}
			n++
		}
		if n != o.AddrFailures {
			t.Fatalf("%d users tried from one address, want %d", n, o.AddrFailures)
		}
	})
	t.Run("IPv6 counts per /64", func(t *testing.T) {
		l, _, _ := newTestLimiter()
		for i := range o.PairFailures {
			addr := "[2001:db8::" + string(rune('1'+i)) + "]:445"
			if err := attempt(l, addr, "carol", false, &checks); errors.Is(err, ErrThrottled) {
				t.Fatal(err)
			}
		}
		if err := attempt(l, "[2001:db8::ff]:445", "carol", true, &checks); !errors.Is(err, ErrThrottled) {
			t.Fatalf("same /64: %v", err)
		}
	})
	t.Run("user slow-down spares clean addresses", func(t *testing.T) {
		l, _, clk := newTestLimiter()
		// Many addresses fail for dave: the user's slow-down is on.
		for i := range 2 * o.UserFailures {
			addr := "203.0.113." + string(rune('0'+i/10)) + string(rune('0'+i%10))
			attempt(l, addr, "dave", false, &checks)
		}
		// An address with failures may try dave once per UserInterval.
		if err := attempt(l, "203.0.113.00", "dave", false, &checks); err != nil && errors.Is(err, ErrThrottled) {
			t.Fatalf("first slowed attempt: %v", err)
		}
		if err := attempt(l, "203.0.113.01", "dave", false, &checks); !errors.Is(err, ErrThrottled) {
			t.Fatalf("second slowed attempt within the interval: %v", err)
		}
		clk.Advance(o.UserInterval)
		if err := attempt(l, "203.0.113.01", "dave", false, &checks); errors.Is(err, ErrThrottled) {
			t.Fatalf("after the interval: %v", err)
		}
		// A clean address is never slowed down.
		for range 3 {
			if err := attempt(l, "198.51.100.1", "dave", true, &checks); err != nil {
				t.Fatalf("clean address: %v", err)
			}
		}
	})
}

func TestLimiterAuditIsBoundedAndEscaped(t *testing.T) {
	l, evs, clk := newTestLimiter()
	var checks atomic.Int64
	name := "evil\n{\"id\":1}\r" + strings.Repeat("x", 1<<20)
	for range 40 {
		attempt(l, "192.0.2.9", name, false, &checks)
	}
	got := evs.list()
	if len(got) != 1 {
		t.Fatalf("%d events for 40 failures of one key in one window", len(got))
	}
	for _, s := range []string{got[0].Actor, got[0].Object, got[0].Message} {
		if strings.ContainsAny(s, "\n\r") || len(s) > 4*MaxAuditName+200 {
			t.Fatalf("event field %q", s)
		}
	}
	// The held-back count is told once the window ends.
	clk.Advance(2 * time.Minute)
	l.Begin("web", "198.51.100.3", "someone")
	got = evs.list()
	if len(got) != 2 || !strings.Contains(got[1].Message, "39 more failed web logins") {
		t.Fatalf("events after the window: %+v", got)
	}
	// Many keys: at most AuditMax events a window.
	for i := range 500 {
		l.Refused("smb", "192.0.2."+string(rune('0'+i%10)), "u"+strings.Repeat("y", i), "test")
	}
	if n := len(evs.list()); n > 2+DefaultLimiterOptions().AuditMax {
		t.Fatalf("%d events", n)
	}
}

package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Errors callers can test for with errors.Is.
var (
	ErrNoTarget = errors.New("alert: no such target")
	ErrClosed   = errors.New("alert: dispatcher closed")
	ErrDelivery = errors.New("alert: delivery failed")
)

// settings is what the dispatcher needs of the appliance state: the
// targets, read again for every event so a change applies at once.
type settings interface {
	Settings() appliance.Settings
}

// Options configure a Dispatcher. Zero fields take their defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Queue bounds the events waiting for delivery; when it is full the
	// oldest is dropped and counted (default 1000).
	Queue int
	// Hostname names the appliance in messages (default os.Hostname).
	Hostname string
	// RetryBase is the first back-off of a webhook retry, doubled each
	// time up to RetryMax (defaults 1 s and 1 min).
	RetryBase, RetryMax time.Duration
	// LoginWindow is the window failed logins are counted in (15 min).
	LoginWindow time.Duration
}

// DefaultOptions are the settings backstop ships with.
func DefaultOptions() Options {
	host, _ := os.Hostname()
	return Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, Queue: 1000,
		Hostname: host, RetryBase: time.Second, RetryMax: time.Minute, LoginWindow: 15 * time.Minute}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Queue <= 0 {
		o.Queue = d.Queue
	}
	if o.Hostname == "" {
		o.Hostname = d.Hostname
	}
	if o.RetryBase <= 0 {
		o.RetryBase = d.RetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	if o.LoginWindow <= 0 {
		o.LoginWindow = d.LoginWindow
	}
	return o
}

// Stats count what the dispatcher did.
type Stats struct {
	Queued    int64 `json:"queued"`    // events waiting now
	Delivered int64 `json:"delivered"` // messages a target accepted
	Failed    int64 `json:"failed"`    // messages given up on after their retries
	Dropped   int64 `json:"dropped"`   // events dropped from a full queue
}

// Dispatcher delivers appliance events to the targets whose rules they
// match. Notify only queues; one goroutine (Run) delivers.
type Dispatcher struct {
	st   settings
	opts Options
	log  *slog.Logger

	mu     sync.Mutex // guards queue and closed
	queue  []appliance.Event
	closed bool
	wake   chan struct{} // capacity 1: something was queued

	logins map[string][]loginMark // failed logins by user; only Run's goroutine uses it

	delivered, failed, dropped atomic.Int64
}

type loginMark struct {
	t time.Time
	n int
}

// New makes a dispatcher over the appliance settings; call Run.
func New(st settings, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	return &Dispatcher{st: st, opts: opts, log: opts.Logger, logins: map[string][]loginMark{}, wake: make(chan struct{}, 1)}
}

// Notify queues e for delivery. It never blocks: when the queue is full
// the oldest event is dropped and counted. It is what
// appliance.State.Subscribe calls.
func (d *Dispatcher) Notify(e appliance.Event) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if len(d.queue) >= d.opts.Queue {
		d.queue = d.queue[1:]
		if n := d.dropped.Add(1); n&(n-1) == 0 { // log the 1st, 2nd, 4th, 8th... drop
			d.log.Warn("alert: queue full, dropped the oldest event", "dropped", n)
		}
	}
	d.queue = append(d.queue, e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// classify sets the level alerts see of a failed-login event: warning
// when the user's failures within LoginWindow (by the events' times)
// reach the threshold, info below it. A summary event ("N more failed
// ...") counts N. Only Run's goroutine calls it: Notify takes no lock
// but the queue's, so that it may be called under any lock of the
// recorder's.
func (d *Dispatcher) classify(e appliance.Event) appliance.Event {
	if e.Action != "login.failed" {
		return e
	}
	n := 1
	if f := strings.Fields(e.Message); len(f) > 2 && f[1] == "more" {
		if v, err := strconv.Atoi(f[0]); err == nil && v > 0 {
			n = v
		}
	}
	now := e.Time
	if now.IsZero() {
		now = d.opts.Now()
	}
	marks := d.logins[e.Object]
	i := 0
	for i < len(marks) && now.Sub(marks[i].t) >= d.opts.LoginWindow {
		i++
	}
	marks = append(marks[i:], loginMark{now, n})
	total := 0
	for _, m := range marks {
		total += m.n
	}
	if len(d.logins) > 10000 { // bound memory against user-name sprays
		clear(d.logins)
	}
	d.logins[e.Object] = marks
	threshold := d.st.Settings().Alerts.LoginThreshold
	if threshold <= 0 {
		threshold = 5
	}
	e.Level = appliance.LevelInfo
	if total >= threshold {
		e.Level = appliance.LevelWarning
		e.Message = fmt.Sprintf("%s (%d failed logins of this user within %s)", e.Message, total, d.opts.LoginWindow)
	}
	return e
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	q := len(d.queue)
	d.mu.Unlock()
	return Stats{Queued: int64(q), Delivered: d.delivered.Load(), Failed: d.failed.Load(), Dropped: d.dropped.Load()}
}

// Run delivers queued events until ctx ends; then it stops taking new
// ones and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	defer func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
	}()
	for {
		d.mu.Lock()
		var e appliance.Event
		ok := len(d.queue) > 0
		if ok {
			e = d.queue[0]
			d.queue = d.queue[1:]
		}
		d.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
				continue
			}
		}
		d.deliver(ctx, d.classify(e))
	}
}

// deliver sends e to every enabled target whose rule it matches, at once.
func (d *Dispatcher) deliver(ctx context.Context, e appliance.Event) {
	var wg sync.WaitGroup
	for _, t := range d.st.Settings().Alerts.Targets {
		if t.Disabled || !Match(t, e) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.send(ctx, t, Message{Appliance: d.opts.Hostname, Event: e}); err != nil {
				d.failed.Add(1)
				d.log.Error("alert: not delivered", "target", t.Name, "type", t.Type, "event", e.ID, "err", err)
				return
			}
			d.delivered.Add(1)
		}()
	}
	wg.Wait()
}

// Test sends a test message to the target named name and returns what
// became of it.
func (d *Dispatcher) Test(ctx context.Context, name string) error {
	for _, t := range d.st.Settings().Alerts.Targets {
		if t.Name == name {
			return d.TestTarget(ctx, t)
		}
	}
	return fmt.Errorf("%w: %q", ErrNoTarget, name)
}

// TestTarget sends a test message to t, which need not be saved yet.
func (d *Dispatcher) TestTarget(ctx context.Context, t appliance.AlertTarget) error {
	if err := t.Validate(); err != nil {
		return err
	}
	e := appliance.Event{Time: d.opts.Now().UTC(), Level: appliance.LevelInfo, Kind: appliance.KindSystem,
		Action: "alert.test", Object: t.Name, Message: "test message from backstop: alerts to " + t.Name + " arrive"}
	return d.send(ctx, t, Message{Appliance: d.opts.Hostname, Event: e, Test: true})
}

func (d *Dispatcher) send(ctx context.Context, t appliance.AlertTarget, m Message) error {
	switch {
	case t.Webhook != nil:
		return d.postWebhook(ctx, *t.Webhook, m)
	case t.Email != nil:
		return sendMail(ctx, *t.Email, m)
	case t.Syslog != nil:
		return sendSyslog(ctx, *t.Syslog, m, d.opts.Now())
	}
	return fmt.Errorf("%w: target %q has no settings", ErrDelivery, t.Name)
}

// Match reports whether e matches t's rule: a level of at least MinLevel
// (default warning), a kind of Kinds and an action of Actions when given.
func Match(t appliance.AlertTarget, e appliance.Event) bool {
	min := t.MinLevel
	if min == "" {
		min = appliance.LevelWarning
	}
	if rank(e.Level) < rank(min) {
		return false
	}
	if len(t.Kinds) > 0 && !contains(t.Kinds, e.Kind) {
		return false
	}
	if len(t.Actions) == 0 {
		return true
	}
	for _, a := range t.Actions {
		if a == e.Action || (strings.HasSuffix(a, "*") && strings.HasPrefix(e.Action, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func rank(level string) int {
	switch level {
	case appliance.LevelError:
		return 2
	case appliance.LevelWarning:
		return 1
	}
	return 0
}

package appliance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Engine is what the core needs of the dedup engine (a *chunkstore.Engine):
// housekeeping, its dry run, and verify (all of it, or a slice).
type Engine interface {
	Housekeep(ctx context.Context, opts chunkstore.HousekeepingOptions) (chunkstore.HousekeepingReport, error)
	PlanHousekeeping(ctx context.Context, threshold float64) (chunkstore.HousekeepingPlan, error)
	VerifySlice(ctx context.Context, slices int, progress func(chunkstore.VerifyProgress)) (chunkstore.VerifyReport, error)
}

// Ledger is what the core needs of the appliance state (a *State): the
// settings, whose blackout windows and automatic housekeeping it obeys,
// and the event log its jobs write to.
type Ledger interface {
	Settings() Settings
	Record(Event) Event
}

// CoreOptions configure a Core. Start from DefaultCoreOptions; zero fields
// take its values.
type CoreOptions struct {
	Now    func() time.Time
	Logger *slog.Logger
	// MaintenanceTick is how often a job waiting out a blackout window
	// looks at the clock again, and how often automatic housekeeping
	// checks whether it is due.
	MaintenanceTick time.Duration
	// Owners tells the access policy who owns each store (cmd/backstop
	// wires the shares, the libraries and the engine); nil: StoreOwners
	// over the engine when it has Store (a *chunkstore.Engine does), else
	// the policy refuses every store's items.
	Owners Owners
	// HealthDir is where the health registry keeps health.json
	// (DIR/appliance); "": in memory only.
	HealthDir string
	// TaskDir is where the task log keeps its tasks (DIR/appliance/tasks);
	// "": in memory only. MaxTasks bounds it (default DefaultMaxTasks).
	TaskDir  string
	MaxTasks int
	// Namer names damaged items by share and path, library and barcode
	// (cmd/backstop wires the share and library managers); nil: by store
	// and item.
	Namer Namer
	// HealthTick is how often the damage list drops the items deleted
	// since (default 30 s).
	HealthTick time.Duration
}

// DefaultCoreOptions are the settings backstop serve uses.
func DefaultCoreOptions() CoreOptions {
	return CoreOptions{
		Now:             time.Now,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaintenanceTick: 30 * time.Second,
		HealthTick:      30 * time.Second,
	}
}

func (o CoreOptions) withDefaults() CoreOptions {
	d := DefaultCoreOptions()
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.MaintenanceTick <= 0 {
		o.MaintenanceTick = d.MaintenanceTick
	}
	if o.HealthTick <= 0 {
		o.HealthTick = d.HealthTick
	}
	return o
}

// ErrCoreStarted is returned by Start when the core was started before.
var ErrCoreStarted = errors.New("appliance: core already started")

// Core is the appliance core: what the appliance does, whichever protocol
// asks. It runs the background jobs (verify, housekeeping and automatic
// housekeeping, inside the blackout windows' limits), keeps the health of
// the appliance's parts and holds the access policy. Front ends map their
// protocol onto it. It is safe for concurrent use.
type Core struct {
	eng    Engine
	ledger Ledger
	opts   CoreOptions
	log    *slog.Logger
	now    func() time.Time
	health *Health
	policy Policy
	hk     *HousekeepingJob
	verify *VerifyJob
	tasks  *TaskLog
	// jobsMu serialises starting jobs: verify and housekeeping take turns.
	jobsMu sync.Mutex

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	bg      sync.WaitGroup
}

// NewCore makes the core over the engine and the appliance state. Its
// jobs may be started at once; automatic housekeeping runs from Start to
// Shutdown.
func NewCore(eng Engine, ledger Ledger, opts CoreOptions) *Core {
	opts = opts.withDefaults()
	owners := opts.Owners
	if st, ok := eng.(StoreLookup); ok && owners == nil {
		owners = StoreOwners{Stores: st}
	}
	health := OpenHealth(HealthOptions{Now: opts.Now, Dir: opts.HealthDir, Events: ledger, Logger: opts.Logger})
	c := &Core{eng: eng, ledger: ledger, opts: opts, log: opts.Logger, now: opts.Now,
		health: health, policy: NewPolicy(owners)}
	c.tasks = OpenTaskLog(TaskLogOptions{Dir: opts.TaskDir, MaxTasks: opts.MaxTasks, Now: opts.Now, Logger: opts.Logger})
	c.hk = newHousekeepingJob(c)
	c.verify = newVerifyJob(c)
	return c
}

// Housekeeping is the housekeeping job.
func (c *Core) Housekeeping() *HousekeepingJob { return c.hk }

// Verify is the verify job.
func (c *Core) Verify() *VerifyJob { return c.verify }

// Tasks is the task log: every run of the jobs, and what other long
// operations record in it.
func (c *Core) Tasks() *TaskLog { return c.tasks }

// Health is the registry of the appliance's parts and their state.
func (c *Core) Health() *Health { return c.health }

// Policy is the access policy every front end asks.
func (c *Core) Policy() Policy { return c.policy }

// Start runs automatic housekeeping and scheduled verify in the
// background until Shutdown.
func (c *Core) Start(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return ErrCoreStarted
	}
	c.started = true
	bg, stop := context.WithCancel(context.Background())
	c.stop = stop
	c.bg.Add(3)
	go func() {
		defer c.bg.Done()
		c.runAutoHousekeeping(bg)
	}()
	go func() {
		defer c.bg.Done()
		c.runAutoVerify(bg)
	}()
	go func() {
		defer c.bg.Done()
		c.runDamageRefresh(bg)
	}()
	return nil
}

// RefreshDamage drops from the health's damage the items deleted since
// the verify and names the others again (see Health.RefreshDamage). It
// does nothing when the engine cannot Stat items.
func (c *Core) RefreshDamage(ctx context.Context) error {
	st, ok := c.eng.(ItemStat)
	if !ok {
		return nil
	}
	return c.health.RefreshDamage(ctx, st, c.opts.Namer)
}

// runDamageRefresh refreshes the damage at start and every HealthTick
// until ctx ends: items are deleted through every protocol, and this
// catches them all.
func (c *Core) runDamageRefresh(ctx context.Context) {
	t := time.NewTicker(c.opts.HealthTick)
	defer t.Stop()
	for {
		if err := c.RefreshDamage(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("health: refresh damage", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown stops automatic housekeeping, then cancels any verify or
// housekeeping run and waits for it, or for ctx. It may be called more
// than once, and without Start.
func (c *Core) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	stop := c.stop
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	c.bg.Wait() // automatic housekeeping starts no run after this
	return errors.Join(c.verify.stop(ctx), c.hk.stop(ctx))
}

// startJob starts one of the core's jobs unless a blackout window holds
// or the other job runs: verify and housekeeping take turns, as the
// engine's maintenance lock demands.
func (c *Core) startJob(name string, start func() error) error {
	c.jobsMu.Lock()
	defer c.jobsMu.Unlock()
	return c.startJobLocked(name, start)
}

// startJobLocked is startJob for a caller that holds jobsMu.
func (c *Core) startJobLocked(name string, start func() error) error {
	if c.inBlackout() {
		return refuse(ErrBlackout, "a blackout window is in force; %s may not start now", name)
	}
	if name != "verify" && c.verify.active() {
		return refuse(ErrJobBusy, "verify is running; %s waits until it ends (they take turns)", name)
	}
	if name != "housekeeping" && c.hk.active() {
		return refuse(ErrJobBusy, "housekeeping is running; %s waits until it ends (they take turns)", name)
	}
	return start()
}

// inBlackout reports whether a blackout window holds now.
func (c *Core) inBlackout() bool {
	return c.ledger.Settings().InBlackout(c.now())
}

// record stamps and records an event.
func (c *Core) record(e Event) {
	if e.Time.IsZero() {
		e.Time = c.now().UTC()
	}
	c.ledger.Record(e)
}

package appliance

import (
	"context"
	"fmt"
	"time"
)

// Bounds of scheduled verify.
const (
	MaxVerifyDays = 366 // the longest cycle, in days
	// verifyEvery is how often scheduled verify checks a slice: daily.
	verifyEvery = 24 * time.Hour
)

// VerifySchedule is scheduled verify: when Auto is on, the appliance
// verifies a slice of the stored data once a day, the containers checked
// longest ago first, so that all of it has been read back every EveryDays
// days. Like automatic housekeeping it starts outside blackout windows
// only, waits while housekeeping runs, and a run that meets a blackout
// window waits it out. The zero value is off.
type VerifySchedule struct {
	Auto      bool `json:"auto"`
	EveryDays int  `json:"every_days"` // 1 to MaxVerifyDays
}

// Validate checks the cycle; the zero value (off) is valid.
func (v VerifySchedule) Validate() error {
	if v == (VerifySchedule{}) {
		return nil
	}
	if v.EveryDays < 1 || v.EveryDays > MaxVerifyDays {
		return fmt.Errorf("%w: verify every %d days: want 1 to %d", ErrInvalid, v.EveryDays, MaxVerifyDays)
	}
	return nil
}

// nextAutoVerify is when scheduled verify is next due: a day after the
// last scheduled run started (as the task log remembers it, across
// restarts), or now if there was none.
func (c *Core) nextAutoVerify() time.Time {
	if t, ok := c.tasks.LastStarted(TaskVerify, true); ok {
		return t.Started.Add(verifyEvery)
	}
	return c.now()
}

// runAutoVerify is scheduled verify: every MaintenanceTick it shows when
// the next slice is due and, once due, runs AutoVerify. It returns when
// ctx is done.
func (c *Core) runAutoVerify(ctx context.Context) {
	t := time.NewTicker(c.opts.MaintenanceTick)
	defer t.Stop()
	for {
		var next *time.Time
		if c.ledger.Settings().Verify.Auto {
			n := c.nextAutoVerify().UTC()
			next = &n
		}
		c.verify.update(func(d *VerifyDetail) { d.NextAutoVerify = next })
		if next != nil && !c.now().Before(*next) {
			c.AutoVerify()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AutoVerify is one check of scheduled verify: when it is on and due, and
// no blackout window or job stands in the way, it starts a verify of a
// 1/EveryDays slice. It reports whether it started one.
func (c *Core) AutoVerify() bool {
	vs := c.ledger.Settings().Verify
	if !vs.Auto || vs.Validate() != nil || c.now().Before(c.nextAutoVerify()) {
		return false
	}
	c.jobsMu.Lock()
	defer c.jobsMu.Unlock()
	if c.inBlackout() || c.verify.active() || c.hk.active() {
		return false
	}
	msg := fmt.Sprintf("scheduled verify started: a 1/%d slice, so all data is read back every %d days", vs.EveryDays, vs.EveryDays)
	if vs.EveryDays == 1 {
		msg = "scheduled verify started: all data, daily"
	}
	if err := c.startJobLocked("verify", func() error { return c.verify.begin(vs.EveryDays, true, msg) }); err != nil {
		c.log.Info("scheduled verify did not start", "err", err)
		return false
	}
	return true
}

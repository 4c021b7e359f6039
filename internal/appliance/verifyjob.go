package appliance

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// VerifyStatus is the verify job's state and progress.
type VerifyStatus struct {
	JobInfo
	VerifyDetail
}

// VerifyDetail is the verify's own part of its status.
type VerifyDetail struct {
	Containers     int            `json:"containers"`
	ContainersDone int            `json:"containers_done"`
	Bytes          int64          `json:"bytes"`
	BytesDone      int64          `json:"bytes_done"`
	Damage         []VerifyDamage `json:"damage"`
	// Slices: the run checks 1/Slices of the stored bytes, those verified
	// longest ago (1: all of them).
	Slices int `json:"slices"`
	// Auto: the verify schedule started the run.
	Auto bool `json:"auto"`
	// NextAutoVerify is when scheduled verify next runs; null when off.
	NextAutoVerify *time.Time `json:"next_auto_verify"`
	report         chunkstore.VerifyReport
}

// VerifyDamage is a chunkstore.Damage with the fingerprint in hex.
type VerifyDamage struct {
	Container uint64   `json:"container"`
	Volume    uint32   `json:"volume"`
	Offset    int64    `json:"offset"`
	Chunk     string   `json:"chunk,omitempty"` // empty: the whole container
	Problem   string   `json:"problem"`
	Items     []string `json:"items"`
	// Names are the items as users know them (share and path, library
	// and barcode), in the order of Items.
	Names []string `json:"names"`
}

func viewDamage(ds []chunkstore.Damage, named []DamagedItem) []VerifyDamage {
	names := make(map[string]string, len(named))
	for _, n := range named {
		names[n.Store+"/"+n.Item] = n.Name
	}
	out := make([]VerifyDamage, 0, len(ds))
	for _, d := range ds {
		v := VerifyDamage{Container: d.Container, Volume: d.Volume, Offset: d.Offset, Problem: d.Problem, Items: d.Items,
			Names: make([]string, 0, len(d.Items))}
		for _, it := range d.Items {
			n, ok := names[it]
			if !ok {
				n = it
			}
			v.Names = append(v.Names, n)
		}
		if d.Chunk != nil {
			v.Chunk = d.Chunk.String()
		}
		if v.Items == nil {
			v.Items = []string{}
		}
		out = append(out, v)
	}
	return out
}

// VerifyJob runs at most one engine verify at a time. Pause and blackout
// windows block the engine inside its progress callback, between
// containers; cancel ends it through its context. A run's outcome sets
// the health of ComponentVerify.
type VerifyJob struct {
	*job[VerifyDetail]
}

func newVerifyJob(c *Core) *VerifyJob {
	fresh := func(prev VerifyDetail) VerifyDetail {
		return VerifyDetail{Damage: []VerifyDamage{}, Slices: 1, NextAutoVerify: prev.NextAutoVerify}
	}
	return &VerifyJob{newJob(c, "verify", fresh(VerifyDetail{}), fresh, verifyEvent, describeVerify)}
}

// describeVerify is a verify's progress for its task.
func describeVerify(d VerifyDetail) (float64, string) {
	var f float64
	if d.Bytes > 0 {
		f = float64(d.BytesDone) / float64(d.Bytes)
	}
	text := fmt.Sprintf("%d of %d containers (%s of %s)", d.ContainersDone, d.Containers, humanBytes(d.BytesDone), humanBytes(d.Bytes))
	if d.Slices > 1 {
		text += fmt.Sprintf(", a 1/%d slice", d.Slices)
	}
	return f, text
}

// Status is the job's state and progress now.
func (j *VerifyJob) Status() VerifyStatus {
	info, d := j.snapshot()
	d.Damage = append([]VerifyDamage{}, d.Damage...)
	return VerifyStatus{info, d}
}

// ProgressRatio is how far the job is, 0 to 1.
func (j *VerifyJob) ProgressRatio() float64 {
	info, d := j.snapshot()
	switch {
	case info.State == JobDone:
		return 1
	case d.Bytes > 0:
		return float64(d.BytesDone) / float64(d.Bytes)
	}
	return 0
}

// Start starts a verify in the background, unless a blackout window
// holds (ErrBlackout) or a job runs (ErrJobBusy).
func (j *VerifyJob) Start() error {
	return j.c.startJob("verify", func() error { return j.begin(1, false, "verify started") })
}

// begin starts a run over 1/slices of the data; the caller holds
// Core.jobsMu.
func (j *VerifyJob) begin(slices int, auto bool, msg string) error {
	return j.start(func(ctx context.Context) error { return j.task(ctx, slices) }, msg, auto,
		func(d *VerifyDetail) { d.Slices, d.Auto = slices, auto })
}

// Pause holds the verify between containers.
func (j *VerifyJob) Pause() error { return j.setPaused(true) }

// Resume lets a paused verify go on.
func (j *VerifyJob) Resume() error { return j.setPaused(false) }

// Cancel ends the verify and returns once it has stopped.
func (j *VerifyJob) Cancel() error { return j.cancelRun() }

// task runs the engine's verify; its progress callback records progress
// and blocks while the job is paused or a blackout window holds.
func (j *VerifyJob) task(ctx context.Context, slices int) error {
	rep, err := j.c.eng.VerifySlice(ctx, slices, func(p chunkstore.VerifyProgress) {
		j.update(func(d *VerifyDetail) {
			d.Containers, d.ContainersDone, d.Bytes, d.BytesDone = p.Containers, p.ContainersDone, p.Bytes, p.BytesDone
		})
		_ = j.checkpoint(ctx) // a cancelled context ends the engine's verify too
	})
	named := damagedItems(ctx, j.c.opts.Namer, rep.Damage)
	j.update(func(d *VerifyDetail) { d.Damage, d.report = viewDamage(rep.Damage, named), rep })
	for _, d := range rep.Damage {
		j.logf("damage: container %d (volume %d, offset %d): %s", d.Container, d.Volume, d.Offset, d.Problem)
	}
	if len(rep.Damage) > 0 || err == nil {
		j.c.health.SetDamage(len(rep.Damage), named)
	}
	return err
}

// verifyEvent is the system event at the end of a verify.
func verifyEvent(st JobInfo, d VerifyDetail) Event {
	rep := d.report
	e := Event{Level: LevelInfo, Kind: KindSystem, Action: "verify.finish"}
	switch st.State {
	case JobCancelled:
		e.Message = "verify cancelled"
	case JobFailed:
		e.Level, e.Message = LevelError, "verify failed: "+st.Error
	default:
		e.Message = fmt.Sprintf("verify checked %d containers (%.1f MiB), no damage", rep.Containers, float64(rep.Bytes)/(1<<20))
	}
	if len(d.Damage) > 0 {
		seen := map[string]bool{}
		for _, dm := range d.Damage {
			for _, it := range dm.Names {
				seen[it] = true
			}
		}
		items := make([]string, 0, len(seen))
		for it := range seen {
			items = append(items, it)
		}
		sort.Strings(items)
		named := "no item uses the damaged data"
		if len(items) > 0 {
			named = "damaged items: " + strings.Join(items, ", ")
		}
		e.Level = LevelError
		e.Message = fmt.Sprintf("verify found %d damaged chunks or containers; %s", len(d.Damage), named)
	}
	return e
}

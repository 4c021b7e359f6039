package alert

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// itemLister is what the dedup-drop detector needs of the engine.
type itemLister interface {
	StoreNames() []string
	Items(ctx context.Context, store string) ([]dedup.Item, error)
}

// recorder records the detector's events (appliance.State).
type recorder interface {
	Record(appliance.Event) appliance.Event
}

// DropOptions configure the dedup-drop detector.
type DropOptions struct {
	Now    func() time.Time
	Logger *slog.Logger
	// MinBytes is how much must have been written in the last hour for a
	// drop to count (default 1 GiB).
	MinBytes int64
	// Factor: a drop is a ratio below the median divided by Factor (3).
	Factor float64
}

// DropDetector watches the dedup ratio of new backups per store: the
// ratio of the items committed in the last hour (logical bytes over the
// bytes they added to the volumes) against the median of the hourly
// ratios of the 7 days before. Encrypted data (ransomware rewriting files
// before the next backup) does not dedup or compress, so its ratio
// falls to about 1 where a backup of the same machine used to reach 10
// or more.
type DropDetector struct {
	items itemLister
	rec   recorder
	opts  DropOptions
	last  map[string]time.Time // store -> hour last alerted
}

// NewDropDetector makes a detector; call Check every few minutes.
func NewDropDetector(items itemLister, rec recorder, opts DropOptions) *DropDetector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = DefaultOptions().Logger
	}
	if opts.MinBytes <= 0 {
		opts.MinBytes = 1 << 30
	}
	if opts.Factor <= 0 {
		opts.Factor = 3
	}
	return &DropDetector{items: items, rec: rec, opts: opts, last: map[string]time.Time{}}
}

// Drop is what Check found in one store.
type Drop struct {
	Store   string
	Ratio   float64 // of the last hour
	Median  float64 // of the hourly ratios of the 7 days before
	Bytes   int64   // logical bytes written in the last hour
	Hours   int     // hours with writes in the 7 days
	Alerted bool
}

// Check looks at every store and records a warning "dedup.drop" event for
// each whose last hour is a drop, at most once per store per hour.
func (d *DropDetector) Check(ctx context.Context) ([]Drop, error) {
	now := d.opts.Now()
	var out []Drop
	for _, store := range d.items.StoreNames() {
		its, err := d.items.Items(ctx, store)
		if err != nil {
			return out, fmt.Errorf("alert: dedup drop: store %s: %w", store, err)
		}
		r := Measure(its, now)
		r.Store = store
		if r.Hours == 0 || r.Bytes < d.opts.MinBytes || r.Ratio >= r.Median/d.opts.Factor {
			out = append(out, r)
			continue
		}
		if t, ok := d.last[store]; ok && now.Sub(t) < time.Hour {
			out = append(out, r)
			continue
		}
		d.last[store] = now
		r.Alerted = true
		d.rec.Record(appliance.Event{Level: appliance.LevelWarning, Kind: appliance.KindSystem, Action: "dedup.drop",
			Object: store, Message: fmt.Sprintf("store %s: the dedup ratio of the last hour's %.1f GiB fell to %.2f:1, "+
				"the 7-day median is %.2f:1: data that does not dedup, as encrypted data does (ransomware?)",
				store, float64(r.Bytes)/(1<<30), r.Ratio, r.Median)})
		out = append(out, r)
	}
	return out, nil
}

// Measure computes the last hour's ratio and the median of the hourly
// ratios of the 7 days before it from the items' Modified times, Size and
// NewBytes. Hours without writes do not count.
func Measure(items []dedup.Item, now time.Time) Drop {
	type sum struct{ size, added int64 }
	hours := map[int64]*sum{}
	var recent sum
	for _, it := range items {
		age := now.Sub(it.Modified)
		switch {
		case age < 0 || age > 8*24*time.Hour:
		case age < time.Hour:
			recent.size += it.Size
			recent.added += it.NewBytes
		case age < 7*24*time.Hour+time.Hour:
			h := int64(age / time.Hour)
			if hours[h] == nil {
				hours[h] = &sum{}
			}
			hours[h].size += it.Size
			hours[h].added += it.NewBytes
		}
	}
	ratio := func(s sum) float64 { return float64(s.size) / float64(max(s.added, 1)) }
	var rs []float64
	for _, s := range hours {
		if s.size > 0 {
			rs = append(rs, ratio(*s))
		}
	}
	out := Drop{Ratio: ratio(recent), Bytes: recent.size, Hours: len(rs)}
	if len(rs) > 0 {
		slices.Sort(rs)
		out.Median = rs[len(rs)/2]
		if len(rs)%2 == 0 {
			out.Median = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
		}
	}
	return out
}

// RunDrops runs Check every interval until ctx ends, logging errors.
func (d *DropDetector) RunDrops(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.Check(ctx); err != nil && ctx.Err() == nil {
				d.opts.Logger.Error("alert: dedup drop check", "err", err)
			}
		}
	}
}

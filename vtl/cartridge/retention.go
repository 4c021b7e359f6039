package cartridge

import (
	"context"
	"fmt"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// retainedUntil is when data committed at newest leaves the store's
// immutability period of days; the zero time when it already has (or
// there is no period).
func retainedUntil(newest time.Time, days int, now time.Time) time.Time {
	if days == 0 || newest.IsZero() {
		return time.Time{}
	}
	until := newest.Add(time.Duration(days) * 24 * time.Hour)
	if !now.Before(until) {
		return time.Time{}
	}
	return until
}

// overwritable refuses destroying committed data (a write or an erase
// before the end of data) on a WORM cartridge, or while the newest
// segment is under retention. Segments are committed in the order of
// the data they hold, so the newest is the last to leave retention and
// every overwrite reaches it.
func (t *Tape) overwritable() error {
	if t.opts.WORM {
		return ErrWORM
	}
	if until := retainedUntil(t.newest, t.opts.ImmutableDays, t.opts.Now()); !until.IsZero() {
		return fmt.Errorf("%w until %s", ErrRetained, until.UTC().Format(time.RFC3339))
	}
	return nil
}

// Locked says whether the data of cartridge barcode of store may be
// deleted (or the cartridge erased or relabelled) now: nil for a blank
// cartridge or one whose data may go; ErrWORM for a WORM cartridge that
// holds data (WORM media are never erased: nobody, administrators
// included, can delete them); ErrRetained while its newest segment is
// younger than the store's immutability period of immutableDays. Both
// errors are chunkstore.ErrImmutable.
func Locked(ctx context.Context, eng Engine, store, barcode string, worm bool, immutableDays int, now time.Time) error {
	items, _, err := segments(ctx, eng, store, barcode)
	if err != nil || len(items) == 0 {
		return err
	}
	if worm {
		return fmt.Errorf("%w: %s holds data (%w)", ErrWORM, barcode, chunkstore.ErrImmutable)
	}
	var newest time.Time
	for _, it := range items {
		if it.Modified.After(newest) {
			newest = it.Modified
		}
	}
	if until := retainedUntil(newest, immutableDays, now); !until.IsZero() {
		return fmt.Errorf("%w: %s until %s", ErrRetained, barcode, until.UTC().Format(time.RFC3339))
	}
	return nil
}

package sharefs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// lockedUntil reports until when version ver of file id is under its
// store's immutability period: the zero time when it is not (no item,
// an empty file, a store without immutability, a period that ended).
// The period runs from the item's commit, as the engine counts it, never
// from the file's times (a client may set those).
func (f *FS) lockedUntil(ctx context.Context, id, ver uint64) (time.Time, error) {
	if ver == 0 {
		return time.Time{}, nil
	}
	st, err := f.eng.Store(f.opts.Store)
	if err != nil {
		return time.Time{}, fmt.Errorf("store %s: %w", f.opts.Store, err)
	}
	if st.ImmutableDays == 0 {
		return time.Time{}, nil
	}
	it, err := f.eng.Stat(ctx, f.opts.Store, itemName(id, ver))
	if errors.Is(err, chunkstore.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("stat item %s: %w", itemName(id, ver), err)
	}
	until := it.Modified.Add(time.Duration(st.ImmutableDays) * 24 * time.Hour)
	if !f.now().Before(until) {
		return time.Time{}, nil
	}
	return until, nil
}

// mutable refuses a change to the data of file id whose committed
// version is ver while that version is under retention. The error is
// both vfs.ErrImmutable (the SMB layer answers ACCESS_DENIED) and
// chunkstore.ErrImmutable (the REST layer answers 409).
func (f *FS) mutable(ctx context.Context, id, ver uint64) error {
	until, err := f.lockedUntil(ctx, id, ver)
	if err != nil {
		return err
	}
	if until.IsZero() {
		return nil
	}
	return fmt.Errorf("%w until %s (%w)", vfs.ErrImmutable, until.UTC().Format(time.RFC3339), chunkstore.ErrImmutable)
}

// retainedAttrs adds the read-only attribute to a file under retention,
// as a WORM file shows on Windows: clients then refuse writes and
// deletes themselves, and the SMB layer answers them as [MS-FSA] says
// for a read-only file. A failed check reports the stored attributes.
func (f *FS) retainedAttrs(ctx context.Context, in vfs.Info, ver uint64) vfs.Info {
	if in.IsDir {
		return in
	}
	if until, err := f.lockedUntil(ctx, in.ID, ver); err == nil && !until.IsZero() {
		in.Attributes |= vfs.AttrReadOnly
		in.Attributes &^= vfs.AttrNormal
	}
	return in
}

// isImmutable reports whether err is the engine refusing to delete an
// item under retention.
func isImmutable(err error) bool { return errors.Is(err, chunkstore.ErrImmutable) }

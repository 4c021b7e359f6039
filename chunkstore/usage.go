package chunkstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstop-appliance/backstop/dedup"
)

// Usage returns, for every item of a store, the stored bytes that it alone
// references: what deleting it would free once housekeeping runs. It reads
// every recipe of the data directory and keeps 40 bytes per distinct chunk.
func (e *Engine) Usage(ctx context.Context, store string) (map[string]int64, error) {
	s, _, err := e.store(store)
	if err != nil {
		return nil, err
	}
	items, err := e.idx.Items(0)
	if err != nil {
		return nil, e.translate(err)
	}
	type ref struct {
		owner uint64 // last item seen using it
		count uint32 // distinct items using it
	}
	refs := map[dedup.Fingerprint]ref{}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := e.idx.Segments(it.ID, func(_ int64, entries []dedup.RecipeEntry) error {
			for _, en := range entries {
				r := refs[en.FP]
				if r.owner != it.ID || r.count == 0 {
					r.owner = it.ID
					r.count++
					refs[en.FP] = r
				}
			}
			return nil
		})
		if err != nil {
			return nil, e.translate(err)
		}
	}
	names := map[uint64]string{}
	for _, it := range items {
		if it.Store == s.ID {
			names[it.ID] = it.Name
		}
	}
	out := make(map[string]int64, len(names))
	for _, name := range names {
		out[name] = 0
	}
	for fp, r := range refs {
		name, ok := names[r.owner]
		if !ok || r.count != 1 {
			continue
		}
		if loc, found, err := e.lookup(fp); err == nil && found {
			out[name] += int64(loc.Stored)
		}
	}
	return out, nil
}

// ItemUsage returns, for each of the named items of store, the stored bytes
// it alone references, as Usage does for all of them; names not found are
// left out. Its cost grows with the named items' recipes (one index seek
// per distinct chunk), not with the store: a list page asks it for the
// items it shows.
func (e *Engine) ItemUsage(ctx context.Context, store string, names []string) (map[string]int64, error) {
	s, _, err := e.store(store)
	if err != nil {
		return nil, err
	}
	var stores []uint32
	e.mu.RLock()
	for _, o := range e.stores {
		if o.Domain == s.Domain {
			stores = append(stores, o.ID)
		}
	}
	e.mu.RUnlock()
	out := make(map[string]int64, len(names))
	for _, name := range names {
		it, err := e.getItem(ctx, s, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		n, err := e.idx.AloneBytes(ctx, it.ID, stores)
		if err != nil {
			return nil, fmt.Errorf("chunkstore: usage of %q: %w", name, e.translate(err))
		}
		out[name] = n
	}
	return out, nil
}

// ListPage returns at most limit items of store whose names start with
// prefix and sort after after ("" for the first page), by name, and
// whether more follow. It reads only the page's item records.
func (e *Engine) ListPage(ctx context.Context, store, prefix, after string, limit int) ([]Item, bool, error) {
	s, _, err := e.store(store)
	if err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if limit < 1 {
		return nil, false, fmt.Errorf("%w: list limit %d", ErrInvalid, limit)
	}
	recs, more, err := e.idx.ItemsPage(s.ID, prefix, after, limit)
	if err != nil {
		return nil, false, e.translate(err)
	}
	out := make([]Item, len(recs))
	for i, it := range recs {
		out[i] = e.itemInfo(store, it)
	}
	return out, more, nil
}

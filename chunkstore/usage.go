package chunkstore

import (
	"context"

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

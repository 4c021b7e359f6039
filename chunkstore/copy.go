package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/backstop-appliance/backstop/dedup"
)

// CopyItem makes item dstName of store dst a copy of item name of store
// src without moving data: the new item gets a copy of the recipe. Both
// stores must share a dedup domain. With replace, an existing dstName is
// replaced (unless it is immutable).
func (e *Engine) CopyItem(ctx context.Context, src, name, dst, dstName string, replace bool) (Item, error) {
	if err := validName(dstName); err != nil {
		return Item{}, err
	}
	ss, sdom, err := e.store(src)
	if err != nil {
		return Item{}, err
	}
	_, ddom, err := e.store(dst)
	if err != nil {
		return Item{}, err
	}
	if sdom.ID != ddom.ID {
		return Item{}, fmt.Errorf("%w: stores %q and %q are in different dedup domains; copy the data instead", ErrInvalid, src, dst)
	}
	it, err := e.getItem(ctx, ss, name)
	if err != nil {
		return Item{}, err
	}
	w, err := e.Create(ctx, dst, dstName, WriteOptions{Replace: replace, Meta: it.Meta})
	if err != nil {
		return Item{}, err
	}
	w.end = true
	defer w.release()
	close(w.flushQ) // a copy writes no container
	<-w.flushed
	e.inflight.land(w.flight, false)
	b := e.idx.NewBatch()
	defer b.Discard()
	b.MarkPending(w.id, w.store.ID)
	w.marked = true
	var n int
	err = e.idx.Segments(it.ID, func(start int64, entries []dedup.RecipeEntry) error {
		b.PutSegment(w.store.ID, w.id, start, append([]dedup.RecipeEntry(nil), entries...))
		if n++; n%maxFlushSegs == 0 {
			if err := b.Commit(); err != nil {
				return err
			}
			b = e.idx.NewBatch()
		}
		return ctx.Err()
	})
	if err == nil {
		err = b.Commit()
	}
	if err != nil {
		w.cleanup()
		if errors.Is(err, ctx.Err()) {
			return Item{}, err
		}
		return Item{}, e.translate(err)
	}
	w.off, w.opts.Meta = it.Size, maps.Clone(it.Meta)
	w.dupChunks.Store(it.Chunks)
	out, old, err := e.commitItem(w)
	if err != nil {
		w.cleanup()
		return Item{}, err
	}
	if old != nil {
		e.dropRecipe(old.ID)
	}
	return out, nil
}

// ListOptions narrow a listing (dedup.ListOptions).
type ListOptions = dedup.ListOptions

// ListItems returns the items of a store that match opts, by name.
func (e *Engine) ListItems(ctx context.Context, store string, opts ListOptions) ([]Item, error) {
	items, err := e.List(ctx, store, opts.Prefix)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		if matchMeta(it.Meta, opts.Meta) {
			out = append(out, it)
		}
	}
	return out, nil
}

func matchMeta(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

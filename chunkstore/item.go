package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// Item describes a committed item (dedup.Item).
type Item = dedup.Item

func (e *Engine) itemInfo(store string, it index.Item) Item {
	return Item{Store: store, Name: it.Name, Size: it.Size, Chunks: it.Chunks, NewBytes: it.NewBytes,
		Created: it.Created, Modified: it.Modified, Meta: it.Meta}
}

// Stat describes one item.
func (e *Engine) Stat(ctx context.Context, store, name string) (Item, error) {
	s, _, err := e.store(store)
	if err != nil {
		return Item{}, err
	}
	it, err := e.getItem(ctx, s, name)
	if err != nil {
		return Item{}, err
	}
	return e.itemInfo(store, it), nil
}

func (e *Engine) getItem(ctx context.Context, s index.Store, name string) (index.Item, error) {
	if err := ctx.Err(); err != nil {
		return index.Item{}, err
	}
	it, err := e.idx.Item(s.ID, name)
	if errors.Is(err, index.ErrNotFound) {
		return it, fmt.Errorf("%w: item %q in store %q", ErrNotFound, name, s.Name)
	}
	return it, e.translate(err)
}

// List returns the items of a store whose names start with prefix, by name.
func (e *Engine) List(ctx context.Context, store, prefix string) ([]Item, error) {
	s, _, err := e.store(store)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := e.idx.Items(s.ID)
	if err != nil {
		return nil, e.translate(err)
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if strings.HasPrefix(it.Name, prefix) {
			out = append(out, e.itemInfo(store, it))
		}
	}
	return out, nil
}

// Delete removes an item. Its chunks stay in the volumes until
// housekeeping finds nothing else uses them.
func (e *Engine) Delete(ctx context.Context, store, name string) error {
	return e.deleteItem(ctx, store, name, false)
}

func (e *Engine) deleteItem(ctx context.Context, store, name string, replica bool) error {
	s, _, err := e.store(store)
	if err != nil {
		return err
	}
	if s.Replica && !replica {
		return fmt.Errorf("%w: %q", ErrReadOnly, store)
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	it, err := e.getItem(ctx, s, name)
	if err != nil {
		return err
	}
	if err := e.mutable(s.ID, it); err != nil {
		return err
	}
	b := e.idx.NewBatch()
	b.DeleteItem(it)
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	e.mu.Lock()
	if u := e.usage[s.ID]; u != nil {
		u.items--
		u.logical -= it.Size
		u.newBytes -= it.NewBytes
	}
	e.mu.Unlock()
	e.dropRecipe(it.ID)
	return nil
}

func sortBy[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}

package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/dedup"
)

// Per-page reads: what a list page needs costs what the page holds, not
// what the store holds. ItemsPage seeks to the first name of the page;
// AloneBytes reads one item's recipe and, for each distinct chunk, the
// reference keys of that chunk in the stores of its domain (see doc.go,
// Reference sets), which say which other live items name it.

// ItemsPage returns at most limit items of store whose names start with
// prefix and sort after after (all of them when after is ""), by name, and
// whether more follow. It reads limit+1 item records.
func (d *DB) ItemsPage(store uint32, prefix, after string, limit int) ([]Item, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("index: ItemsPage: limit %d", limit)
	}
	base := key32(pItem, store)
	start := append(key32(pItem, store), after...)
	start = append(start, 0) // the first name after after
	if after == "" || after < prefix {
		start = append(key32(pItem, store), prefix...)
	}
	var out []Item
	more := false
	err := d.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = append(key32(pItem, store), prefix...)
		opts.PrefetchSize = min(limit+1, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(start); it.ValidForPrefix(opts.Prefix); it.Next() {
			if len(out) == limit {
				more = true
				return nil
			}
			item := it.Item()
			var rec Item
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
				return fmt.Errorf("%w: %q: %v", ErrCorrupt, bytes.TrimPrefix(item.Key(), base), err)
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, more, translate(err)
}

// AloneBytes returns the stored bytes of the chunks that the recipe of item
// id names and that no other committed, not deleted item of stores names:
// what deleting the item would free. stores are the stores of the item's
// dedup domain (chunks of other domains have other fingerprints). It reads
// the item's recipe, and for each distinct chunk one seek in the reference
// keys, the chunk's location, and the marks of the other items found (once
// each), all in one read transaction: its cost grows with the item, not
// with the store. It keeps 8 bytes per distinct chunk of the item.
func (d *DB) AloneBytes(ctx context.Context, id uint64, stores []uint32) (int64, error) {
	var total int64
	err := d.db.View(func(txn *badger.Txn) error {
		a := aloneScan{txn: txn, id: id, stores: stores, live: map[uint64]bool{}, seen: map[dedup.Fingerprint]struct{}{}}
		defer a.close()
		opts := badger.DefaultIteratorOptions
		opts.Prefix = key64(pRecipe, id)
		it := txn.NewIterator(opts)
		defer it.Close()
		var buf []dedup.RecipeEntry
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := it.Item().Value(func(v []byte) error {
				var err error
				buf, err = DecodeSegment(buf[:0], v)
				return err
			}); err != nil {
				return err
			}
			for _, en := range buf {
				n, err := a.alone(en.FP)
				if err != nil {
					return err
				}
				total += n
			}
		}
		return nil
	})
	return total, translate(err)
}

// aloneScan is the state of one AloneBytes call.
type aloneScan struct {
	txn    *badger.Txn
	id     uint64
	stores []uint32
	refs   *badger.Iterator
	live   map[uint64]bool // other items' liveness, read once
	seen   map[dedup.Fingerprint]struct{}
}

func (a *aloneScan) close() {
	if a.refs != nil {
		a.refs.Close()
	}
}

// alone returns the stored bytes of fp if the item alone names it, and
// counts each fingerprint once.
func (a *aloneScan) alone(fp dedup.Fingerprint) (int64, error) {
	if _, ok := a.seen[fp]; ok {
		return 0, nil
	}
	a.seen[fp] = struct{}{}
	if a.refs == nil {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte{pRef}
		a.refs = a.txn.NewIterator(opts)
	}
	for _, store := range a.stores {
		shared, err := a.sharedIn(store, fp)
		if err != nil || shared {
			return 0, err
		}
	}
	c, err := a.txn.Get(chunkKey(fp))
	if err == badger.ErrKeyNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var loc Loc
	if err := c.Value(func(v []byte) error {
		loc, err = DecodeLoc(v)
		return err
	}); err != nil {
		return 0, err
	}
	return int64(loc.Stored), nil
}

// sharedIn reports whether a live item of store other than a.id names fp.
// Item 0 (chunks an uncommitted import received) does not count: no
// recipe keeps those chunks from housekeeping.
func (a *aloneScan) sharedIn(store uint32, fp dedup.Fingerprint) (bool, error) {
	prefix := append(key32(pRef, store), fp[:]...)
	for a.refs.Seek(prefix); a.refs.ValidForPrefix(prefix); a.refs.Next() {
		k := a.refs.Item().Key()
		if len(k) != refKeyLen {
			continue
		}
		other := binary.BigEndian.Uint64(k[37:])
		if other == a.id || other == ReceivedItem {
			continue
		}
		live, ok := a.live[other]
		if !ok {
			var err error
			if live, err = liveItem(a.txn, other); err != nil {
				return false, err
			}
			a.live[other] = live
		}
		if live {
			return true, nil
		}
	}
	return false, nil
}

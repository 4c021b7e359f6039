package index

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/dedup"
)

// The reference set of a store: for every item of the store and every
// distinct chunk its recipe names, one key 'R' store fp item (see doc.go).
// The keys are written in the same batch as the recipe segment that names
// the chunk and removed with the recipe, so they are never ahead of or
// behind the recipes; a key counts only while its item is committed and not
// deleted (no 'p' or 'x' mark), which is the moment the item record itself
// appears or goes.

// refsBuilt is the catalog key that says the reference sets are complete.
var refsBuilt = []byte{pCatalog, 'r', 'e', 'f', 's'}

func refKey(store uint32, fp dedup.Fingerprint, item uint64) []byte {
	k := make([]byte, refKeyLen)
	k[0] = pRef
	binary.BigEndian.PutUint32(k[1:], store)
	copy(k[5:], fp[:])
	binary.BigEndian.PutUint64(k[37:], item)
	return k
}

const refKeyLen = 1 + 4 + 32 + 8

func markValue(store uint32) []byte {
	return binary.LittleEndian.AppendUint32(nil, store)
}

// putRefs adds the reference keys of a segment of item id in store, each
// fingerprint once.
func (b *Batch) putRefs(store uint32, id uint64, entries []dedup.RecipeEntry) {
	seen := make(map[dedup.Fingerprint]struct{}, len(entries))
	for _, e := range entries {
		if _, ok := seen[e.FP]; ok {
			continue
		}
		seen[e.FP] = struct{}{}
		b.set(refKey(store, e.FP, id), nil)
	}
}

// Referenced reports, for each fingerprint of fps, whether a committed,
// not deleted item of store names it in its recipe: out[i] is set for
// those. It is one read transaction, one seek per fingerprint, and a mark
// lookup per key found until one is live.
func (d *DB) Referenced(store uint32, fps []dedup.Fingerprint, out []bool) error {
	if len(out) < len(fps) {
		return fmt.Errorf("index: Referenced: %d results for %d fingerprints", len(out), len(fps))
	}
	if len(fps) == 0 {
		return nil
	}
	return translate(d.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = key32(pRef, store)
		it := txn.NewIterator(opts)
		defer it.Close()
		for i, fp := range fps {
			out[i] = false
			prefix := append(key32(pRef, store), fp[:]...)
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				k := it.Item().Key()
				if len(k) != refKeyLen {
					continue
				}
				live, err := liveRef(txn, it.Item(), fp, binary.BigEndian.Uint64(k[37:]))
				if err != nil {
					return err
				}
				if live {
					out[i] = true
					break
				}
			}
		}
		return nil
	}))
}

// liveRef reports whether reference key k (whose value is read only for
// item 0) counts: its item is live, or, for item 0 (a chunk an import
// that did not commit received), the chunk is still the copy it received.
func liveRef(txn *badger.Txn, it *badger.Item, fp dedup.Fingerprint, id uint64) (bool, error) {
	if id != ReceivedItem {
		return liveItem(txn, id)
	}
	var cont uint64
	if err := it.Value(func(v []byte) error {
		if len(v) == 8 {
			cont = binary.LittleEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		return false, err
	}
	c, err := txn.Get(chunkKey(fp))
	if err == badger.ErrKeyNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var loc Loc
	if err := c.Value(func(v []byte) error {
		loc, err = DecodeLoc(v)
		return err
	}); err != nil {
		return false, err
	}
	return cont != 0 && loc.Container == cont, nil
}

// ReceivedItem is the item id (never a real one) of the reference keys
// that record chunks an import of the store was sent and that no item
// committed: a retry after a cut need not send them again. Such a key
// holds the container of the copy received and counts only while the
// index still points there, so a chunk housekeeping dropped (and anyone
// stored again later) is not claimed by it.
const ReceivedItem = 0

// PutReceived records that store's clients sent the chunks fps, stored in
// containers conts (see ReceivedItem).
func (d *DB) PutReceived(store uint32, fps []dedup.Fingerprint, conts []uint64) error {
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	for i, fp := range fps {
		if err := wb.Set(refKey(store, fp, ReceivedItem), binary.LittleEndian.AppendUint64(nil, conts[i])); err != nil {
			return translate(err)
		}
	}
	return translate(wb.Flush())
}

// liveItem: item id has no pending and no deleted mark.
func liveItem(txn *badger.Txn, id uint64) (bool, error) {
	for _, p := range []byte{pPending, pDeleted} {
		_, err := txn.Get(key64(p, id))
		if err == nil {
			return false, nil
		}
		if err != badger.ErrKeyNotFound {
			return false, err
		}
	}
	return true, nil
}

// RefsBuilt reports whether the reference sets were built (by BuildRefs,
// or because the index was new).
func (d *DB) RefsBuilt() (bool, error) {
	err := d.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(refsBuilt)
		return err
	})
	if err == badger.ErrKeyNotFound {
		return false, nil
	}
	return err == nil, translate(err)
}

// MarkRefsBuilt records that the reference sets are complete: on a new
// index, before anything is written.
func (d *DB) MarkRefsBuilt() error {
	return translate(d.db.Update(func(txn *badger.Txn) error { return txn.Set(refsBuilt, nil) }))
}

// BuildRefs makes the reference sets of an index written before they
// existed, from the recipes of the committed items, then marks them
// built. It drops any reference key first, so a build a crash cut short
// starts again cleanly. Recipes of items being written or deleted must
// have been removed already (Engine recovery does it first).
func (d *DB) BuildRefs(log *slog.Logger) (items, refs int, err error) {
	if err := d.db.DropPrefix([]byte{pRef}); err != nil {
		return 0, 0, translate(err)
	}
	all, err := d.Items(0)
	if err != nil {
		return 0, 0, err
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	var buf []dedup.RecipeEntry
	seen := map[dedup.Fingerprint]struct{}{}
	for n, it := range all {
		clear(seen)
		err := d.scan(key64(pRecipe, it.ID), func(_, v []byte) error {
			var err error
			if buf, err = DecodeSegment(buf[:0], v); err != nil {
				return err
			}
			for _, e := range buf {
				if _, ok := seen[e.FP]; ok {
					continue
				}
				seen[e.FP] = struct{}{}
				if err := wb.Set(refKey(it.Store, e.FP, it.ID), nil); err != nil {
					return err
				}
				refs++
			}
			return nil
		})
		if err != nil {
			return n, refs, translate(err)
		}
		if (n+1)%1000 == 0 {
			log.Info("index: building the stores' reference sets", "items", n+1, "of", len(all), "refs", refs)
		}
	}
	if err := wb.Set(refsBuilt, nil); err != nil {
		return len(all), refs, translate(err)
	}
	if err := wb.Flush(); err != nil {
		return len(all), refs, translate(err)
	}
	return len(all), refs, nil
}

// dropRefs deletes the reference keys a recipe segment put.
func dropRefs(wb *badger.WriteBatch, store uint32, id uint64, entries []dedup.RecipeEntry) error {
	for _, e := range entries {
		if err := wb.Delete(refKey(store, e.FP, id)); err != nil {
			return err
		}
	}
	return nil
}

// markStore reads the store id a 'p' or 'x' mark of item id carries;
// ok is false when there is no mark or it predates reference sets.
func (d *DB) markStore(id uint64) (store uint32, ok bool, err error) {
	err = d.db.View(func(txn *badger.Txn) error {
		for _, p := range []byte{pPending, pDeleted} {
			it, err := txn.Get(key64(p, id))
			if err == badger.ErrKeyNotFound {
				continue
			}
			if err != nil {
				return err
			}
			return it.Value(func(v []byte) error {
				if len(v) == 4 {
					store, ok = binary.LittleEndian.Uint32(v), true
				}
				return nil
			})
		}
		return nil
	})
	return store, ok, translate(err)
}

// Ref is one reference key: item Item of the store names chunk FP.
type Ref struct {
	FP   dedup.Fingerprint
	Item uint64
}

// Refs lists the reference keys of store in key order, live or not: for
// checks and tests.
func (d *DB) Refs(store uint32) ([]Ref, error) {
	var out []Ref
	err := d.scanKeys(key32(pRef, store), func(k []byte) error {
		if len(k) == refKeyLen {
			out = append(out, Ref{FP: dedup.Fingerprint(k[5:37]), Item: binary.BigEndian.Uint64(k[37:])})
		}
		return nil
	})
	return out, err
}

// DropRefs deletes every reference key and the mark that says they are
// built, so that the next open builds them again from the recipes.
func (d *DB) DropRefs() error {
	if err := d.db.DropPrefix([]byte{pRef}); err != nil {
		return translate(err)
	}
	return translate(d.db.Update(func(txn *badger.Txn) error { return txn.Delete(refsBuilt) }))
}

// DropStoreRefs deletes every reference key of store: before the store is
// deleted, so that a store created later with its id inherits none (those
// of cut imports outlive the items).
func (d *DB) DropStoreRefs(store uint32) error {
	return translate(d.db.DropPrefix(key32(pRef, store)))
}

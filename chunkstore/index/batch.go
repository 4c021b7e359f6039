package index

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/dedup"
)

// Batch is a set of changes committed together, atomically and durably.
type Batch struct {
	d      *DB
	txn    *badger.Txn
	chunks []dedup.Fingerprint
	err    error
}

// NewBatch starts a batch.
func (d *DB) NewBatch() *Batch {
	return &Batch{d: d, txn: d.db.NewTransaction(true)}
}

func (b *Batch) set(k, v []byte) {
	if b.err == nil {
		if err := b.txn.Set(k, v); err != nil {
			b.err = err
		}
	}
}

func (b *Batch) del(k []byte) {
	if b.err == nil {
		if err := b.txn.Delete(k); err != nil {
			b.err = err
		}
	}
}

func (b *Batch) setJSON(k []byte, v any) {
	j, err := json.Marshal(v)
	if err != nil && b.err == nil {
		b.err = err
	}
	b.set(k, j)
}

// PutContainer records a container.
func (b *Batch) PutContainer(c ContainerRec) { b.set(key64(pContainer, c.ID), c.encode()) }

// PutChunk records where a chunk is; the filter learns it on Commit.
func (b *Batch) PutChunk(fp dedup.Fingerprint, loc Loc) {
	b.set(chunkKey(fp), loc.encode())
	b.chunks = append(b.chunks, fp)
}

// DeleteContainer removes a container record; housekeeping drops a
// container once its live chunks moved.
func (b *Batch) DeleteContainer(id uint64) { b.del(key64(pContainer, id)) }

// DeleteChunk removes a chunk's location. The filter keeps the
// fingerprint: a false positive costs one badger read, nothing more.
func (b *Batch) DeleteChunk(fp dedup.Fingerprint) { b.del(chunkKey(fp)) }

// Chunk reads a chunk's location within the batch's transaction, so that
// Commit fails with ErrConflict if another commit changed it meanwhile.
func (b *Batch) Chunk(fp dedup.Fingerprint) (Loc, error) {
	it, err := b.txn.Get(chunkKey(fp))
	if err != nil {
		return Loc{}, translate(err)
	}
	var loc Loc
	err = it.Value(func(v []byte) error {
		loc, err = DecodeLoc(v)
		return err
	})
	return loc, translate(err)
}

// PutSegment stores a recipe segment of item id of store starting at byte
// off, and the store's reference keys for the segment's chunks. A batch
// should hold at most 16 segments: badger bounds a transaction's entries.
func (b *Batch) PutSegment(store uint32, id uint64, off int64, entries []dedup.RecipeEntry) {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(off))
	b.set(key64(pRecipe, id, k[:]...), EncodeSegment(nil, entries))
	b.putRefs(store, id, entries)
}

// MarkPending marks item id of store as being written.
func (b *Batch) MarkPending(id uint64, store uint32) { b.set(key64(pPending, id), markValue(store)) }

// PutItem stores a committed item and clears its pending mark.
func (b *Batch) PutItem(it Item) {
	b.setJSON(key32(pItem, it.Store, []byte(it.Name)...), it)
	b.del(key64(pPending, it.ID))
}

// DeleteItem removes an item's record and marks its recipe for removal.
func (b *Batch) DeleteItem(it Item) {
	b.del(key32(pItem, it.Store, []byte(it.Name)...))
	b.set(key64(pDeleted, it.ID), markValue(it.Store))
}

// PutDomain stores a domain.
func (b *Batch) PutDomain(dom dedup.Domain) { b.setJSON(key32(pDomain, dom.ID), dom) }

// PutStore stores a store.
func (b *Batch) PutStore(s Store) { b.setJSON(key32(pStore, s.ID), s) }

// DeleteStore removes a store record.
func (b *Batch) DeleteStore(id uint32) { b.del(key32(pStore, id)) }

// Commit makes the batch durable, then teaches the filter its chunks.
func (b *Batch) Commit() error {
	defer b.txn.Discard()
	if b.err != nil {
		return fmt.Errorf("index: batch: %w", translate(b.err))
	}
	if err := b.txn.Commit(); err != nil {
		return translate(err)
	}
	for _, fp := range b.chunks {
		b.d.Filter.Add(fp)
	}
	return nil
}

// Discard drops the batch.
func (b *Batch) Discard() { b.txn.Discard() }

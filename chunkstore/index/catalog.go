package index

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// ContainerRec is what the index knows of a container.
type ContainerRec struct {
	ID       uint64
	Volume   uint32
	Offset   int64
	Size     int64
	Body     uint32
	Count    uint32
	Domain   uint32
	Created  int64 // unix ns
	Verified int64 // unix ns, 0 if never
}

const containerRecSize = 4 + 8 + 8 + 4 + 4 + 4 + 8 + 8

// BodyLen is the container's body length, from its size and record count.
// Prefer it to Body, which records written before the container builder's
// Len fix carry wrong.
func (c ContainerRec) BodyLen() int64 {
	return c.Size - container.HeaderSize - int64(c.Count)*container.EntrySize - container.TrailerSize
}

func (c ContainerRec) encode() []byte {
	b := make([]byte, containerRecSize)
	binary.LittleEndian.PutUint32(b, c.Volume)
	binary.LittleEndian.PutUint64(b[4:], uint64(c.Offset))
	binary.LittleEndian.PutUint64(b[12:], uint64(c.Size))
	binary.LittleEndian.PutUint32(b[20:], c.Body)
	binary.LittleEndian.PutUint32(b[24:], c.Count)
	binary.LittleEndian.PutUint32(b[28:], c.Domain)
	binary.LittleEndian.PutUint64(b[32:], uint64(c.Created))
	binary.LittleEndian.PutUint64(b[40:], uint64(c.Verified))
	return b
}

// DecodeContainerRec decodes a container value whose id is id.
func DecodeContainerRec(id uint64, b []byte) (ContainerRec, error) {
	if len(b) != containerRecSize {
		return ContainerRec{}, fmt.Errorf("%w: container record", ErrCorrupt)
	}
	c := ContainerRec{
		ID:       id,
		Volume:   binary.LittleEndian.Uint32(b),
		Offset:   int64(binary.LittleEndian.Uint64(b[4:])),
		Size:     int64(binary.LittleEndian.Uint64(b[12:])),
		Body:     binary.LittleEndian.Uint32(b[20:]),
		Count:    binary.LittleEndian.Uint32(b[24:]),
		Domain:   binary.LittleEndian.Uint32(b[28:]),
		Created:  int64(binary.LittleEndian.Uint64(b[32:])),
		Verified: int64(binary.LittleEndian.Uint64(b[40:])),
	}
	if c.Offset < 0 || c.Size <= 0 {
		return ContainerRec{}, fmt.Errorf("%w: container record", ErrCorrupt)
	}
	return c, nil
}

func key64(prefix byte, id uint64, rest ...byte) []byte {
	k := make([]byte, 9, 9+len(rest))
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], id)
	return append(k, rest...)
}

func key32(prefix byte, id uint32, rest ...byte) []byte {
	k := make([]byte, 5, 5+len(rest))
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], id)
	return append(k, rest...)
}

// Containers returns every container record, by id.
func (d *DB) Containers() ([]ContainerRec, error) {
	var out []ContainerRec
	err := d.scan([]byte{pContainer}, func(k, v []byte) error {
		c, err := DecodeContainerRec(binary.BigEndian.Uint64(k[1:]), v)
		out = append(out, c)
		return err
	})
	return out, err
}

// Store is a named set of items in one domain.
type Store struct {
	ID      uint32    `json:"id"`
	Name    string    `json:"name"`
	Domain  uint32    `json:"domain"`
	Created time.Time `json:"created"`
	// Transfer is the store's transfer policy: "low" (client-side dedup,
	// the default when empty) or "high" (the client streams all bytes).
	Transfer string `json:"transfer,omitempty"`
	// ImmutableDays keeps every item undeletable and unreplaceable for
	// that many days after its commit; 0 is off.
	ImmutableDays int `json:"immutable_days,omitempty"`
	// Clients are the users allowed to use the store over the network;
	// empty means every user.
	Clients []string `json:"clients,omitempty"`
	// Replica marks the read-only copy of another appliance's store:
	// only replication writes or deletes its items.
	Replica bool `json:"replica,omitempty"`
}

// Item is a committed item's record.
type Item struct {
	ID       uint64            `json:"id"`
	Store    uint32            `json:"store"`
	Name     string            `json:"name"`
	Size     int64             `json:"size"`
	Chunks   int64             `json:"chunks"`
	NewBytes int64             `json:"new_bytes"` // stored bytes its ingest added
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// Domains returns every domain, by id.
func (d *DB) Domains() ([]dedup.Domain, error) { return scanJSON[dedup.Domain](d, []byte{pDomain}) }

// Stores returns every store, by id.
func (d *DB) Stores() ([]Store, error) { return scanJSON[Store](d, []byte{pStore}) }

// Items returns the items of a store in name order; with store 0, of all.
func (d *DB) Items(store uint32) ([]Item, error) {
	if store == 0 {
		return scanJSON[Item](d, []byte{pItem})
	}
	return scanJSON[Item](d, key32(pItem, store))
}

func scanJSON[T any](d *DB, prefix []byte) ([]T, error) {
	var out []T
	err := d.scan(prefix, func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrCorrupt, k, err)
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// Item reads one item by store and name.
func (d *DB) Item(store uint32, name string) (Item, error) {
	var it Item
	err := d.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key32(pItem, store, []byte(name)...))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("%w: item %q: %v", ErrCorrupt, name, err)
			}
			return nil
		})
	})
	return it, translate(err)
}

// Segment finds the recipe segment of item id that holds byte off: it
// returns the segment's starting offset and entries (appended to dst).
func (d *DB) Segment(id uint64, off int64, dst []dedup.RecipeEntry) (int64, []dedup.RecipeEntry, error) {
	var start int64
	err := d.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.PrefetchValues = false
		opts.Prefix = key64(pRecipe, id)
		it := txn.NewIterator(opts)
		defer it.Close()
		var seek [8]byte
		binary.BigEndian.PutUint64(seek[:], uint64(off))
		it.Seek(key64(pRecipe, id, seek[:]...))
		if !it.Valid() {
			return badger.ErrKeyNotFound
		}
		start = int64(binary.BigEndian.Uint64(it.Item().Key()[9:]))
		return it.Item().Value(func(v []byte) error {
			var err error
			dst, err = DecodeSegment(dst, v)
			return err
		})
	})
	return start, dst, translate(err)
}

// Segments calls fn for every recipe segment of item id in order.
func (d *DB) Segments(id uint64, fn func(start int64, entries []dedup.RecipeEntry) error) error {
	var buf []dedup.RecipeEntry
	return d.scan(key64(pRecipe, id), func(k, v []byte) error {
		var err error
		if buf, err = DecodeSegment(buf[:0], v); err != nil {
			return err
		}
		return fn(int64(binary.BigEndian.Uint64(k[9:])), buf)
	})
}

// Marked returns the ids of items marked pending ('p') or deleted ('x').
func (d *DB) Marked() (pending, deleted []uint64, err error) {
	err = d.scanKeys([]byte{pPending}, func(k []byte) error {
		pending = append(pending, binary.BigEndian.Uint64(k[1:]))
		return nil
	})
	if err == nil {
		err = d.scanKeys([]byte{pDeleted}, func(k []byte) error {
			deleted = append(deleted, binary.BigEndian.Uint64(k[1:]))
			return nil
		})
	}
	return pending, deleted, err
}

// DropRecipe deletes the recipe of item id, the reference keys its
// segments put, and then its 'p' or 'x' mark, in batches, so it can be
// interrupted and run again: the mark, deleted last, names the store.
func (d *DB) DropRecipe(id uint64) error {
	store, refs, err := d.markStore(id)
	if err != nil {
		return err
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	var buf []dedup.RecipeEntry
	err = d.scan(key64(pRecipe, id), func(k, v []byte) error {
		if refs {
			var err error
			if buf, err = DecodeSegment(buf[:0], v); err != nil {
				return err
			}
			if err := dropRefs(wb, store, id, buf); err != nil {
				return err
			}
		}
		return wb.Delete(append([]byte(nil), k...))
	})
	if err != nil {
		return translate(err)
	}
	for _, k := range [][]byte{key64(pPending, id), key64(pDeleted, id)} {
		if err := wb.Delete(k); err != nil {
			return translate(err)
		}
	}
	return translate(wb.Flush())
}

// LiveRecipes calls fn for every chunk reference of every recipe that is
// not marked deleted, or that keep says to keep anyway: committed items,
// items being written, and deleted ones still being read. Housekeeping
// marks from it.
func (d *DB) LiveRecipes(keep func(item uint64) bool, fn func(dedup.Fingerprint)) error {
	_, deleted, err := d.Marked()
	if err != nil {
		return err
	}
	dead := make(map[uint64]bool, len(deleted))
	for _, id := range deleted {
		dead[id] = keep == nil || !keep(id)
	}
	var buf []dedup.RecipeEntry
	return d.scan([]byte{pRecipe}, func(k, v []byte) error {
		if dead[binary.BigEndian.Uint64(k[1:9])] {
			return nil
		}
		var err error
		if buf, err = DecodeSegment(buf[:0], v); err != nil {
			return err
		}
		for _, e := range buf {
			fn(e.FP)
		}
		return nil
	})
}

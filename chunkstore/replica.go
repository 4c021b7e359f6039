package chunkstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// ErrReadOnly reports a change to a replica store by anything other than
// replication: the copy of another appliance's store is read-only until
// it is promoted.
var ErrReadOnly = errors.New("chunkstore: store is a read-only replica")

// Domain returns dedup domain name, key included: what an administrator
// exports to create a domain with the same key on another appliance.
func (e *Engine) Domain(name string) (dedup.Domain, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	d, err := e.domainByName(name)
	if err != nil {
		return dedup.Domain{}, err
	}
	out := d.Domain
	out.Key = slices.Clone(out.Key)
	return out, nil
}

// Domains lists the domains, keys left out.
func (e *Engine) Domains() []dedup.Domain {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]dedup.Domain, 0, len(e.domains))
	for _, d := range e.domains {
		dd := d.Domain
		dd.Key = nil
		out = append(out, dd)
	}
	sortBy(out, func(d dedup.Domain) string { return d.Name })
	return out
}

// ImportDomain makes dedup domain name with the given key and chunker
// parameters: two appliances (or two domains of replication) that share a
// key fingerprint alike, so one can ask the other which chunks it lacks.
// When a domain with that key exists already it is returned instead
// (created false), whatever its name, provided its parameters match: a
// key belongs to one domain per appliance.
func (e *Engine) ImportDomain(name string, key []byte, params chunker.Params) (d dedup.Domain, created bool, err error) {
	if !storeName.MatchString(name) {
		return dedup.Domain{}, false, fmt.Errorf("%w: domain name %q (letters, digits, '.', '_', '-'; at most 64)", ErrInvalid, name)
	}
	if len(key) != 32 {
		return dedup.Domain{}, false, fmt.Errorf("%w: domain key of %d bytes (want 32)", ErrInvalid, len(key))
	}
	if err := params.Validate(); err != nil {
		return dedup.Domain{}, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	var id uint32
	for _, dd := range e.domains {
		if bytes.Equal(dd.Key, key) {
			if dd.Chunker != params {
				return dedup.Domain{}, false, fmt.Errorf("%w: domain %q has this key with other chunker parameters", ErrInvalid, dd.Name)
			}
			out := dd.Domain
			out.Key = slices.Clone(out.Key)
			return out, false, nil
		}
		if dd.Name == name {
			return dedup.Domain{}, false, fmt.Errorf("%w: domain %q (with another key)", ErrExists, name)
		}
		id = max(id, dd.ID)
	}
	d = dedup.Domain{ID: id + 1, Name: name, Key: slices.Clone(key), Chunker: params, Created: e.opts.Now().UTC()}
	b := e.idx.NewBatch()
	b.PutDomain(d)
	if err := b.Commit(); err != nil {
		return dedup.Domain{}, false, e.translate(err)
	}
	e.domains[d.ID] = &domain{d}
	d.Key = slices.Clone(d.Key)
	return d, true, nil
}

// NewDomainKey returns a fresh random domain key.
func NewDomainKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("chunkstore: domain key: %w", err)
	}
	return k, nil
}

// SetReplica makes store name a read-only replica (on) or an ordinary
// writable store again (off: promotion at failover).
func (e *Engine) SetReplica(name string, on bool) (StoreInfo, error) {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stores[name]
	if !ok {
		return StoreInfo{}, fmt.Errorf("%w: store %q", ErrNotFound, name)
	}
	if s.Replica != on {
		s.Replica = on
		b := e.idx.NewBatch()
		b.PutStore(s)
		if err := b.Commit(); err != nil {
			return StoreInfo{}, e.translate(err)
		}
		e.stores[name] = s
	}
	return e.storeInfo(s), nil
}

// ImportReplica is Import for replication: it may write into a replica
// store, which Import refuses, and it answers against the whole dedup
// domain (WriteOptions.DomainWide). The peer is an appliance an
// administrator paired with mutual TLS, and a replica's domain holds only
// stores of domains whose key administrators shared between appliances,
// so the whole domain is one tenant's; answering store by store would send
// again every chunk another replica of the domain holds (fan-in, failback).
// See docs/security.md for the figures.
func (e *Engine) ImportReplica(ctx context.Context, store, name string, opts WriteOptions) (*Importer, error) {
	opts.replica = true
	opts.DomainWide = true
	return e.Import(ctx, store, name, opts)
}

// DeleteReplica is Delete for replication: it may delete from a replica
// store.
func (e *Engine) DeleteReplica(ctx context.Context, store, name string) error {
	return e.deleteItem(ctx, store, name, true)
}

// Stored is a chunk as it sits in its container: compressed with Codec,
// Raw bytes once decompressed.
type Stored struct {
	Codec container.Codec
	Raw   int
	Data  []byte
}

// RecipeReader gives an item's recipe and its chunks as stored, for
// replication: nothing is decompressed. It pins the item (and with it,
// for housekeeping, its chunks) until Close. Not safe for concurrent use.
type RecipeReader struct {
	e    *Engine
	item Item
	id   uint64
	Dom  dedup.Domain
	buf  []byte
	done bool
}

// OpenRecipe opens item name of store for replication.
func (e *Engine) OpenRecipe(ctx context.Context, store, name string) (*RecipeReader, error) {
	s, dom, err := e.store(store)
	if err != nil {
		return nil, err
	}
	if err := e.keys.err(dom.ID); err != nil {
		return nil, err
	}
	e.commitMu.Lock()
	it, err := e.getItem(ctx, s, name)
	if err == nil {
		e.pin(it.ID)
	}
	e.commitMu.Unlock()
	if err != nil {
		return nil, err
	}
	d := dom.Domain
	d.Key = slices.Clone(d.Key)
	return &RecipeReader{e: e, item: e.itemInfo(store, it), id: it.ID, Dom: d}, nil
}

// Item describes the item.
func (r *RecipeReader) Item() Item { return r.item }

// SegmentLen is the most recipe entries one segment holds: what
// RecipeReader.Segments passes at a time, and a good batch for
// Importer.Append.
const SegmentLen = index.SegmentLen

// Segments calls fn with the recipe in order, a segment (at most
// SegmentLen entries) at a time. entries is only valid during the
// call.
func (r *RecipeReader) Segments(ctx context.Context, fn func(entries []dedup.RecipeEntry) error) error {
	var ferr error
	err := r.e.idx.Segments(r.id, func(_ int64, entries []dedup.RecipeEntry) error {
		if ferr = ctx.Err(); ferr == nil {
			ferr = fn(entries)
		}
		return ferr
	})
	if err != nil && ferr == nil {
		return r.e.translate(err)
	}
	return err
}

// Chunk returns chunk fp of raw length n as stored. Data is valid until
// the next call. The bytes are not checked here: the receiver decompresses
// and checks the fingerprint of every chunk.
func (r *RecipeReader) Chunk(fp dedup.Fingerprint, n uint32) (Stored, error) {
	e := r.e
	loc, found, err := e.lookup(fp)
	if err != nil {
		return Stored{}, err
	}
	if !found {
		return Stored{}, fmt.Errorf("%w: chunk %s is missing from the index", ErrCorrupt, fp)
	}
	st, err := r.readStored(fp, n, loc)
	if err == nil || !errors.Is(err, ErrCorrupt) {
		return st, err
	}
	// Housekeeping may have moved it since the lookup (see fetcher.fetch).
	again, err2 := e.idx.Lookup(fp)
	if err2 != nil || again == loc {
		return Stored{}, err
	}
	return r.readStored(fp, n, again)
}

func (r *RecipeReader) readStored(fp dedup.Fingerprint, n uint32, loc index.Loc) (Stored, error) {
	e := r.e
	if loc.Raw != n {
		return Stored{}, fmt.Errorf("%w: chunk %s is %d bytes in the index, %d in the recipe", ErrCorrupt, fp, loc.Raw, n)
	}
	rec, ok := e.container(loc.Container)
	if !ok {
		return Stored{}, fmt.Errorf("%w: chunk %s is in container %d, which is missing", ErrCorrupt, fp, loc.Container)
	}
	if cap(r.buf) < int(loc.Stored) {
		r.buf = make([]byte, loc.Stored)
	}
	data := r.buf[:loc.Stored]
	if err := e.vols.ReadAt(rec.Volume, data, rec.Offset+container.HeaderSize+int64(loc.Offset)); err != nil {
		return Stored{}, fmt.Errorf("%w: chunk %s in container %d: %v", ErrCorrupt, fp, loc.Container, err)
	}
	// Replicas get the record as stored but opened: the channel is TLS,
	// and the target seals it again with its own domain's key.
	data, err := e.openRecord(rec, entryOf(fp, loc), data)
	if err != nil {
		return Stored{}, fmt.Errorf("chunk %s in container %d: %w", fp, loc.Container, err)
	}
	return Stored{Codec: loc.Codec, Raw: int(n), Data: data}, nil
}

// Close releases the pin.
func (r *RecipeReader) Close() error {
	if !r.done {
		r.done = true
		r.e.unpin(r.id)
	}
	return nil
}

package chunkstore

import (
	"fmt"
	"slices"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// ErrImmutable reports a change to an item (or store) that the store's
// immutability period forbids, whoever asks (dedup.ErrImmutable).
var ErrImmutable = dedup.ErrImmutable

// Transfer policies of a store.
const (
	// TransferLow is client-side dedup: clients chunk and fingerprint,
	// and send only the chunks the store's domain lacks.
	TransferLow = dedup.TransferLow
	// TransferHigh is server-side dedup: clients stream every byte.
	TransferHigh = dedup.TransferHigh
)

// MaxImmutableDays bounds StoreOptions.ImmutableDays (about 100 years).
const MaxImmutableDays = dedup.MaxImmutableDays

// StoreOptions are a store's settings (dedup.StoreOptions, whose Validate
// and Allows methods check and apply them).
type StoreOptions = dedup.StoreOptions

func (e *Engine) storeInfo(s index.Store) StoreInfo {
	o := StoreOptions{Transfer: s.Transfer, ImmutableDays: s.ImmutableDays, Clients: slices.Clone(s.Clients)}
	if o.Transfer == "" {
		o.Transfer = TransferLow
	}
	if o.Clients == nil {
		o.Clients = []string{}
	}
	return StoreInfo{Name: s.Name, Domain: e.domains[s.Domain].Name, Created: s.Created, Replica: s.Replica, StoreOptions: o}
}

// Store describes one store.
func (e *Engine) Store(name string) (StoreInfo, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.stores[name]
	if !ok {
		return StoreInfo{}, fmt.Errorf("%w: store %q", ErrNotFound, name)
	}
	return e.storeInfo(s), nil
}

// StoreDomain returns the dedup domain of a store, key included: what a
// client needs to chunk and fingerprint data the way the store does.
func (e *Engine) StoreDomain(name string) (dedup.Domain, error) {
	_, dom, err := e.store(name)
	if err != nil {
		return dedup.Domain{}, err
	}
	d := dom.Domain
	d.Key = slices.Clone(d.Key)
	return d, nil
}

// SetStoreOptions changes a store's settings. The immutability period
// cannot be shortened while the store holds items: that would free them
// early.
func (e *Engine) SetStoreOptions(name string, o StoreOptions) (StoreInfo, error) {
	if err := o.Validate(); err != nil {
		return StoreInfo{}, err
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stores[name]
	if !ok {
		return StoreInfo{}, fmt.Errorf("%w: store %q", ErrNotFound, name)
	}
	if o.ImmutableDays < s.ImmutableDays && e.usage[s.ID].items > 0 {
		return StoreInfo{}, fmt.Errorf("%w: store %q holds items, its immutability cannot drop from %d to %d days",
			ErrImmutable, name, s.ImmutableDays, o.ImmutableDays)
	}
	s.Transfer, s.ImmutableDays, s.Clients = o.Transfer, o.ImmutableDays, slices.Clone(o.Clients)
	if s.Transfer == TransferLow {
		s.Transfer = ""
	}
	b := e.idx.NewBatch()
	b.PutStore(s)
	if err := b.Commit(); err != nil {
		return StoreInfo{}, e.translate(err)
	}
	e.stores[name] = s
	return e.storeInfo(s), nil
}

// mutable refuses a change to item it of store id while the store's
// immutability period for it runs.
func (e *Engine) mutable(id uint32, it index.Item) error {
	e.mu.RLock()
	var days int
	for _, s := range e.stores {
		if s.ID == id {
			days = s.ImmutableDays
		}
	}
	e.mu.RUnlock()
	if days == 0 {
		return nil
	}
	until := it.Modified.Add(time.Duration(days) * 24 * time.Hour)
	if e.opts.Now().Before(until) {
		return fmt.Errorf("%w: %q cannot be deleted or replaced until %s", ErrImmutable, it.Name, until.UTC().Format(time.RFC3339))
	}
	return nil
}

package chunkstore

import (
	"sync"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// locality is the cache of whole containers' fingerprints that a dedup hit
// fills (Zhu, Li and Patterson, FAST'08): a backup that repeats an old one
// finds the next chunks in the cache without a badger read. It holds the
// footers of at most max containers and evicts the oldest first.
type locality struct {
	mu      sync.Mutex
	max     int
	byFP    map[dedup.Fingerprint]index.Loc
	members map[uint64][]dedup.Fingerprint
	order   []uint64 // FIFO of container ids
}

func newLocality(max int) *locality {
	return &locality{
		max:     max,
		byFP:    map[dedup.Fingerprint]index.Loc{},
		members: map[uint64][]dedup.Fingerprint{},
	}
}

func (l *locality) get(fp dedup.Fingerprint) (index.Loc, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	loc, ok := l.byFP[fp]
	return loc, ok
}

func (l *locality) has(id uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.members[id]
	return ok
}

func (l *locality) add(id uint64, entries []container.Entry) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.members[id]; ok {
		return
	}
	for len(l.order) >= l.max {
		l.dropLocked(l.order[0])
	}
	fps := make([]dedup.Fingerprint, len(entries))
	for i, en := range entries {
		fps[i] = en.FP
		l.byFP[en.FP] = index.Loc{Container: id, Offset: en.Offset, Stored: en.Stored, Raw: en.Raw, Codec: en.Codec}
	}
	l.members[id] = fps
	l.order = append(l.order, id)
}

func (l *locality) dropLocked(id uint64) {
	for _, fp := range l.members[id] {
		if loc, ok := l.byFP[fp]; ok && loc.Container == id {
			delete(l.byFP, fp)
		}
	}
	delete(l.members, id)
	for i, o := range l.order {
		if o == id {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
}

// lookup finds a chunk: the locality cache, then the filter, then badger.
// A badger hit loads the whole container's footer into the cache.
func (e *Engine) lookup(fp dedup.Fingerprint) (index.Loc, bool, error) {
	if loc, ok := e.cache.get(fp); ok {
		return loc, true, nil
	}
	loc, err := e.idx.Lookup(fp)
	if err == index.ErrNotFound {
		return index.Loc{}, false, nil
	}
	if err != nil {
		return index.Loc{}, false, e.translate(err)
	}
	if !e.cache.has(loc.Container) {
		if entries, err := e.readFooter(loc.Container); err == nil {
			e.cache.add(loc.Container, entries)
		} else {
			e.log.Warn("locality cache: footer unreadable", "container", loc.Container, "err", err)
		}
	}
	return loc, true, nil
}

// readFooter reads and checks the footer of a container.
func (e *Engine) readFooter(id uint64) ([]container.Entry, error) {
	rec, ok := e.container(id)
	if !ok {
		return nil, ErrNotFound
	}
	h := container.Header{ID: rec.ID, Domain: rec.Domain, Count: rec.Count, Body: uint32(rec.BodyLen())}
	buf := make([]byte, h.FooterSize())
	if err := e.vols.ReadAt(rec.Volume, buf, rec.Offset+h.FooterOffset()); err != nil {
		return nil, err
	}
	return container.ParseFooter(h, buf)
}

func (e *Engine) container(id uint64) (index.ContainerRec, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rec, ok := e.containers[id]
	return rec, ok
}

// forget drops a container that housekeeping freed.
func (l *locality) forget(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.members[id]; ok {
		l.dropLocked(id)
	}
}

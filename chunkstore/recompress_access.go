package chunkstore

import (
	"fmt"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/index"
)

// accessTable is the last-read record of each container, for cold-data
// recompression: a coarse day stamp kept in memory, written to the index
// (index.Access) at most once per day per container, when housekeeping
// starts and when the engine closes. A crash loses the stamps of the day
// at most, which only makes some data look colder than it is: it is then
// recompressed at the cold level, which costs CPU and loses nothing.
type accessTable struct {
	mu    sync.Mutex
	recs  map[uint64]index.Access
	dirty map[uint64]bool
}

const day = 24 * time.Hour

func unixDay(t time.Time) uint32 { return uint32(t.Unix() / int64(day/time.Second)) }

// loadAccess reads the access records at open.
func (e *Engine) loadAccess() error {
	recs, err := e.idx.Accesses()
	if err != nil {
		return fmt.Errorf("chunkstore: %w", err)
	}
	e.access.mu.Lock()
	e.access.recs, e.access.dirty = recs, map[uint64]bool{}
	e.access.mu.Unlock()
	return nil
}

// touch records that a reader read from container id today.
func (e *Engine) touch(id uint64) {
	today := unixDay(e.opts.Now())
	a := &e.access
	a.mu.Lock()
	if r := a.recs[id]; r.Day != today {
		r.Day = today
		a.recs[id] = r
		a.dirty[id] = true
	}
	a.mu.Unlock()
}

// lastRead is when a reader last read from rec (by the day), or when it
// was written if no reader has.
func (e *Engine) lastRead(rec index.ContainerRec) time.Time {
	e.access.mu.Lock()
	r := e.access.recs[rec.ID]
	e.access.mu.Unlock()
	if r.Day == 0 {
		return time.Unix(0, rec.Created)
	}
	return time.Unix(int64(r.Day)*int64(day/time.Second), 0)
}

// containerLevel is the zstd level container id was recompressed at (0:
// as written inline).
func (e *Engine) containerLevel(id uint64) int {
	e.access.mu.Lock()
	defer e.access.mu.Unlock()
	return int(e.access.recs[id].Level)
}

// flushAccess writes the changed access records of live containers.
func (e *Engine) flushAccess() error {
	a := &e.access
	a.mu.Lock()
	if len(a.dirty) == 0 {
		a.mu.Unlock()
		return nil
	}
	pending := make(map[uint64]index.Access, len(a.dirty))
	for id := range a.dirty {
		pending[id] = a.recs[id]
	}
	a.dirty = map[uint64]bool{}
	a.mu.Unlock()
	b := e.idx.NewBatch()
	defer b.Discard()
	for id, r := range pending {
		if _, ok := e.container(id); ok {
			b.PutAccess(id, r)
		}
	}
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	return nil
}

// accessCommitted updates the table after a housekeeping commit: dropped
// containers are gone, recompressed ones carry their level.
func (e *Engine) accessCommitted(dropped []uint64, levels map[uint64]int) {
	a := &e.access
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range dropped {
		delete(a.recs, id)
		delete(a.dirty, id)
	}
	for id, l := range levels {
		a.recs[id] = index.Access{Level: uint8(l)}
	}
}

package chunkstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// hkFence keeps housekeeping from dropping a chunk that a backup starts
// using while housekeeping runs. From the moment a run's mark begins, every
// chunk a writer finds by dedup goes into the run's live set, and the run
// drops a container only in a commit that no dedup lookup overlaps:
//
//   - mu: dedup lookups hold it shared; housekeeping holds it exclusively
//     to start tracking and for each commit that drops containers, so a
//     lookup either sees the chunk gone or has added it to the live set.
//   - live: the run's live set, nil when no run is on.
//
// Lookups made before tracking began are caught by waiting for them to
// reach their writers' recipes (Writer.looked, Writer.appended), which the
// mark then reads from memory (Writer.recipeFPs) and from the index.
type hkFence struct {
	mu   sync.RWMutex
	live atomic.Pointer[index.Filter]
}

// dedupLookup is lookup for a writer that will reference the chunk if found.
func (e *Engine) dedupLookup(fp dedup.Fingerprint) (index.Loc, bool, error) {
	e.fence.mu.RLock()
	defer e.fence.mu.RUnlock()
	loc, found, err := e.lookup(fp)
	if found {
		if live := e.fence.live.Load(); live != nil && !live.MayContain(fp) {
			live.Add(fp)
		}
	}
	return loc, found, err
}

// track starts a housekeeping run's live set: from now on dedup hits land
// in it, and so does everything writers hold in memory that the index
// does not have yet. It returns once both are true.
func (e *Engine) track(live *index.Filter) {
	e.fence.mu.Lock()
	e.fence.live.Store(live)
	e.fence.mu.Unlock()
	e.mu.RLock()
	writers := make([]*Writer, 0, len(e.writers))
	for w := range e.writers {
		writers = append(writers, w)
	}
	e.mu.RUnlock()
	for _, w := range writers {
		// Chunks looked up before tracking began reach the recipe within
		// the pipeline's depth; wait for them.
		target := w.looked.Load()
		for w.appended.Load() < target {
			select {
			case <-w.done:
				target = 0
			case <-time.After(time.Millisecond):
			}
		}
		w.recipeFPs(func(fp dedup.Fingerprint) {
			if !live.MayContain(fp) {
				live.Add(fp)
			}
		})
	}
}

// untrack ends a run's live set.
func (e *Engine) untrack() {
	e.fence.mu.Lock()
	e.fence.live.Store(nil)
	e.fence.mu.Unlock()
}

// recipeFPs calls fn for every recipe entry of w that may not be in the
// index yet: the segment being filled, full segments waiting, and those
// handed to the flusher but not committed.
func (w *Writer) recipeFPs(fn func(dedup.Fingerprint)) {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	for _, en := range w.seg {
		fn(en.FP)
	}
	for _, segs := range [][]segment{w.segs, w.flushing} {
		for _, s := range segs {
			for _, en := range s.entries {
				fn(en.FP)
			}
		}
	}
}

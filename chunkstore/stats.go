package chunkstore

import (
	"sync/atomic"

	"github.com/backstop-appliance/backstop/dedup"
)

// counters are the engine's running totals since it was opened, for
// metrics.
type counters struct {
	ingested, restored, newChunks, dupChunks atomic.Int64
}

// Stats are the figures of a data directory (dedup.Stats).
type Stats = dedup.Stats

// StoreStats are the figures of one store (dedup.StoreStats).
type StoreStats = dedup.StoreStats

// Counters are running totals since the engine was opened.
type Counters struct {
	IngestedBytes int64 `json:"ingested_bytes"`
	RestoredBytes int64 `json:"restored_bytes"`
	NewChunks     int64 `json:"new_chunks"`
	DupChunks     int64 `json:"dup_chunks"`
}

func ratio(logical, stored int64) float64 {
	if stored <= 0 {
		if logical > 0 {
			return 0
		}
		return 1
	}
	return float64(logical) / float64(stored)
}

// Stats returns the current figures. The capacity is read from the file
// system each call (see volume.Set.Capacity), so it follows what other
// programs do to the disk; if that read fails, the last figure stays and
// the failure is logged.
func (e *Engine) Stats() Stats {
	capacity, err := e.vols.Capacity()
	if err != nil {
		e.log.Warn("capacity: the file system's free space is unknown; the last figure stays", "err", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	var st Stats
	for _, rec := range e.containers {
		st.StoredBytes += rec.Size
	}
	st.Containers = len(e.containers)
	for _, s := range e.stores {
		u := e.usage[s.ID]
		ss := StoreStats{Name: s.Name, Domain: e.domains[s.Domain].Name, Items: u.items,
			LogicalBytes: u.logical, StoredBytes: u.newBytes, DedupRatio: ratio(u.logical, u.newBytes)}
		st.Stores = append(st.Stores, ss)
		st.Items += u.items
		st.LogicalBytes += u.logical
	}
	sortBy(st.Stores, func(s StoreStats) string { return s.Name })
	st.DedupRatio = ratio(st.LogicalBytes, st.StoredBytes)
	st.CapacityBytes = capacity
	st.Volumes = len(e.vols.Sizes())
	return st
}

// Counters returns the running totals since Open.
func (e *Engine) Counters() Counters {
	return Counters{IngestedBytes: e.stats.ingested.Load(), RestoredBytes: e.stats.restored.Load(),
		NewChunks: e.stats.newChunks.Load(), DupChunks: e.stats.dupChunks.Load()}
}

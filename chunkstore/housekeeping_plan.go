package chunkstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// HousekeepingPlan is what a housekeeping run would do now: the mark-and-sweep
// figures without the sweep.
type HousekeepingPlan struct {
	Containers  int   `json:"containers"`
	Chunks      int64 `json:"chunks"`
	LiveChunks  int64 `json:"live_chunks"`
	StoredBytes int64 `json:"stored_bytes"` // all containers, headers and footers included
	LiveBytes   int64 `json:"live_bytes"`   // stored bytes of the chunks recipes use
	// Empty containers hold no live chunk and would be dropped whole;
	// Rewrite ones hold less than the threshold and would be copied
	// forward, live chunks only.
	Empty        int   `json:"empty_containers"`
	Rewrite      int   `json:"rewrite_containers"`
	ReclaimBytes int64 `json:"reclaim_bytes"`
	// Recompress containers are mostly s2 or cold: a run with
	// DefaultRecompressBytes and DefaultColdAfter (backstop housekeeping
	// --recompress) would recompress them.
	Recompress int `json:"recompress_containers"`
	// MarkBytes is the memory the mark's filter took.
	MarkBytes int `json:"mark_bytes"`
}

// PlanHousekeeping marks every chunk that a recipe uses and sweeps the container
// footers to say what housekeeping would reclaim, changing nothing. The
// mark is a Bloom filter (about 1.25 bytes per chunk reference kept once);
// its false positives (about 1%) only make a dead chunk count as live.
// threshold is the live share below which a container is rewritten.
func (e *Engine) PlanHousekeeping(ctx context.Context, threshold float64) (HousekeepingPlan, error) {
	if threshold < 0 || threshold > 1 {
		return HousekeepingPlan{}, fmt.Errorf("%w: threshold %.2f (want 0 to 1)", ErrInvalid, threshold)
	}
	live := index.NewFilter(e.idx.Filter.Count())
	err := e.idx.LiveRecipes(e.pinned, func(fp dedup.Fingerprint) {
		if !live.MayContain(fp) {
			live.Add(fp)
		}
	})
	if err != nil {
		return HousekeepingPlan{}, e.translate(err)
	}
	rc, err := e.newRecompressor(HousekeepingOptions{Recompress: DefaultRecompressBytes, ColdAfter: DefaultColdAfter})
	if err != nil {
		return HousekeepingPlan{}, err
	}
	plan, _, err := e.plan(ctx, live, threshold, nil, rc)
	plan.Recompress = len(rc.picked)
	return plan, err
}

// chunkLiveHere reports whether the chunk at container id, offset off is
// the copy the index points to and some recipe may use it.
func (e *Engine) chunkLiveHere(live *index.Filter, fp dedup.Fingerprint, id uint64, off uint32) (bool, error) {
	if !live.MayContain(fp) {
		return false, nil
	}
	loc, err := e.idx.Chunk(fp)
	if errors.Is(err, index.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, e.translate(err)
	}
	return loc.Container == id && loc.Offset == off, nil
}

package chunkstore

import (
	"fmt"
	"hash/maphash"
	"time"

	"github.com/backstop-appliance/backstop/dedup"
)

// A store's reference set (index 'R' keys) is what makes client-side
// dedup safe between tenants of one domain: an importer answers "have"
// for a chunk only when the store's own live items name it (or the import
// itself received it), so a client learns nothing about chunks outside its
// store, and cannot commit a recipe naming them without sending them.
// See docs/security.md.

// buildRefs makes the stores' reference sets of a data directory written
// before they existed, once. It runs after recovery, which removed the
// recipes of items being written or deleted.
func (e *Engine) buildRefs() error {
	built, err := e.idx.RefsBuilt()
	if err != nil {
		return e.translate(err)
	}
	if built {
		return nil
	}
	start := time.Now()
	e.log.Info("open: building the stores' reference sets from the recipes (once)")
	items, refs, err := e.idx.BuildRefs(e.log)
	if err != nil {
		return fmt.Errorf("chunkstore: build reference sets: %w", e.translate(err))
	}
	e.log.Info("open: reference sets built", "items", items, "refs", refs, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// referenced reports which of fps the live items of store name, into out.
func (e *Engine) referenced(store uint32, fps []dedup.Fingerprint, out []bool) error {
	return e.translate(e.idx.Referenced(store, fps, out))
}

// keepReceived records, when an import ends without a commit, the chunks
// its recipe named that it did not owe (sent, or known to the store), so
// that a retry of the cut import is not asked for them again (see
// index.ReceivedItem). Chunks the index does not locate are left out.
func (im *Importer) keepReceived() error {
	w := im.w
	seen := map[dedup.Fingerprint]struct{}{}
	var fps []dedup.Fingerprint
	var conts []uint64
	add := func(entries []dedup.RecipeEntry) error {
		for _, en := range entries {
			if _, ok := seen[en.FP]; ok {
				continue
			}
			seen[en.FP] = struct{}{}
			if _, owed := im.owed[en.FP]; owed {
				continue
			}
			loc, err := w.e.idx.Chunk(en.FP)
			if err != nil {
				continue
			}
			fps, conts = append(fps, en.FP), append(conts, loc.Container)
		}
		return nil
	}
	err := w.e.idx.Segments(w.id, func(_ int64, entries []dedup.RecipeEntry) error { return add(entries) })
	if err != nil {
		return w.e.translate(err)
	}
	for _, s := range w.segs {
		if err := add(s.entries); err != nil {
			return w.e.translate(err)
		}
	}
	return w.e.translate(w.e.idx.PutReceived(w.store.ID, fps, conts))
}

// fpSet is a set of fingerprints kept as 64-bit hashes under a random
// seed of its own: 8 bytes a chunk instead of 32. Two fingerprints
// collide with probability 2^-64, and since the seed is secret and new
// for each set, no client can search for a collision with a chunk it
// wants to claim.
type fpSet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newFPSet() *fpSet { return &fpSet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

func (s *fpSet) key(fp dedup.Fingerprint) uint64 { return maphash.Bytes(s.seed, fp[:]) }

func (s *fpSet) has(fp dedup.Fingerprint) bool {
	_, ok := s.m[s.key(fp)]
	return ok
}

// add adds fp and reports whether it was new.
func (s *fpSet) add(fp dedup.Fingerprint) bool {
	k := s.key(fp)
	if _, ok := s.m[k]; ok {
		return false
	}
	s.m[k] = struct{}{}
	return true
}

func (s *fpSet) len() int { return len(s.m) }

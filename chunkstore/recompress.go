package chunkstore

import (
	"fmt"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
)

// Background recompression (docs/decisions.md, "Compression"). Streams
// store what they can afford inline (s2 when CPU-bound); housekeeping then
// rewrites containers whose live chunks are mostly s2 with zstd, and
// containers no reader touched for a while at a stronger zstd level. It is
// housekeeping's copy-forward with the chunks re-encoded on the way: the
// same batches, fence, commit, punch and throttle, so the same crash
// safety (chunkstore/doc.go, "Recompression").

// DefaultRecompressBytes bounds the containers one automatic housekeeping
// run recompresses: about 40 s of one core at zstd's fastest level.
const DefaultRecompressBytes = 4 << 30

// DefaultColdAfter is how long a container goes unread before the
// appliance's automatic runs call it cold.
const DefaultColdAfter = 30 * 24 * time.Hour

// DefaultColdLevel is the zstd level of cold data (docs/decisions.md).
const DefaultColdLevel = container.LevelBetter

// recompressor picks the containers a run recompresses and re-encodes
// their chunks. Containers are picked in the plan, in id order, until the
// run's budget is spent.
type recompressor struct {
	e      *Engine
	budget int64
	// coldBefore: containers last read before it are cold (zero: no cold
	// pass); coldLevel is their level.
	coldBefore time.Time
	coldLevel  int
	// picked: container id to the level its chunks are rewritten at;
	// extra: those picked for recompression alone (not to reclaim space),
	// which run only while front ends are idle.
	picked map[uint64]int
	extra  map[uint64]bool
	comps  map[int]*container.Compressor
	dbuf   []byte
}

func (e *Engine) newRecompressor(opts HousekeepingOptions) (*recompressor, error) {
	if opts.Recompress <= 0 {
		return nil, nil
	}
	rc := &recompressor{e: e, budget: opts.Recompress, coldLevel: opts.ColdLevel,
		picked: map[uint64]int{}, extra: map[uint64]bool{}, comps: map[int]*container.Compressor{}}
	if rc.coldLevel == 0 {
		rc.coldLevel = DefaultColdLevel
	}
	if rc.coldLevel < container.LevelFastest || rc.coldLevel > container.LevelBest {
		return nil, fmt.Errorf("%w: zstd level %d (want %d to %d)", ErrInvalid, rc.coldLevel, container.LevelFastest, container.LevelBest)
	}
	if opts.ColdAfter > 0 {
		rc.coldBefore = e.opts.Now().Add(-opts.ColdAfter)
	}
	return rc, nil
}

// consider is called by the plan for each container with what of it is
// live; it says whether the run recompresses it (and takes it from the
// budget). A container is recompressed when most of its live bytes are
// s2 and it was never recompressed (to zstd's fastest level), or, when
// cold, unless it already is at the cold level.
func (rc *recompressor) consider(rec index.ContainerRec, live, liveS2 int64) bool {
	if rc == nil || live == 0 || rec.Size > rc.budget {
		return false
	}
	level := -1
	switch {
	case !rc.coldBefore.IsZero() && rc.e.lastRead(rec).Before(rc.coldBefore) && rc.e.containerLevel(rec.ID) < rc.coldLevel:
		level = rc.coldLevel
	case 2*liveS2 >= live && rc.e.containerLevel(rec.ID) == 0:
		level = container.LevelFastest
	}
	if level < 0 {
		return false
	}
	rc.budget -= rec.Size
	rc.picked[rec.ID] = level
	return true
}

// idleOnly says whether candidate id was picked for recompression alone.
func (rc *recompressor) idleOnly(id uint64) bool { return rc != nil && rc.extra[id] }

// level is the level candidate id's chunks are rewritten at; ok is false
// for a container copied as stored.
func (rc *recompressor) level(id uint64) (int, bool) {
	if rc == nil {
		return 0, false
	}
	l, ok := rc.picked[id]
	return l, ok
}

// recode re-encodes one live chunk of container id, stored as en, if the
// run recompresses that container and zstd at its level stores it
// smaller; otherwise it returns the chunk as it was.
func (rc *recompressor) recode(id uint64, en container.Entry, stored []byte) (container.Entry, []byte, error) {
	level, ok := rc.level(id)
	if !ok || (en.Codec == container.Zstd && level == container.LevelFastest) {
		return en, stored, nil
	}
	if cap(rc.dbuf) < int(en.Raw) {
		rc.dbuf = make([]byte, en.Raw)
	}
	raw, err := rc.e.dec.Decompress(rc.dbuf[:en.Raw], stored, en.Codec, int(en.Raw))
	if err != nil {
		return en, nil, err
	}
	comp := rc.comps[level]
	if comp == nil {
		if comp, err = container.NewCompressorLevel(container.Zstd, level); err != nil {
			return en, nil, fmt.Errorf("chunkstore: recompress: %w", err)
		}
		rc.comps[level] = comp
	}
	out, codec := comp.Compress(nil, raw)
	if codec != container.Zstd || len(out) >= len(stored) {
		return en, stored, nil
	}
	en.Codec, en.Stored = codec, uint32(len(out))
	return en, out, nil
}

// sealedLevels maps each new container of the batch whose chunks were all
// recompressed to the lowest level they were recompressed at: such a
// container is not picked again for its s2 chunks (those zstd did not
// shrink), nor, at the cold level, when cold.
func (nb *hkBuilders) sealedLevels() map[uint64]int {
	out := map[uint64]int{}
	for i, l := range nb.levels {
		if l >= container.LevelFastest {
			out[nb.sealed[i].ID] = l
		}
	}
	return out
}

// recompressed counts a dropped victim in the report if it was picked for
// recompression.
func (s *sweeper) recompressed(rec index.ContainerRec) {
	level, ok := s.rc.level(rec.ID)
	if !ok {
		return
	}
	s.rep.Recompressed++
	if level > container.LevelFastest {
		s.rep.Cold++
	}
	s.rep.RecompressedBytes += rec.Size
}

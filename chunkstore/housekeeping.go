package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// ErrMaintenance: housekeeping or verify is already running; they take
// turns.
var ErrMaintenance = errors.New("chunkstore: housekeeping or verify is already running")

// DefaultHousekeepingThreshold is the live share below which housekeeping rewrites
// a container (see docs/decisions.md, "Housekeeping threshold").
const DefaultHousekeepingThreshold = 0.8

// HousekeepingOptions qualify a housekeeping run.
type HousekeepingOptions struct {
	// Threshold is the live share of a container's body below which its
	// live chunks are copied forward and it is freed; 0 means
	// DefaultHousekeepingThreshold. Containers with nothing live are always freed.
	Threshold float64
	// Progress, if set, is called as the run goes on.
	Progress func(HousekeepingProgress)
	// Wait, if set, is called between batches; housekeeping goes on when
	// it returns nil (the web job blocks in it while paused or inside a
	// blackout window) and stops with its error.
	Wait func(ctx context.Context) error
	// NoThrottle turns off the back-off while front ends are busy.
	NoThrottle bool
	// Recompress bounds the stored bytes of the containers this run
	// rewrites only to compress them better (recompress.go): those whose
	// live bytes are mostly s2 go to zstd's fastest level, cold ones (see
	// ColdAfter) to ColdLevel. 0 recompresses nothing;
	// DefaultRecompressBytes is what the appliance's automatic runs use.
	Recompress int64
	// ColdAfter: containers no reader read from for this long are cold
	// (by the day; a container never read counts from when it was
	// written). 0 has no cold pass; 1ns makes every container cold (the
	// "on request" recompression of a whole store directory).
	ColdAfter time.Duration
	// ColdLevel is the zstd level of cold data (container.LevelFastest to
	// LevelBest); 0 means DefaultColdLevel.
	ColdLevel int
}

// HousekeepingProgress is reported while housekeeping runs.
type HousekeepingProgress struct {
	Phase          string `json:"phase"` // "mark", "sweep"
	Containers     int    `json:"containers"`
	ContainersDone int    `json:"containers_done"`
	ReclaimedBytes int64  `json:"reclaimed_bytes"`
}

// HousekeepingReport is what a housekeeping run did.
type HousekeepingReport struct {
	HousekeepingPlan
	// Dropped containers held nothing live; Rewritten ones had their
	// live chunks copied forward first.
	Dropped   int `json:"dropped_containers"`
	Rewritten int `json:"rewritten_containers"`
	// Kept: candidates left alone because a backup started using one of
	// their chunks during the run (they wait for the next run).
	Kept int `json:"kept_containers"`
	// Recompressed of the rewritten containers were picked to compress
	// better (Cold of them at the cold level); RecompressedBytes is their
	// size before.
	Recompressed int `json:"recompressed_containers"`
	// RecompressDeferred containers picked for recompression alone were
	// left for a later run because front ends were busy.
	RecompressDeferred int   `json:"recompress_deferred_containers,omitempty"`
	Cold               int   `json:"cold_containers"`
	RecompressedBytes  int64 `json:"recompressed_bytes"`
	// Damaged: candidates left alone because they failed their checks;
	// verify names the items they hurt.
	Damaged        []uint64      `json:"damaged_containers,omitempty"`
	CopiedBytes    int64         `json:"copied_bytes"`
	ReclaimedBytes int64         `json:"reclaimed_bytes"`
	StoredBefore   int64         `json:"stored_before"`
	StoredAfter    int64         `json:"stored_after"`
	Duration       time.Duration `json:"duration_ns"`
}

// hkBatch bounds the stored bytes one sweep batch reads before it
// commits, and hkBatchChunks the chunks it touches: they bound the memory,
// the work a crash throws away, and the size of the index transaction
// (badger refuses one much beyond ~15% of a memtable).
const (
	hkBatch       = 64 << 20
	hkBatchChunks = 16 << 10
)

// Housekeep reclaims the space of chunks no live recipe uses: it marks every
// chunk that recipes reference, then drops the containers with nothing
// live and rewrites those whose live share is below the threshold
// (copying their live chunks forward, in order), committing each batch in
// one index commit and only then giving the old containers' bytes back to
// the file system. It runs beside writers and readers. A crash at any
// point loses nothing: uncommitted copies are orphans the next run drops,
// and space a commit freed but a crash kept from being punched is punched
// when the engine opens.
func (e *Engine) Housekeep(ctx context.Context, opts HousekeepingOptions) (HousekeepingReport, error) {
	if opts.Threshold == 0 {
		opts.Threshold = DefaultHousekeepingThreshold
	}
	if opts.Threshold < 0 || opts.Threshold > 1 {
		return HousekeepingReport{}, fmt.Errorf("%w: threshold %.2f (want 0 to 1)", ErrInvalid, opts.Threshold)
	}
	if !e.maint.TryLock() {
		return HousekeepingReport{}, ErrMaintenance
	}
	defer e.maint.Unlock()
	rc, err := e.newRecompressor(opts)
	if err != nil {
		return HousekeepingReport{}, err
	}
	if err := e.flushAccess(); err != nil {
		return HousekeepingReport{}, err
	}
	start := e.opts.Now()
	rep := HousekeepingReport{StoredBefore: e.Stats().StoredBytes}
	progress := func(p HousekeepingProgress) {
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}
	progress(HousekeepingProgress{Phase: "mark"})

	live := index.NewFilter(e.idx.Filter.Count())
	e.track(live)
	defer e.untrack()
	if err := e.idx.LiveRecipes(e.pinned, func(fp dedup.Fingerprint) {
		if !live.MayContain(fp) {
			live.Add(fp)
		}
	}); err != nil {
		return rep, e.translate(err)
	}
	plan, cands, err := e.plan(ctx, live, opts.Threshold, opts.Wait, rc)
	rep.HousekeepingPlan = plan
	if err != nil {
		return rep, err
	}
	p := HousekeepingProgress{Phase: "sweep", Containers: len(cands)}
	progress(p)
	s := sweeper{e: e, live: live, rep: &rep, rc: rc}
	busy := e.busyProbe()
	for len(cands) > 0 {
		if opts.Wait != nil {
			if err := opts.Wait(ctx); err != nil {
				return e.finishHousekeeping(rep, start), err
			}
		}
		if err := ctx.Err(); err != nil {
			return e.finishHousekeeping(rep, start), err
		}
		if rc.idleOnly(cands[0].ID) && !opts.NoThrottle && busy() {
			// Recompression only runs at idle; the rest waits for a
			// later run (they come last in cands).
			rep.RecompressDeferred = len(cands)
			break
		}
		n, size, chunks := 0, int64(0), 0
		for n < len(cands) && (n == 0 || (size+cands[n].Size <= hkBatch && chunks+int(cands[n].Count) <= hkBatchChunks)) {
			size += cands[n].Size
			chunks += int(cands[n].Count)
			n++
		}
		t0 := time.Now()
		if err := s.batch(cands[:n]); err != nil {
			return e.finishHousekeeping(rep, start), err
		}
		cands = cands[n:]
		p.ContainersDone += n
		p.ReclaimedBytes = rep.ReclaimedBytes
		progress(p)
		if !opts.NoThrottle && busy() {
			// Front ends are busy: give them as much time as the batch took.
			select {
			case <-time.After(min(time.Since(t0), 2*time.Second)):
			case <-ctx.Done():
			}
		}
	}
	if err := e.shrinkVolumes(); err != nil {
		return e.finishHousekeeping(rep, start), err
	}
	return e.finishHousekeeping(rep, start), nil
}

func (e *Engine) finishHousekeeping(rep HousekeepingReport, start time.Time) HousekeepingReport {
	rep.StoredAfter = e.Stats().StoredBytes
	rep.Duration = e.opts.Now().Sub(start)
	return rep
}

// busyProbe returns a function that says whether a backup is being
// written or an item read since it was last called.
func (e *Engine) busyProbe() func() bool {
	last := e.stats.restored.Load()
	return func() bool {
		e.mu.RLock()
		writers := len(e.writers)
		e.mu.RUnlock()
		now := e.stats.restored.Load()
		busy := writers > 0 || now != last
		last = now
		return busy
	}
}

// plan sweeps the container footers against the live set: the figures of
// PlanHousekeeping and the containers to rewrite or drop, in id order (the order
// they were written, which copying forward keeps).
//
// wait, if set, is called every planWait containers (a pause or a blackout
// window holds there).
//
// rc, if set, picks containers to recompress among the others; they come
// last.
func (e *Engine) plan(ctx context.Context, live *index.Filter, threshold float64, wait func(context.Context) error, rc *recompressor) (HousekeepingPlan, []index.ContainerRec, error) {
	plan := HousekeepingPlan{MarkBytes: live.Bytes()}
	e.mu.RLock()
	recs := make([]index.ContainerRec, 0, len(e.containers))
	for _, rec := range e.containers {
		recs = append(recs, rec)
	}
	e.mu.RUnlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	// Containers with nothing live come first: dropping them needs no
	// space, which matters most when the disk is full.
	var empty, cands, recomp []index.ContainerRec
	for i, rec := range recs {
		if err := ctx.Err(); err != nil {
			return plan, nil, err
		}
		if wait != nil && i%planWait == planWait-1 {
			if err := wait(ctx); err != nil {
				return plan, nil, err
			}
		}
		entries, err := e.readFooter(rec.ID)
		if err != nil {
			return plan, nil, e.translate(err)
		}
		var liveBytes, liveCount, liveS2 int64
		for _, en := range entries {
			ok, err := e.chunkLiveHere(live, en.FP, rec.ID, en.Offset)
			if err != nil {
				return plan, nil, err
			}
			if ok {
				liveBytes += int64(en.Stored)
				liveCount++
				if en.Codec == container.S2 {
					liveS2 += int64(en.Stored)
				}
			}
		}
		plan.Containers++
		plan.Chunks += int64(len(entries))
		plan.LiveChunks += liveCount
		plan.StoredBytes += rec.Size
		plan.LiveBytes += liveBytes
		switch {
		case liveCount == 0:
			plan.Empty++
			plan.ReclaimBytes += rec.Size
			empty = append(empty, rec)
		case float64(liveBytes) < threshold*float64(rec.BodyLen()):
			plan.Rewrite++
			kept := liveBytes + liveCount*container.EntrySize + container.HeaderSize + container.TrailerSize
			plan.ReclaimBytes += rec.Size - kept
			cands = append(cands, rec)
			rc.consider(rec, liveBytes, liveS2) // copied forward anyway
		case rc.consider(rec, liveBytes, liveS2):
			rc.extra[rec.ID] = true
			recomp = append(recomp, rec)
		}
	}
	return plan, append(append(empty, cands...), recomp...), nil
}

// planWait is how many containers' footers the plan reads between calls
// of HousekeepingOptions.Wait.
const planWait = 256

// sweeper copies live chunks forward and drops containers, a batch at a
// time.
type sweeper struct {
	e    *Engine
	live *index.Filter
	rep  *HousekeepingReport
	buf  []byte
	rc   *recompressor // nil: no recompression
	// levels: the zstd level of each new container of the batch whose
	// chunks all were recompressed at a stronger level than inline.
	levels map[uint64]int
}

// victim is a container of the batch being swept.
type victim struct {
	rec index.ContainerRec
	// moved: its live chunks, with where they were and where they went.
	moved []move
	// dead: its chunks that no recipe used when it was read.
	dead []dedup.Fingerprint
}

type move struct {
	fp       dedup.Fingerprint
	from     uint32 // offset in the old container
	to       index.Loc
	toSealed int // index into the batch's new containers
}

// batch sweeps cands: it reads each, copies its live chunks into new
// containers, appends and syncs those, and commits.
func (s *sweeper) batch(cands []index.ContainerRec) error {
	e := s.e
	e.appendMu.RLock()
	defer e.appendMu.RUnlock()
	nb := newHousekeepingBuilders(e)
	victims := make([]victim, 0, len(cands))
	for _, rec := range cands {
		v, ok, err := s.read(rec, nb)
		if err != nil {
			return err
		}
		if ok {
			victims = append(victims, v)
		}
	}
	if err := nb.sealAll(); err != nil {
		return err
	}
	if err := nb.sync(); err != nil {
		return err
	}
	for i := range victims {
		for k := range victims[i].moved {
			m := &victims[i].moved[k]
			m.to.Container = nb.sealed[m.toSealed].ID
		}
	}
	s.levels = nb.sealedLevels()
	dropped, err := s.commit(nb.sealed, victims)
	if err != nil {
		return err
	}
	for _, rec := range dropped {
		e.keys.forget(rec.ID)
		if err := e.vols.Punch(rec.Volume, rec.Offset, rec.Size); err != nil {
			// The commit stands; the next Open punches what is left.
			e.log.Warn("housekeeping: punch deferred to next open", "container", rec.ID, "err", err)
			continue
		}
		s.rep.ReclaimedBytes += rec.Size
	}
	for _, rec := range nb.sealed {
		s.rep.ReclaimedBytes -= rec.Size
	}
	return nil
}

// read takes one candidate apart: its live chunks go to the builders, its
// dead ones are listed. ok is false when it must be left alone.
func (s *sweeper) read(rec index.ContainerRec, nb *hkBuilders) (victim, bool, error) {
	e := s.e
	v := victim{rec: rec}
	if e.keys.err(rec.Domain) != nil {
		return v, false, nil // its domain's key is missing: nothing can be copied
	}
	entries, err := e.readFooter(rec.ID)
	if err != nil {
		if errors.Is(err, container.ErrCorrupt) {
			s.rep.Damaged = append(s.rep.Damaged, rec.ID)
			return v, false, nil
		}
		return v, false, e.translate(err)
	}
	var body []byte
	for _, en := range entries {
		ok, err := e.chunkLiveHere(s.live, en.FP, rec.ID, en.Offset)
		if err != nil {
			return v, false, err
		}
		if !ok {
			if !s.live.MayContain(en.FP) {
				v.dead = append(v.dead, en.FP)
			}
			continue
		}
		if body == nil {
			if body, err = s.readBody(rec); err != nil {
				if errors.Is(err, container.ErrCorrupt) {
					s.rep.Damaged = append(s.rep.Damaged, rec.ID)
					return v, false, nil
				}
				return v, false, err
			}
		}
		from, stored := en.Offset, body[en.Offset:en.Offset+en.Stored]
		s.rep.CopiedBytes += int64(en.Stored)
		// Sealed records are opened here and sealed again, with the new
		// container's data key, by the builder.
		stored, err = e.openRecord(rec, en, stored)
		if err == nil {
			en, stored, err = s.rc.recode(rec.ID, en, stored)
		}
		if err != nil {
			if errors.Is(err, container.ErrCorrupt) || errors.Is(err, ErrCorrupt) {
				s.rep.Damaged = append(s.rep.Damaged, rec.ID)
				return v, false, nil
			}
			return v, false, err
		}
		level, _ := s.rc.level(rec.ID)
		sealed, loc, err := nb.add(rec.Domain, en, stored, level)
		if err != nil {
			return v, false, err
		}
		v.moved = append(v.moved, move{fp: en.FP, from: from, to: loc, toSealed: sealed})
	}
	return v, true, nil
}

// readBody reads a whole container, checks it, and returns its body.
func (s *sweeper) readBody(rec index.ContainerRec) ([]byte, error) {
	if cap(s.buf) < int(rec.Size) {
		s.buf = make([]byte, rec.Size)
	}
	buf := s.buf[:rec.Size]
	if err := s.e.vols.ReadAt(rec.Volume, buf, rec.Offset); err != nil {
		return nil, s.e.translate(err)
	}
	h, _, err := container.Parse(buf)
	if err != nil {
		return nil, err
	}
	return buf[container.HeaderSize : container.HeaderSize+int64(h.Body)], nil
}

// commit points the moved chunks at their new places and drops the
// victims, in one index commit during which no dedup lookup runs. A victim
// one of whose dead chunks a backup started using meanwhile is kept.
func (s *sweeper) commit(sealed []index.ContainerRec, victims []victim) ([]index.ContainerRec, error) {
	e := s.e
	e.fence.mu.Lock()
	defer e.fence.mu.Unlock()
	for attempt := 0; ; attempt++ {
		dropped, kept, err := s.tryCommit(sealed, victims)
		if errors.Is(err, index.ErrConflict) && attempt < 5 {
			continue // a writer changed a chunk we read; read again
		}
		if err != nil {
			return nil, e.translate(err)
		}
		e.mu.Lock()
		for _, rec := range sealed {
			e.containers[rec.ID] = rec
		}
		for _, v := range dropped {
			delete(e.containers, v.rec.ID)
		}
		e.mu.Unlock()
		recs := make([]index.ContainerRec, len(dropped))
		ids := make([]uint64, len(dropped))
		for i, v := range dropped {
			ids[i] = v.rec.ID
			s.recompressed(v.rec)
			e.cache.forget(v.rec.ID)
			if len(v.moved) > 0 {
				s.rep.Rewritten++
			} else {
				s.rep.Dropped++
			}
			recs[i] = v.rec
		}
		s.rep.Kept += kept
		e.accessCommitted(ids, s.levels)
		return recs, nil
	}
}

func (s *sweeper) tryCommit(sealed []index.ContainerRec, victims []victim) (dropped []victim, kept int, err error) {
	b := s.e.idx.NewBatch()
	defer b.Discard()
	for _, rec := range sealed {
		b.PutContainer(rec)
		if l := s.levels[rec.ID]; l > 0 {
			b.PutAccess(rec.ID, index.Access{Level: uint8(l)})
		}
	}
	for _, v := range victims {
		for _, m := range v.moved {
			loc, err := b.Chunk(m.fp)
			if errors.Is(err, index.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			if loc.Container == v.rec.ID && loc.Offset == m.from {
				b.PutChunk(m.fp, m.to)
			}
		}
		resurrected := false
		for _, fp := range v.dead {
			if s.live.MayContain(fp) {
				resurrected = true
				break
			}
		}
		if resurrected {
			kept++
			continue
		}
		for _, fp := range v.dead {
			loc, err := b.Chunk(fp)
			if errors.Is(err, index.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			if loc.Container == v.rec.ID {
				b.DeleteChunk(fp)
			}
		}
		b.DeleteContainer(v.rec.ID)
		b.DeleteAccess(v.rec.ID)
		dropped = append(dropped, v)
	}
	return dropped, kept, b.Commit()
}

// shrinkVolumes cuts each volume after its last container, when what
// follows was freed. Holding appendMu keeps any container from being
// between its append and its index commit meanwhile.
func (e *Engine) shrinkVolumes() error {
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	sizes := e.vols.Sizes()
	ends := make([]int64, len(sizes))
	e.mu.RLock()
	for _, rec := range e.containers {
		if int(rec.Volume) < len(ends) {
			ends[rec.Volume] = max(ends[rec.Volume], rec.Offset+rec.Size)
		}
	}
	e.mu.RUnlock()
	for vol, end := range ends {
		if end < sizes[vol] {
			if _, err := e.vols.Shrink(uint32(vol), end, sizes[vol]); err != nil {
				return e.translate(err)
			}
		}
	}
	return nil
}

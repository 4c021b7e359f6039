package chunkstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// VerifyProgress is reported while Verify runs.
type VerifyProgress struct {
	Containers, ContainersDone int
	Bytes, BytesDone           int64
}

// Damage is one damaged chunk or container.
type Damage struct {
	Container uint64             `json:"container"`
	Volume    uint32             `json:"volume"`
	Offset    int64              `json:"offset"`
	Chunk     *dedup.Fingerprint `json:"chunk,omitempty"` // nil: the whole container
	Problem   string             `json:"problem"`
	Items     []string           `json:"items,omitempty"` // store/name of items that use it
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Containers int      `json:"containers"`
	Chunks     int64    `json:"chunks"`
	Bytes      int64    `json:"bytes"`
	Damage     []Damage `json:"damage"`
}

// Verify reads every container back, checks its checksums and the
// fingerprint of every chunk, and names the items that damaged chunks
// belong to.
func (e *Engine) Verify(ctx context.Context, progress func(VerifyProgress)) (VerifyReport, error) {
	return e.VerifySlice(ctx, 1, progress)
}

// VerifySlice checks 1/slices of the stored bytes, the containers verified
// longest ago (or never) first, and records when each one was verified: run
// it N times with slices = N and every container has been checked, as a
// rolling scrub does. Containers are checked in volume order within the
// slice, so the reads are sequential.
func (e *Engine) VerifySlice(ctx context.Context, slices int, progress func(VerifyProgress)) (VerifyReport, error) {
	if slices < 1 {
		return VerifyReport{}, fmt.Errorf("%w: verify slices %d", ErrInvalid, slices)
	}
	if !e.maint.TryLock() {
		return VerifyReport{}, ErrMaintenance
	}
	defer e.maint.Unlock()
	recs, total := e.verifyOrder(slices)
	var rep VerifyReport
	var verified []index.ContainerRec
	defer func() { e.markVerified(verified) }()
	hashers := map[uint32]*blake3.Hasher{}
	p := VerifyProgress{Containers: len(recs), Bytes: total}
	var buf, dbuf []byte
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if int64(cap(buf)) < rec.Size {
			buf = make([]byte, rec.Size)
		}
		buf = buf[:rec.Size]
		damage := func(fp *dedup.Fingerprint, problem string) {
			rep.Damage = append(rep.Damage, Damage{Container: rec.ID, Volume: rec.Volume, Offset: rec.Offset, Chunk: fp, Problem: problem})
		}
		rep.Containers++
		damaged := len(rep.Damage)
		// Without its domain's key a sealed container's checksums are
		// still checked; its records wait for the key.
		keyless := e.keys.err(rec.Domain) != nil
		if err := e.vols.ReadAt(rec.Volume, buf, rec.Offset); err != nil {
			damage(nil, err.Error())
		} else if h, entries, err := parseForVerify(buf); err != nil {
			damage(nil, err.Error())
		} else if h.ID != rec.ID {
			damage(nil, fmt.Sprintf("container %d found where the index expects %d", h.ID, rec.ID))
		} else {
			hs := hashers[h.Domain]
			if hs == nil {
				hs = e.domainHasher(h.Domain)
				hashers[h.Domain] = hs
			}
			bad := 0
			sumErr := container.CheckSum(buf) // before records are opened in place
			for _, en := range entries {
				if keyless {
					break
				}
				rep.Chunks++
				if problem := e.checkRecord(hs, rec, buf, en, &dbuf); problem != "" {
					damage(&en.FP, problem)
					bad++
				}
			}
			if sumErr != nil && bad == 0 {
				damage(nil, sumErr.Error())
			}
		}
		if len(rep.Damage) == damaged && !keyless {
			verified = append(verified, rec)
		}
		rep.Bytes += rec.Size
		p.ContainersDone++
		p.BytesDone += rec.Size
		if progress != nil {
			progress(p)
		}
	}
	if len(rep.Damage) > 0 {
		if err := e.nameDamaged(ctx, rep.Damage); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (e *Engine) domainHasher(id uint32) *blake3.Hasher {
	e.mu.RLock()
	d := e.domains[id]
	e.mu.RUnlock()
	key := make([]byte, 32)
	if d != nil {
		key = d.Key
	}
	h, _ := blake3.NewKeyed(key)
	return h
}

// nameDamaged fills in the items that use each damaged chunk or container.
func (e *Engine) nameDamaged(ctx context.Context, damage []Damage) error {
	byFP := map[dedup.Fingerprint][]int{}
	byCont := map[uint64][]int{}
	for i, d := range damage {
		if d.Chunk != nil {
			byFP[*d.Chunk] = append(byFP[*d.Chunk], i)
		} else {
			byCont[d.Container] = append(byCont[d.Container], i)
		}
	}
	e.mu.RLock()
	names := map[uint32]string{}
	for _, s := range e.stores {
		names[s.ID] = s.Name
	}
	e.mu.RUnlock()
	items, err := e.idx.Items(0)
	if err != nil {
		return e.translate(err)
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		hit := map[int]bool{}
		err := e.idx.Segments(it.ID, func(_ int64, entries []dedup.RecipeEntry) error {
			for _, en := range entries {
				for _, i := range byFP[en.FP] {
					hit[i] = true
				}
				if len(byCont) > 0 {
					if loc, ok, _ := e.lookup(en.FP); ok {
						for _, i := range byCont[loc.Container] {
							hit[i] = true
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return e.translate(err)
		}
		for i := range hit {
			damage[i].Items = append(damage[i].Items, names[it.Store]+"/"+it.Name)
		}
	}
	return nil
}

// parseForVerify decodes header and footer without the whole-container
// checksum, so that damage in one record still lets the others be checked.
func parseForVerify(buf []byte) (container.Header, []container.Entry, error) {
	h, err := container.ParseHeader(buf)
	if err != nil {
		return h, nil, err
	}
	if h.Size() != int64(len(buf)) {
		return h, nil, fmt.Errorf("%w: container is %d bytes, header says %d", container.ErrCorrupt, len(buf), h.Size())
	}
	entries, err := container.ParseFooter(h, buf[h.FooterOffset():])
	return h, entries, err
}

// checkRecord decodes one record and checks its fingerprint; it returns
// what is wrong, or "".
func (e *Engine) checkRecord(hs *blake3.Hasher, rec index.ContainerRec, buf []byte, en container.Entry, dbuf *[]byte) string {
	body, err := e.openRecord(rec, en, buf[container.HeaderSize+int64(en.Offset):][:en.Stored])
	if err != nil {
		return err.Error()
	}
	if cap(*dbuf) < int(en.Raw) {
		*dbuf = make([]byte, en.Raw)
	}
	data, err := e.dec.Decompress((*dbuf)[:en.Raw], body, en.Codec, int(en.Raw))
	if err != nil {
		return err.Error()
	}
	var sum dedup.Fingerprint
	hs.Reset()
	hs.Write(data)
	hs.Sum(sum[:0])
	if sum != en.FP {
		return "fingerprint mismatch"
	}
	return ""
}

// verifyOrder picks the containers of one slice: least recently verified
// first, until 1/slices of the stored bytes; then sorts them by place.
func (e *Engine) verifyOrder(slices int) ([]index.ContainerRec, int64) {
	e.mu.RLock()
	recs := make([]index.ContainerRec, 0, len(e.containers))
	var all int64
	for _, rec := range e.containers {
		recs = append(recs, rec)
		all += rec.Size
	}
	e.mu.RUnlock()
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Verified != recs[j].Verified {
			return recs[i].Verified < recs[j].Verified
		}
		return recs[i].ID < recs[j].ID
	})
	budget := (all + int64(slices) - 1) / int64(slices)
	var total int64
	n := 0
	for n < len(recs) && total < budget {
		total += recs[n].Size
		n++
	}
	recs = recs[:n]
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		return a.Volume < b.Volume || a.Volume == b.Volume && a.Offset < b.Offset
	})
	return recs, total
}

// markVerified records that the containers checked out now. It is best
// effort: a failure only means they are checked again sooner.
func (e *Engine) markVerified(recs []index.ContainerRec) {
	if len(recs) == 0 {
		return
	}
	now := e.opts.Now().UnixNano()
	b := e.idx.NewBatch()
	e.mu.Lock()
	for _, rec := range recs {
		if cur, ok := e.containers[rec.ID]; ok {
			cur.Verified = now
			e.containers[rec.ID] = cur
			b.PutContainer(cur)
		}
	}
	e.mu.Unlock()
	if err := b.Commit(); err != nil {
		e.log.Warn("verify: could not record verification times", "err", err)
	}
}

// LastVerified returns the oldest verification time of any container, zero
// when some container was never verified or there are none.
func (e *Engine) LastVerified() time.Time {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var oldest int64 = -1
	for _, rec := range e.containers {
		if oldest < 0 || rec.Verified < oldest {
			oldest = rec.Verified
		}
	}
	if oldest <= 0 {
		return time.Time{}
	}
	return time.Unix(0, oldest)
}

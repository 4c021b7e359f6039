package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
)

// recover makes the data directory consistent after a crash:
//   - containers written past the last one the index knows of are either
//     whole (their index commit did not happen: index them again from their
//     footers, so a retried backup dedups against them) or torn (cut the
//     volume there);
//   - recipes of items that were being written or deleted are removed.
func (e *Engine) recover(ctx context.Context) error {
	ends := make([]int64, len(e.vols.Sizes()))
	e.mu.RLock()
	for _, rec := range e.containers {
		if int(rec.Volume) < len(ends) {
			ends[rec.Volume] = max(ends[rec.Volume], rec.Offset+rec.Size)
		}
	}
	e.mu.RUnlock()
	for vol, end := range ends {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.recoverVolume(uint32(vol), end); err != nil {
			return err
		}
	}
	if err := e.punchGaps(); err != nil {
		return err
	}
	pending, deleted, err := e.idx.Marked()
	if err != nil {
		return e.translate(err)
	}
	for _, id := range append(pending, deleted...) {
		if err := e.idx.DropRecipe(id); err != nil {
			return e.translate(err)
		}
	}
	if len(pending) > 0 {
		e.log.Info("recovery: dropped items that were never committed", "items", len(pending))
	}
	return nil
}

func (e *Engine) recoverVolume(vol uint32, pos int64) error {
	size := e.vols.Sizes()[vol]
	for pos < size {
		rec, entries, err := e.readContainerAt(vol, pos, size)
		if err != nil {
			if e.zeroAt(vol, pos, size) {
				e.log.Info("recovery: cutting the space housekeeping freed at the end of a volume", "volume", vol, "offset", pos, "bytes", size-pos)
			} else {
				e.log.Warn("recovery: cutting torn write", "volume", vol, "offset", pos, "bytes", size-pos, "err", err)
			}
			return e.translate(e.vols.Truncate(vol, pos))
		}
		if err := e.reindex(rec, entries); err != nil {
			return err
		}
		e.log.Info("recovery: indexed container found past the index", "volume", vol, "offset", pos, "chunks", len(entries))
		pos += rec.Size
	}
	return nil
}

// readContainerAt reads and checks the whole container at vol:pos.
func (e *Engine) readContainerAt(vol uint32, pos, size int64) (index.ContainerRec, []container.Entry, error) {
	if size-pos < container.HeaderSize {
		return index.ContainerRec{}, nil, fmt.Errorf("%w: %d bytes, too short for a header", container.ErrCorrupt, size-pos)
	}
	hb := make([]byte, container.HeaderSize)
	if err := e.vols.ReadAt(vol, hb, pos); err != nil {
		return index.ContainerRec{}, nil, err
	}
	h, err := container.ParseHeader(hb)
	if err != nil {
		return index.ContainerRec{}, nil, err
	}
	if pos+h.Size() > size {
		return index.ContainerRec{}, nil, fmt.Errorf("%w: container runs past the end of the volume", container.ErrCorrupt)
	}
	buf := make([]byte, h.Size())
	if err := e.vols.ReadAt(vol, buf, pos); err != nil {
		return index.ContainerRec{}, nil, err
	}
	_, entries, err := container.Parse(buf)
	if err != nil {
		return index.ContainerRec{}, nil, err
	}
	rec := index.ContainerRec{ID: h.ID, Volume: vol, Offset: pos, Size: h.Size(), Body: h.Body,
		Count: h.Count, Domain: h.Domain, Created: e.opts.Now().UnixNano()}
	return rec, entries, nil
}

func (e *Engine) reindex(rec index.ContainerRec, entries []container.Entry) error {
	b := e.idx.NewBatch()
	b.PutContainer(rec)
	for _, en := range entries {
		_, err := e.idx.Chunk(en.FP)
		if err == nil {
			continue // an older copy is indexed; keep it
		}
		if !errors.Is(err, index.ErrNotFound) {
			b.Discard()
			return e.translate(err)
		}
		b.PutChunk(en.FP, index.Loc{Container: rec.ID, Offset: en.Offset, Stored: en.Stored, Raw: en.Raw, Codec: en.Codec})
	}
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	e.addContainer(rec)
	return nil
}

// zeroAt reports whether the bytes at vol:pos start with a zero header: a
// hole housekeeping punched, not a torn container.
func (e *Engine) zeroAt(vol uint32, pos, size int64) bool {
	b := make([]byte, min(container.HeaderSize, size-pos))
	if e.vols.ReadAt(vol, b, pos) != nil {
		return false
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// punchGaps gives back the space between containers that no container
// record covers: containers housekeeping dropped whose punch a crash
// prevented, and containers whose index commit never happened. Punching a
// hole again is cheap, so it runs on every open; it also makes the
// volumes' used bytes the containers' bytes.
func (e *Engine) punchGaps() error {
	sizes := e.vols.Sizes()
	byVol := make([][]index.ContainerRec, len(sizes))
	e.mu.RLock()
	for _, rec := range e.containers {
		if int(rec.Volume) < len(byVol) {
			byVol[rec.Volume] = append(byVol[rec.Volume], rec)
		}
	}
	e.mu.RUnlock()
	for vol, recs := range byVol {
		sort.Slice(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
		var pos int64
		for _, rec := range append(recs, index.ContainerRec{Offset: sizes[vol]}) {
			if rec.Offset > pos {
				if err := e.vols.Punch(uint32(vol), pos, rec.Offset-pos); err != nil {
					e.log.Warn("open: could not free unused volume space", "volume", vol, "offset", pos, "bytes", rec.Offset-pos, "err", err)
				}
			}
			pos = max(pos, rec.Offset+rec.Size)
		}
	}
	return nil
}

package chunkstore

import "github.com/backstop-appliance/backstop/chunkstore/index"

// flusher writes sealed containers to a volume, syncs them, then commits
// their chunks and any recipe segments to the index. It takes whatever has
// queued up at once, so that one fsync and one index commit serve several
// containers when the disk is the bottleneck.
func (w *Writer) flusher() {
	var err error
	var next *flushJob
	for {
		var group []flushJob
		if next != nil {
			group, next = append(group, *next), nil
		} else if j, ok := <-w.flushQ; ok {
			group = append(group, j)
		} else {
			break
		}
		segs := len(group[0].segs)
	more:
		for len(group) < builders {
			select {
			case j, ok := <-w.flushQ:
				if !ok {
					break more
				}
				if segs+len(j.segs) > maxFlushSegs {
					next = &j // a batch of its own: badger bounds a transaction
					break more
				}
				segs += len(j.segs)
				group = append(group, j)
			default:
				break more
			}
		}
		if err == nil {
			err = w.flush(group)
			if err != nil {
				w.flushErr.Store(&err)
			}
		}
		if err != nil {
			for _, j := range group {
				if j.flight != nil {
					w.e.inflight.land(j.flight, false)
				}
			}
		}
		for _, j := range group {
			if j.builder != nil {
				w.free <- j.builder
			}
		}
	}
	w.flushed <- err
}

// maxFlushSegs bounds the recipe segments of one flush's index batch: each
// brings up to index.SegmentLen reference keys, and badger refuses a
// transaction of more than about 50,000 entries (15% of a 32 MiB memtable
// in 96-byte nodes).
const maxFlushSegs = 16

func (w *Writer) flush(group []flushJob) error {
	e := w.e
	e.appendMu.RLock()
	defer e.appendMu.RUnlock()
	b := e.idx.NewBatch()
	defer b.Discard()
	if !w.marked {
		b.MarkPending(w.id, w.store.ID)
		w.marked = true
	}
	var recs []index.ContainerRec
	synced := map[uint32]bool{}
	for _, j := range group {
		if j.builder == nil {
			continue
		}
		data := j.builder.Seal(j.id, w.dom.ID)
		vol, off, err := e.vols.Append(data)
		if err != nil {
			return e.translate(err)
		}
		synced[vol] = false
		rec := index.ContainerRec{ID: j.id, Volume: vol, Offset: off, Size: int64(len(data)),
			Body: uint32(j.builder.Len()), Count: uint32(j.builder.Count()), Domain: w.dom.ID, Created: e.opts.Now().UnixNano()}
		recs = append(recs, rec)
		b.PutContainer(rec)
		for _, en := range j.builder.Entries() {
			b.PutChunk(en.FP, index.Loc{Container: j.id, Offset: en.Offset, Stored: en.Stored, Raw: en.Raw, Codec: en.Codec})
		}
	}
	for vol := range synced {
		if err := e.vols.Sync(vol); err != nil {
			return e.translate(err)
		}
	}
	for _, j := range group {
		for _, s := range j.segs {
			b.PutSegment(w.store.ID, w.id, s.off, s.entries)
		}
	}
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	for _, rec := range recs {
		e.addContainer(rec)
	}
	n := 0
	for _, j := range group {
		n += len(j.segs)
	}
	w.segMu.Lock()
	w.flushing = w.flushing[n:]
	w.segMu.Unlock()
	for _, j := range group {
		if j.flight != nil {
			e.inflight.land(j.flight, true)
		}
	}
	return nil
}

func (e *Engine) addContainer(rec index.ContainerRec) {
	e.mu.Lock()
	e.containers[rec.ID] = rec
	e.mu.Unlock()
}

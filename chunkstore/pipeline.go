package chunkstore

import (
	"io"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

type segment struct {
	off     int64
	entries []dedup.RecipeEntry
}

type flushJob struct {
	builder *container.Builder // nil: segments only
	flight  *flight
	id      uint64
	segs    []segment
}

type job struct {
	data   []byte
	cbuf   []byte
	stored []byte
	codec  container.Codec
	// want is the codec the stream's policy picked for the chunk, if new.
	want  container.Codec
	fp    dedup.Fingerprint
	found bool
	// storeNew: a chunk the domain holds that no live item of the
	// writer's store names; it counts in the item's new bytes.
	storeNew bool
	err      error
	ready    chan struct{}
	// splice: not a chunk but recipe entries spliced in here (no
	// worker sees it).
	splice *phase
}

// run is the pipeline: this goroutine chunks, workers hash, look up and
// compress in parallel, and the sequencer puts results back in order.
func (w *Writer) run(src io.Reader) {
	pol := w.e.newCodecPolicy()
	ch, _ := chunker.New(pol.Reader(src), w.dom.Chunker)
	workers := w.e.opts.Workers
	jobs := make(chan *job, workers*2)
	order := make(chan *job, 64)
	pool := sync.Pool{New: func() any { return &job{ready: make(chan struct{}, 1)} }}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work(jobs)
		}()
	}
	seqDone := make(chan error, 1)
	go func() { seqDone <- w.sequence(order, &pool) }()

	var err error
	for {
		var data []byte
		data, err = ch.Next()
		if err == io.EOF {
			// The end of the bytes, or of a phase: a splice follows.
			ph, ok := <-w.phases
			if !ok {
				break
			}
			order <- &job{splice: ph}
			w.cur.Store(ph.pr)
			ch, _ = chunker.New(pol.Reader(ph.pr), w.dom.Chunker)
			continue
		}
		if err != nil {
			break
		}
		j := pool.Get().(*job)
		j.data = append(j.data[:0], data...)
		j.want = pol.Pick()
		jobs <- j
		order <- j
	}
	close(jobs)
	close(order)
	wg.Wait()
	if err == io.EOF {
		err = nil
	}
	if serr := <-seqDone; serr != nil {
		err = serr // the chunker's error is then only the closed pipe
	}
	if err != nil {
		// Unblock a writer stuck in Write and stop reading.
		w.cur.Load().CloseWithError(err)
		go w.refusePhases(err)
	}
	w.err = err
	close(w.done)
}

func (w *Writer) work(jobs <-chan *job) {
	h, _ := blake3.NewKeyed(w.dom.Key)
	var comps container.Compressors
	fps, refd := make([]dedup.Fingerprint, 1), make([]bool, 1)
	for j := range jobs {
		h.Reset()
		h.Write(j.data)
		h.Sum(j.fp[:0])
		j.found, j.storeNew, j.err = false, false, nil
		if j.err == nil {
			_, j.found, j.err = w.e.dedupLookup(j.fp)
		}
		w.looked.Add(1)
		if j.err == nil && j.found {
			// The item's figures are the store's: a chunk only another
			// store holds is new here, and is compressed to count it as if
			// the pool lacked it.
			fps[0] = j.fp
			j.err = w.e.referenced(w.store.ID, fps, refd)
			j.storeNew = !refd[0]
		}
		if j.err == nil && (!j.found || j.storeNew) {
			var comp *container.Compressor
			if comp, j.err = comps.Get(j.want); j.err == nil {
				j.stored, j.codec = comp.Compress(j.cbuf, j.data)
				if j.codec != container.Raw {
					j.cbuf = j.stored[:0]
				}
			}
		}
		j.ready <- struct{}{}
	}
}

// sequence consumes results in stream order. After the first error it only
// drains, so that the chunker and workers can finish.
func (w *Writer) sequence(order <-chan *job, pool *sync.Pool) error {
	var err error
	for j := range order {
		if j.splice != nil {
			err = w.spliced(j.splice, err)
			continue
		}
		<-j.ready
		if err == nil {
			err = j.err
		}
		if err == nil {
			err = w.add(j)
		}
		if err != nil {
			w.cur.Load().CloseWithError(err)
		}
		w.appended.Add(1)
		pool.Put(j)
	}
	if err == nil {
		err = w.settle(true)
	}
	if err == nil && w.builder.Count() > 0 {
		err = w.seal()
	}
	if w.builder.Count() == 0 || err != nil {
		w.e.inflight.land(w.flight, false) // never queued
	}
	if err == nil {
		w.endSegment()
	}
	close(w.flushQ)
	if ferr := <-w.flushed; err == nil {
		err = ferr
	}
	return err
}

func (w *Writer) add(j *job) error {
	n := len(j.data)
	w.bytes.Add(int64(n))
	var carrier *flight
	if !j.found {
		carrier = w.e.inflight.claim(j.fp, w.flight)
	}
	storeNew := j.storeNew
	switch {
	case !j.found && carrier == nil:
		w.keep(j.fp, j.stored, n, j.codec)
		storeNew = true
		if w.builder.Full() {
			if err := w.seal(); err != nil {
				return err
			}
		}
	case carrier != nil && carrier.owner != w:
		w.borrowed[carrier] = append(w.borrowed[carrier], borrowed{fp: j.fp, stored: append([]byte(nil), j.stored...), raw: n, codec: j.codec})
		w.dupChunks.Add(1)
		refd := []bool{false}
		if err := w.e.referenced(w.store.ID, []dedup.Fingerprint{j.fp}, refd); err != nil {
			return err
		}
		storeNew = !refd[0]
	case carrier != nil: // ours, earlier in this item: counted then
		w.dupChunks.Add(1)
	default:
		w.dupChunks.Add(1)
	}
	if storeNew {
		w.countNew(j.fp, len(j.stored))
	}
	return w.appendEntry(j.fp, n)
}

// countNew adds a chunk the store did not reference to the item's new
// bytes, once per item: the figure depends on the store and the item
// alone, never on what other stores of the domain hold.
func (w *Writer) countNew(fp dedup.Fingerprint, stored int) {
	if w.counted.add(fp) {
		w.stored.Add(int64(stored))
	}
}

// appendEntry adds a chunk of n bytes to the item's recipe. Every recipe
// entry goes through it, so that housekeeping sees it (recipeFPs).
func (w *Writer) appendEntry(fp dedup.Fingerprint, n int) error {
	if live := w.e.fence.live.Load(); live != nil && !live.MayContain(fp) {
		live.Add(fp)
	}
	w.segMu.Lock()
	if len(w.seg) == 0 {
		w.segOff = w.off
		w.seg = make([]dedup.RecipeEntry, 0, index.SegmentLen)
	}
	w.seg = append(w.seg, dedup.RecipeEntry{FP: fp, Len: uint32(n)})
	w.off += int64(n)
	full := len(w.seg) == index.SegmentLen
	w.segMu.Unlock()
	if full {
		w.endSegment()
		if len(w.segs) >= 16 {
			return w.queue(flushJob{segs: w.takeSegs()})
		}
	}
	return nil
}

// endSegment closes the segment being filled.
func (w *Writer) endSegment() {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	if len(w.seg) > 0 {
		w.segs = append(w.segs, segment{w.segOff, w.seg})
		w.seg = nil
	}
}

func (w *Writer) keep(fp dedup.Fingerprint, stored []byte, n int, codec container.Codec) {
	w.builder.Add(fp, stored, n, codec)
	w.newChunks.Add(1)
}

// settle forgets borrowed chunks whose flights landed; with final, it
// stores itself those whose flights failed or are still travelling.
func (w *Writer) settle(final bool) error {
	for f, chunks := range w.borrowed {
		done, ok := f.landed()
		if done && ok {
			delete(w.borrowed, f)
			continue
		}
		if !done && !final {
			continue
		}
		delete(w.borrowed, f)
		for _, c := range chunks {
			// Another flight may have claimed it meanwhile; a second copy
			// is harmless.
			w.e.inflight.claim(c.fp, w.flight)
			w.keep(c.fp, c.stored, c.raw, c.codec)
			if w.builder.Full() {
				if err := w.seal(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// takeSegs hands the full segments to a flush job; they stay in flushing
// until the flusher commits them.
func (w *Writer) takeSegs() []segment {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	s := w.segs
	w.segs = nil
	w.flushing = append(w.flushing, s...)
	return s
}

// builders is how many containers a stream fills and flushes at once: one
// filling, the others being written, so that a slow fsync does not stall
// chunking.
const builders = 3

// seal hands the current container to the flusher and takes a free builder.
func (w *Writer) seal() error {
	id, err := w.e.idx.NextContainerID()
	if err != nil {
		return w.e.translate(err)
	}
	if err := w.queue(flushJob{builder: w.builder, flight: w.flight, id: id, segs: w.takeSegs()}); err != nil {
		return err // sequence lands the flight
	}
	w.flight = newFlight(w)
	select {
	case w.builder = <-w.free:
	default:
		if w.made < builders {
			w.made++
			b, err := w.e.newBuilder(w.dom.ID)
			if err != nil {
				return err
			}
			w.builder = b
			return w.settle(false)
		}
		w.builder = <-w.free
	}
	w.builder.Reset()
	return w.settle(false)
}

func (w *Writer) queue(j flushJob) error {
	if err := w.flushErr.Load(); err != nil {
		return *err
	}
	w.flushQ <- j
	return nil
}

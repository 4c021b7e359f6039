package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/zeebo/blake3"

	"backstop/chunkstore/chunker"
	"backstop/chunkstore/container"
	"backstop/chunkstore/index"
)

// MaxNameLen bounds item names, in bytes.
const MaxNameLen = 1024

// errAborted ends the pipeline of an aborted writer.
var errAborted = errors.New("chunkstore: write aborted")

// WriteOptions qualify a new item.
type WriteOptions struct {
	// Replace lets the new item replace an existing one of the same name
	// when it commits; without it, Create refuses an existing name.
	Replace bool
	// Meta are user key/values kept with the item.
	Meta map[string]string
}

// Progress is how far a stream has come.
type Progress struct {
	Bytes       int64 `json:"bytes"`        // logical bytes chunked so far
	StoredBytes int64 `json:"stored_bytes"` // bytes this stream added to volumes
	NewChunks   int64 `json:"new_chunks"`
	DupChunks   int64 `json:"dup_chunks"`
}

// Writer streams a new item into a store. Write (or io.Copy into it), then
// Commit; the item exists only once Commit returns nil. Abort drops it.
// A Writer is not safe for concurrent use.
type Writer struct {
	e     *Engine
	store index.Store
	dom   *domain
	name  string
	key   string
	id    uint64
	opts  WriteOptions

	pw   *io.PipeWriter
	pr   *io.PipeReader
	done chan struct{}
	err  error // the pipeline's outcome, set before done closes
	end  bool  // Commit or Abort has run
	// started: the pipeline runs (begin)
	started bool

	bytes, stored, newChunks, dupChunks atomic.Int64

	// Owned by the sequencer goroutine.
	builder  *container.Builder
	made     int // builders made so far
	seg      []index.RecipeEntry
	segOff   int64
	off      int64
	segs     []segment
	flushQ   chan flushJob
	free     chan *container.Builder
	flushed  chan error
	flushErr atomic.Pointer[error] // set when the flusher stops on an error

	flight   *flight                // carries the chunks of builder
	borrowed map[*flight][]borrowed // chunks other streams carry for us

	marked bool // flusher: 'p' mark written
}

type segment struct {
	off     int64
	entries []index.RecipeEntry
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
	fp     container.Fingerprint
	found  bool
	err    error
	ready  chan struct{}
}

// Create starts a new item name in store.
func (e *Engine) Create(ctx context.Context, store, name string, opts WriteOptions) (*Writer, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	s, dom, err := e.store(store)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := string(storeKey(s.ID)) + name
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if e.writing[key] {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %s/%s", ErrBusy, store, name)
	}
	e.writing[key] = true
	e.streams.Add(1)
	e.mu.Unlock()
	w := &Writer{e: e, store: s, dom: dom, name: name, key: key, opts: opts, borrowed: map[*flight][]borrowed{}}
	if err := w.start(); err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

func validName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty item name", ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: item name longer than %d bytes", ErrInvalid, MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: item name is not UTF-8", ErrInvalid)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: item name %q has a control character", ErrInvalid, name)
		}
	}
	return nil
}

func (w *Writer) start() error {
	if !w.opts.Replace {
		if _, err := w.e.idx.Item(w.store.ID, w.name); err == nil {
			return fmt.Errorf("%w: item %s/%s", ErrExists, w.store.Name, w.name)
		} else if !errors.Is(err, index.ErrNotFound) {
			return w.e.translate(err)
		}
	}
	id, err := w.e.idx.NextItemID()
	if err != nil {
		return w.e.translate(err)
	}
	w.id = id
	if err := w.dom.Chunker.Validate(); err != nil {
		return fmt.Errorf("%w: domain %s: %v", ErrCorrupt, w.dom.Name, err)
	}
	w.pr, w.pw = io.Pipe()
	w.done = make(chan struct{})
	w.builder = container.NewBuilder(w.e.opts.ContainerSize)
	w.flight = newFlight(w)
	w.made = 1
	w.free = make(chan *container.Builder, builders)
	w.flushQ = make(chan flushJob, builders)
	w.flushed = make(chan error, 1)
	go w.flusher()
	return nil
}

// begin starts the pipeline on first use; it reads first (if not nil),
// then whatever Write puts in the pipe.
func (w *Writer) begin(first io.Reader) {
	if w.started {
		return
	}
	w.started = true
	src := io.Reader(w.pr)
	if first != nil {
		ra := newReadahead(first)
		src = io.MultiReader(ra, w.pr)
		go func() {
			<-w.done
			ra.stop()
		}()
	}
	go w.run(src)
}

// Write hands p to the chunking pipeline.
func (w *Writer) Write(p []byte) (int, error) {
	if w.end {
		return 0, fmt.Errorf("%w: write after commit or abort", ErrInvalid)
	}
	w.begin(nil)
	return w.pw.Write(p)
}

// eofReader tells ReadFrom when the chunker has read its source to the end.
type eofReader struct {
	r    io.Reader
	n    int64
	err  error
	done chan struct{}
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err != nil {
		if err != io.EOF {
			e.err = err
		}
		close(e.done)
	}
	return n, err
}

// ReadFrom copies r into the item with large writes.
//
// On a fresh Writer the chunker reads r directly, saving a copy; a read
// error from r fails the item.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.end {
		return 0, fmt.Errorf("%w: write after commit or abort", ErrInvalid)
	}
	if !w.started {
		src := &eofReader{r: r, done: make(chan struct{})}
		w.begin(src)
		select {
		case <-src.done:
			return src.n, src.err
		case <-w.done:
			return src.n, w.err
		}
	}
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// Progress reports how far the stream has come; safe to call concurrently.
func (w *Writer) Progress() Progress {
	return Progress{Bytes: w.bytes.Load(), StoredBytes: w.stored.Load(), NewChunks: w.newChunks.Load(), DupChunks: w.dupChunks.Load()}
}

// run is the pipeline: this goroutine chunks, workers hash, look up and
// compress in parallel, and the sequencer puts results back in order.
func (w *Writer) run(src io.Reader) {
	ch, _ := chunker.New(src, w.dom.Chunker)
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
		if err != nil {
			break
		}
		j := pool.Get().(*job)
		j.data = append(j.data[:0], data...)
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
		w.pr.CloseWithError(err)
	}
	w.err = err
	close(w.done)
}

func (w *Writer) work(jobs <-chan *job) {
	h, _ := blake3.NewKeyed(w.dom.Key)
	comp, cerr := container.NewCompressor(w.e.codec)
	for j := range jobs {
		h.Reset()
		h.Write(j.data)
		h.Sum(j.fp[:0])
		j.found, j.err = false, cerr
		if j.err == nil {
			_, j.found, j.err = w.e.lookup(j.fp)
		}
		if j.err == nil && !j.found {
			j.stored, j.codec = comp.Compress(j.cbuf, j.data)
			if j.codec != container.Raw {
				j.cbuf = j.stored[:0]
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
		<-j.ready
		if err == nil {
			err = j.err
		}
		if err == nil {
			err = w.add(j)
		}
		if err != nil {
			w.pr.CloseWithError(err)
		}
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
	if err == nil && len(w.seg) > 0 {
		w.segs = append(w.segs, segment{w.segOff, w.seg})
		w.seg = nil
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
	switch {
	case !j.found && carrier == nil:
		w.keep(j.fp, j.stored, n, j.codec)
		if w.builder.Full() {
			if err := w.seal(); err != nil {
				return err
			}
		}
	case carrier != nil && carrier.owner != w:
		w.borrowed[carrier] = append(w.borrowed[carrier], borrowed{fp: j.fp, stored: append([]byte(nil), j.stored...), raw: n, codec: j.codec})
		w.dupChunks.Add(1)
	default:
		w.dupChunks.Add(1)
	}
	if len(w.seg) == 0 {
		w.segOff = w.off
		w.seg = make([]index.RecipeEntry, 0, index.SegmentLen)
	}
	w.seg = append(w.seg, index.RecipeEntry{FP: j.fp, Len: uint32(n)})
	w.off += int64(n)
	if len(w.seg) == index.SegmentLen {
		w.segs = append(w.segs, segment{w.segOff, w.seg})
		w.seg = nil
		if len(w.segs) >= 16 {
			return w.queue(flushJob{segs: w.takeSegs()})
		}
	}
	return nil
}

func (w *Writer) keep(fp container.Fingerprint, stored []byte, n int, codec container.Codec) {
	w.builder.Add(fp, stored, n, codec)
	w.stored.Add(int64(len(stored)))
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

func (w *Writer) takeSegs() []segment {
	s := w.segs
	w.segs = nil
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
			w.builder = container.NewBuilder(w.e.opts.ContainerSize)
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

// flusher writes sealed containers to a volume, syncs them, then commits
// their chunks and any recipe segments to the index. It takes whatever has
// queued up at once, so that one fsync and one index commit serve several
// containers when the disk is the bottleneck.
func (w *Writer) flusher() {
	var err error
	for j := range w.flushQ {
		group := []flushJob{j}
	more:
		for len(group) < builders {
			select {
			case j, ok := <-w.flushQ:
				if !ok {
					break more
				}
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

func (w *Writer) flush(group []flushJob) error {
	e := w.e
	b := e.idx.NewBatch()
	defer b.Discard()
	if !w.marked {
		b.MarkPending(w.id)
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
			b.PutSegment(w.id, s.off, s.entries)
		}
	}
	if err := b.Commit(); err != nil {
		return e.translate(err)
	}
	for _, rec := range recs {
		e.addContainer(rec)
	}
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

// Commit waits for every chunk to be durable, then makes the item visible
// and durable in one index commit. Only when it returns nil is the item
// acknowledged.
func (w *Writer) Commit(ctx context.Context) (Item, error) {
	if w.end {
		return Item{}, fmt.Errorf("%w: commit after commit or abort", ErrInvalid)
	}
	w.end = true
	defer w.release()
	w.begin(nil)
	w.pw.Close()
	<-w.done
	err := w.err
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		w.cleanup()
		return Item{}, err
	}
	it, old, err := w.e.commitItem(w)
	if err != nil {
		w.cleanup()
		return Item{}, err
	}
	if old != nil {
		w.e.dropRecipe(old.ID)
	}
	return it, nil
}

// Abort drops the item; chunks already stored stay for dedup until
// housekeeping reclaims them.
func (w *Writer) Abort() error {
	if w.end {
		return nil
	}
	w.end = true
	defer w.release()
	w.begin(nil)
	w.pw.CloseWithError(errAborted)
	<-w.done
	w.cleanup()
	return nil
}

func (w *Writer) cleanup() {
	if w.marked {
		w.e.dropRecipe(w.id)
	}
}

func (w *Writer) release() {
	e := w.e
	e.mu.Lock()
	delete(e.writing, w.key)
	e.mu.Unlock()
	e.streams.Done()
}

func (e *Engine) dropRecipe(id uint64) {
	if err := e.idx.DropRecipe(id); err != nil {
		e.log.Warn("recipe removal deferred to next open", "item", id, "err", err)
	}
}

func (e *Engine) commitItem(w *Writer) (Item, *index.Item, error) {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	var old *index.Item
	prev, err := e.idx.Item(w.store.ID, w.name)
	switch {
	case err == nil && !w.opts.Replace:
		return Item{}, nil, fmt.Errorf("%w: item %s/%s", ErrExists, w.store.Name, w.name)
	case err == nil:
		old = &prev
	case !errors.Is(err, index.ErrNotFound):
		return Item{}, nil, e.translate(err)
	}
	now := e.opts.Now().UTC()
	it := index.Item{ID: w.id, Store: w.store.ID, Name: w.name, Size: w.off,
		Chunks: w.newChunks.Load() + w.dupChunks.Load(), NewBytes: w.stored.Load(),
		Created: now, Modified: now, Meta: w.opts.Meta}
	if old != nil {
		it.Created = old.Created
	}
	b := e.idx.NewBatch()
	for _, s := range w.segs {
		b.PutSegment(w.id, s.off, s.entries)
	}
	if old != nil {
		b.DeleteItem(*old)
	}
	b.PutItem(it)
	if err := b.Commit(); err != nil {
		return Item{}, nil, e.translate(err)
	}
	e.mu.Lock()
	if u := e.usage[w.store.ID]; u != nil {
		if old != nil {
			u.items--
			u.logical -= old.Size
			u.newBytes -= old.NewBytes
		}
		u.items++
		u.logical += it.Size
		u.newBytes += it.NewBytes
	}
	e.mu.Unlock()
	e.stats.ingested.Add(it.Size)
	e.stats.newChunks.Add(w.newChunks.Load())
	e.stats.dupChunks.Add(w.dupChunks.Load())
	return e.itemInfo(w.store.Name, it), old, nil
}

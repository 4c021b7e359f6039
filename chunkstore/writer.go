package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
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

	// DomainWide lets an Importer answer Missing and Append against the
	// whole dedup domain instead of the store's own references and what
	// the import received. Only for a peer an administrator trusts with
	// every store of the domain; see docs/security.md. Writers ignore it.
	DomainWide bool

	replica bool // replication writing into a replica store
}

// Progress is how far a stream has come.
type Progress struct {
	Bytes int64 `json:"bytes"` // logical bytes chunked so far
	// StoredBytes is the item's new bytes so far: the stored size of the
	// distinct chunks no live item of its store named. It does not depend
	// on what other stores hold.
	StoredBytes int64 `json:"stored_bytes"`
	// NewChunks and DupChunks are the pool's (administrators' figures):
	// chunks this stream added to the volumes, and the others.
	NewChunks int64 `json:"new_chunks"`
	DupChunks int64 `json:"dup_chunks"`
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

	pw *io.PipeWriter
	pr *io.PipeReader
	// cur is the pipe the chunker reads now; phases hands it the next one
	// after a Splice (closed by Commit and Abort).
	cur    atomic.Pointer[io.PipeReader]
	phases chan *phase
	done   chan struct{}
	err    error // the pipeline's outcome, set before done closes
	end    bool  // Commit or Abort has run
	// started: the pipeline runs (begin)
	started bool

	// stored is the item's new bytes: the stored size of the distinct
	// chunks the store's live items did not name (counted once, in
	// counted). newChunks and dupChunks are the pool's: chunks this stream
	// added to the volumes, and the others.
	bytes, stored, newChunks, dupChunks atomic.Int64
	counted                             *fpSet

	// looked counts chunks the workers looked up, appended those the
	// sequencer put in the recipe: housekeeping waits for the two to meet.
	looked, appended atomic.Int64

	// segMu guards the recipe held in memory (seg, segs, flushing), which
	// housekeeping reads while it marks; the sequencer writes seg and segs,
	// the flusher drops from flushing what it committed.
	segMu    sync.Mutex
	seg      []dedup.RecipeEntry
	segs     []segment
	flushing []segment

	// Owned by the sequencer goroutine.
	builder  *container.Builder
	made     int // builders made so far
	segOff   int64
	off      int64
	flushQ   chan flushJob
	free     chan *container.Builder
	flushed  chan error
	flushErr atomic.Pointer[error] // set when the flusher stops on an error

	flight   *flight                // carries the chunks of builder
	borrowed map[*flight][]borrowed // chunks other streams carry for us

	marked bool // flusher: 'p' mark written
}

// Create starts a new item name in store. Every Writer must end with
// Commit or Abort: Engine.Close waits for them.
func (e *Engine) Create(ctx context.Context, store, name string, opts WriteOptions) (*Writer, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	s, dom, err := e.store(store)
	if err != nil {
		return nil, err
	}
	if s.Replica && !opts.replica {
		return nil, fmt.Errorf("%w: %q", ErrReadOnly, store)
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
	w := &Writer{e: e, store: s, dom: dom, name: name, key: key, opts: opts, borrowed: map[*flight][]borrowed{}, counted: newFPSet()}
	if err := w.start(); err != nil {
		w.release()
		return nil, err
	}
	e.mu.Lock()
	e.writers[w] = struct{}{}
	e.mu.Unlock()
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
	w.cur.Store(w.pr)
	w.phases = make(chan *phase)
	w.done = make(chan struct{})
	if w.builder, err = w.e.newBuilder(w.dom.ID); err != nil {
		return err
	}
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
	r     io.Reader
	n     int64
	err   error
	ended bool
	done  chan struct{}
}

func (e *eofReader) Read(p []byte) (int, error) {
	// A source whose last read returns data with io.EOF and fills the
	// readahead's block exactly is read again after its EOF: answer that
	// read without touching n or err, which ReadFrom reads once done is
	// closed.
	if e.ended {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err != nil {
		e.ended = true
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
	close(w.phases)
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
	close(w.phases)
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
	delete(e.writers, w)
	e.mu.Unlock()
	e.streams.Done()
}

func (e *Engine) dropRecipe(id uint64) {
	e.mu.Lock()
	if e.pins[id] > 0 {
		e.dropLater[id] = true
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	if err := e.idx.DropRecipe(id); err != nil {
		e.log.Warn("recipe removal deferred to next open", "item", id, "err", err)
	}
}

// pin keeps item id's recipe while a reader has it open.
func (e *Engine) pin(id uint64) {
	e.mu.Lock()
	e.pins[id]++
	e.mu.Unlock()
}

// unpin releases a pin; the last one drops a recipe whose item went
// meanwhile.
func (e *Engine) unpin(id uint64) {
	e.mu.Lock()
	e.pins[id]--
	drop := e.pins[id] == 0 && e.dropLater[id]
	if e.pins[id] == 0 {
		delete(e.pins, id)
		delete(e.dropLater, id)
	}
	e.mu.Unlock()
	if drop {
		e.dropRecipe(id)
	}
}

// pinned reports whether a reader has item id open.
func (e *Engine) pinned(id uint64) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.pins[id] > 0
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
		if err := e.mutable(w.store.ID, prev); err != nil {
			return Item{}, nil, err
		}
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
		b.PutSegment(w.store.ID, w.id, s.off, s.entries)
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

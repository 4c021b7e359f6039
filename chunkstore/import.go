package chunkstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// Errors of pre-chunked imports.
var (
	// ErrFingerprint reports a chunk whose bytes do not hash to the
	// fingerprint (or length) the caller gave for it.
	ErrFingerprint = dedup.ErrFingerprint
	// ErrMissingChunk reports a commit whose recipe names a chunk that
	// neither the store's live items name nor the caller supplied.
	ErrMissingChunk = dedup.ErrMissingChunk
)

// Importer builds an item from chunks its caller made: the client-side
// dedup (Catalyst low bandwidth) and replication path. The caller chunks
// and fingerprints with the store's domain (StoreDomain), then:
//
//   - Append gives the recipe in order, in batches of entries
//     (fingerprint and length), and answers which of them the caller must
//     send: every chunk that the store's own live items do not name and
//     that this import was not sent, even when the domain holds it;
//   - Put supplies the bytes of each of those, raw or compressed; the
//     engine decompresses, recomputes the keyed fingerprint and refuses a
//     mismatch;
//   - Commit makes the item visible atomically, and fails, storing no
//     item, if a chunk of the recipe was never supplied.
//
// Missing asks about fingerprints without adding them to the recipe.
//
// The answers never depend on data outside the store: a chunk only another
// store (or no store) holds is "missing" alike, so a client holding the
// domain key learns nothing by asking, and cannot name such a chunk in a
// recipe without sending its bytes. A chunk sent that the domain holds
// already is checked and dropped (the pool keeps one copy). With
// WriteOptions.DomainWide the whole domain answers instead.
//
// Supplied chunks go into containers through the same builder, group
// commit and in-flight table as a Writer's, so they are indexed, and
// visible to every other stream's dedup, as soon as their container is
// flushed. Abort (a cut connection) flushes what was received: a retried
// import of the same data finds those chunks present and need not send
// them again. Chunks no item ends up using are left to housekeeping.
//
// After ErrFingerprint (or any other error) the importer is failed:
// every later call returns the error, and Abort drops the chunks not yet
// flushed. An Importer is not safe for concurrent use.
type Importer struct {
	w     *Writer
	tools sync.Pool // of *checkTools

	// have are chunks supplied in this import and not yet in the index
	// (in a container still being filled or flushed, or borrowed), with
	// their raw length; owed are chunks the recipe names, still to supply.
	have, owed map[dedup.Fingerprint]uint32
	// recv are the chunks this import was sent and checked: it may name
	// them whatever the store holds.
	recv       *fpSet
	sealed     []*flight // our containers on their way to the index
	domainWide bool
	// known and refd are Missing's and Append's scratch.
	known   []dedup.Fingerprint
	refd    []bool
	entries int64
	puts    int
	err     error
}

// ImportStats count an import's traffic.
type ImportStats struct {
	Entries int64 // recipe entries so far
	Owed    int   // chunks the recipe names that are still to supply
	Put     int   // chunks supplied
	// Held is how many supplied chunks the import tracks itself because
	// they are not in the index yet: its memory is about 60 bytes each.
	Held int
	// Received is how many distinct chunks the import was sent (8 bytes
	// each in memory).
	Received int
}

// Import starts item name in store, built from supplied chunks. It ends
// with Commit or Abort, like a Writer.
func (e *Engine) Import(ctx context.Context, store, name string, opts WriteOptions) (*Importer, error) {
	w, err := e.Create(ctx, store, name, opts)
	if err != nil {
		return nil, err
	}
	if _, err := container.NewCompressor(e.codec); err != nil {
		w.abortIdle()
		return nil, fmt.Errorf("chunkstore: %w", err)
	}
	im := &Importer{w: w, have: map[dedup.Fingerprint]uint32{}, owed: map[dedup.Fingerprint]uint32{},
		recv: newFPSet(), domainWide: opts.DomainWide}
	im.tools.New = func() any {
		h, _ := blake3.NewKeyed(w.dom.Key)
		comp, _ := container.NewCompressor(e.codec) // checked above
		return &checkTools{h: h, comp: comp}
	}
	return im, nil
}

// Stats are the import's figures so far.
func (im *Importer) Stats() ImportStats {
	return ImportStats{Entries: im.entries, Owed: len(im.owed), Put: im.puts, Held: len(im.have), Received: im.recv.len()}
}

// Progress reports how far the import has come.
func (im *Importer) Progress() Progress { return im.w.Progress() }

// Missing returns the indexes of the fingerprints in fps that the caller
// must send: those this import was not sent and that no live item of the
// store names (see Importer). It does not change the import.
func (im *Importer) Missing(fps []dedup.Fingerprint) ([]int, error) {
	if im.err != nil {
		return nil, im.err
	}
	held, err := im.holds(func(i int) dedup.Fingerprint { return fps[i] }, len(fps))
	if err != nil {
		return nil, im.fail(err)
	}
	var out []int
	for i := range fps {
		if _, ok := held[i]; !ok {
			out = append(out, i)
		}
	}
	return out, nil
}

// holds finds which of n fingerprints (fp(i)) the caller may use without
// sending them: supplied in this import, or in the domain and named by a
// live item of the store (or, DomainWide, in the domain). It returns
// their locations by index (zero for a chunk not indexed yet).
func (im *Importer) holds(fp func(int) dedup.Fingerprint, n int) (map[int]index.Loc, error) {
	w := im.w
	held := map[int]index.Loc{}
	im.known = im.known[:0]
	var at []int
	for i := range n {
		f := fp(i)
		if raw, ok := im.have[f]; ok {
			held[i] = index.Loc{Raw: raw}
			continue
		}
		loc, found, err := w.e.lookupIn(w.dom, f)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if im.domainWide || im.recv.has(f) {
			held[i] = loc
			continue
		}
		im.known = append(im.known, f)
		at = append(at, i)
		held[i] = loc // until the store's references say otherwise
	}
	if len(at) == 0 {
		return held, nil
	}
	im.refd = append(im.refd[:0], make([]bool, len(at))...)
	if err := w.e.referenced(w.store.ID, im.known, im.refd); err != nil {
		return nil, err
	}
	for k, i := range at {
		if !im.refd[k] {
			delete(held, i)
		}
	}
	return held, nil
}

// Append adds entries to the end of the recipe and returns the indexes of
// those whose chunk must still be supplied with Put before Commit (each
// fingerprint at most once).
func (im *Importer) Append(entries []dedup.RecipeEntry) ([]int, error) {
	if im.err != nil {
		return nil, im.err
	}
	w := im.w
	im.prune()
	held, err := im.holds(func(i int) dedup.Fingerprint { return entries[i].FP }, len(entries))
	if err != nil {
		return nil, im.fail(err)
	}
	var missing []int
	for i, en := range entries {
		if en.Len == 0 || int(en.Len) > w.dom.Chunker.Max {
			return nil, im.fail(fmt.Errorf("%w: chunk %s of %d bytes (domain chunks are 1 to %d)", ErrInvalid, en.FP, en.Len, w.dom.Chunker.Max))
		}
		if n, ok := im.have[en.FP]; ok {
			if n != en.Len {
				return nil, im.fail(fmt.Errorf("%w: chunk %s is %d bytes, the recipe says %d", ErrFingerprint, en.FP, n, en.Len))
			}
		} else if n, ok := im.owed[en.FP]; ok {
			if n != en.Len {
				return nil, im.fail(fmt.Errorf("%w: chunk %s named with lengths %d and %d", ErrFingerprint, en.FP, n, en.Len))
			}
		} else {
			// Only a chunk the caller may use is checked against its
			// length: for any other, an error would tell that the domain
			// holds it.
			loc, ok := held[i]
			switch {
			case ok && loc.Raw != en.Len:
				return nil, im.fail(fmt.Errorf("%w: chunk %s is %d bytes, the recipe says %d", ErrFingerprint, en.FP, loc.Raw, en.Len))
			case !ok:
				im.owed[en.FP] = en.Len
				missing = append(missing, i)
			}
		}
		if err := im.appendEntry(en); err != nil {
			return nil, im.fail(err)
		}
	}
	return missing, nil
}

// appendEntry is the recipe half of Writer.add; Writer.appendEntry keeps
// housekeeping's fence informed.
func (im *Importer) appendEntry(en dedup.RecipeEntry) error {
	im.entries++
	im.w.bytes.Add(int64(en.Len))
	return im.w.appendEntry(en.FP, int(en.Len))
}

// Put supplies the bytes of chunk fp: data is raw chunk of raw bytes
// compressed with codec (container.Raw for none). A chunk the domain
// already holds is checked and then dropped. Put is Check then PutChecked.
func (im *Importer) Put(fp dedup.Fingerprint, codec container.Codec, data []byte, raw int) error {
	if im.err != nil {
		return im.err
	}
	return im.PutChecked(im.Check(fp, codec, data, raw))
}

// Checked is a chunk that Check decoded and hashed: whether it matched its
// fingerprint, and the bytes to store. Only Check makes one.
type Checked struct {
	fp     dedup.Fingerprint
	codec  container.Codec
	stored []byte
	raw    int
	err    error
}

// Err is nil when the chunk matched its fingerprint.
func (c Checked) Err() error { return c.err }

// Check decodes data and recomputes the keyed fingerprint, without
// changing the import: it is safe to call from several goroutines at once
// (to check chunks in parallel), while PutChecked takes the results one at
// a time. data must not change until PutChecked returns.
func (im *Importer) Check(fp dedup.Fingerprint, codec container.Codec, data []byte, raw int) Checked {
	w := im.w
	c := Checked{fp: fp, codec: codec, stored: data, raw: raw}
	if raw <= 0 || raw > w.dom.Chunker.Max {
		c.err = fmt.Errorf("%w: chunk of %d bytes (domain chunks are 1 to %d)", ErrInvalid, raw, w.dom.Chunker.Max)
		return c
	}
	if codec > container.Zstd {
		c.err = fmt.Errorf("%w: unknown codec %d", ErrInvalid, codec)
		return c
	}
	t := im.tools.Get().(*checkTools)
	defer im.tools.Put(t)
	if cap(t.dbuf) < raw {
		t.dbuf = make([]byte, raw)
	}
	plain, err := w.e.dec.Decompress(t.dbuf[:raw], data, codec, raw)
	if err == nil && len(plain) != raw {
		err = fmt.Errorf("%d bytes, not %d", len(plain), raw)
	}
	if err != nil {
		c.err = fmt.Errorf("%w: chunk %s does not decode as %s: %v", ErrFingerprint, fp, codec, err)
		return c
	}
	var sum dedup.Fingerprint
	t.h.Reset()
	t.h.Write(plain)
	t.h.Sum(sum[:0])
	if sum != fp {
		c.err = fmt.Errorf("%w: the data sent as chunk %s hashes to %s", ErrFingerprint, fp, sum)
		return c
	}
	if codec == container.Raw && t.comp != nil {
		stored, sc := t.comp.Compress(nil, plain)
		if sc != container.Raw {
			c.stored, c.codec = stored, sc
		}
	}
	return c
}

// checkTools are one Check's hasher, compressor and buffer.
type checkTools struct {
	h    *blake3.Hasher
	comp *container.Compressor
	dbuf []byte
}

// PutChecked adds a chunk Check passed; one Check failed fails the import.
func (im *Importer) PutChecked(c Checked) error {
	if im.err != nil {
		return im.err
	}
	if c.err != nil {
		return im.fail(c.err)
	}
	w := im.w
	fp, raw := c.fp, c.raw
	if n, ok := im.owed[fp]; ok && n != uint32(raw) {
		return im.fail(fmt.Errorf("%w: chunk %s is %d bytes, the recipe says %d", ErrFingerprint, fp, raw, n))
	}
	delete(im.owed, fp)
	im.puts++
	if im.recv.add(fp) {
		// The item's new bytes count what was sent, as sent (or as the
		// engine compressed it), whether or not the pool had it.
		w.stored.Add(int64(len(c.stored)))
	}
	if _, ok := im.have[fp]; ok {
		return nil
	}
	if _, found, err := w.e.lookupIn(w.dom, fp); err != nil {
		return im.fail(err)
	} else if found {
		return nil
	}
	im.have[fp] = uint32(raw)
	if carrier := w.e.inflight.claim(fp, w.flight); carrier != nil {
		if carrier.owner != w {
			w.borrowed[carrier] = append(w.borrowed[carrier], borrowed{fp: fp, stored: append([]byte(nil), c.stored...), raw: raw, codec: c.codec})
		}
		return nil
	}
	w.keep(fp, c.stored, raw, c.codec)
	if w.builder.Full() {
		im.sealed = append(im.sealed, w.flight)
		if err := w.seal(); err != nil {
			return im.fail(err)
		}
	}
	return nil
}

// prune forgets the supplied chunks whose containers reached the index:
// lookups find them there from now on, so the import's memory stays
// bounded by the containers in flight, not the item's size.
func (im *Importer) prune() {
	for len(im.sealed) > 0 {
		f := im.sealed[0]
		done, ok := f.landed()
		if !done {
			return
		}
		if ok {
			for _, fp := range f.fps {
				delete(im.have, fp)
			}
		}
		im.sealed = im.sealed[1:]
	}
}

func (im *Importer) fail(err error) error {
	if im.err == nil {
		im.err = err
	}
	return im.err
}

// Commit flushes the supplied chunks and makes the item visible and
// durable in one index commit. It fails, storing no item, when the
// import failed or a chunk of the recipe was never supplied.
func (im *Importer) Commit(ctx context.Context) (Item, error) {
	w := im.w
	if w.end {
		return Item{}, fmt.Errorf("%w: commit after commit or abort", ErrInvalid)
	}
	if im.err == nil && len(im.owed) > 0 {
		for fp := range im.owed {
			// fail records the error in im.err, which is returned below.
			_ = im.fail(fmt.Errorf("%w: %d chunks never supplied, such as %s", ErrMissingChunk, len(im.owed), fp))
			break
		}
	}
	if im.err != nil {
		err := im.err
		im.Abort()
		return Item{}, err
	}
	w.end = true
	defer w.release()
	err := im.finish(true)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		w.cleanup()
		return Item{}, err
	}
	w.dupChunks.Store(max(0, im.entries-w.newChunks.Load()))
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

// Abort drops the item. Chunks received and checked are flushed so that
// a retry finds them, unless the import failed.
func (im *Importer) Abort() error {
	w := im.w
	if w.end {
		return nil
	}
	w.end = true
	defer w.release()
	keep := im.err == nil
	err := im.finish(keep)
	if keep && err == nil {
		if kerr := im.keepReceived(); kerr != nil {
			w.e.log.Warn("import: could not record the chunks of a cut import; a retry sends them again", "err", kerr)
		}
	}
	w.cleanup()
	return err
}

// finish is the end of Writer.sequence: flush the last container (when
// keep) and wait for the flusher.
func (im *Importer) finish(keep bool) error {
	w := im.w
	var err error
	if keep {
		// Flush our own chunks first, so that streams that borrowed them
		// and wait as below see them land; then give the flights we
		// borrowed from a moment to land before storing those chunks again.
		if w.builder.Count() > 0 {
			err = w.seal()
		}
		if err == nil {
			w.awaitBorrowed(borrowWait)
			err = w.settle(true)
		}
		if err == nil && w.builder.Count() > 0 {
			err = w.seal()
		}
	}
	if !keep || w.builder.Count() == 0 || err != nil {
		w.e.inflight.land(w.flight, false)
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

// borrowWait bounds how long an import's end waits for the flights of
// other streams that carry chunks it was sent too. A stream importing the
// same data at the same time usually flushes within it; one that does not
// only costs a second copy of those chunks.
const borrowWait = 2 * time.Second

func (w *Writer) awaitBorrowed(d time.Duration) {
	if len(w.borrowed) == 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for f := range w.borrowed {
		select {
		case <-f.done:
		case <-t.C:
			return
		}
	}
}

// abortIdle ends a Writer whose pipeline never started and holds nothing.
func (w *Writer) abortIdle() {
	w.end = true
	close(w.flushQ)
	<-w.flushed
	w.e.inflight.land(w.flight, false)
	w.release()
}

// lookupIn finds a chunk of domain dom. A chunk is only found in the
// container of its own domain: another domain's chunk is not there.
//
// It is a dedup lookup: while housekeeping runs, a chunk found is in its
// live set, since the caller may reference it.
func (e *Engine) lookupIn(dom *domain, fp dedup.Fingerprint) (index.Loc, bool, error) {
	loc, found, err := e.dedupLookup(fp)
	if err != nil || !found {
		return index.Loc{}, false, err
	}
	if rec, ok := e.container(loc.Container); !ok || rec.Domain != dom.ID {
		return index.Loc{}, false, nil
	}
	return loc, true, nil
}

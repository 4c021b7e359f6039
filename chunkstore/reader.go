package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// Reader reads an item back. Every chunk's fingerprint is checked before
// its bytes are returned: damage is an error, never wrong data. ReadAt is
// safe for concurrent use; Read, Seek and WriteTo share one offset.
type Reader struct {
	e    *Engine
	item Item
	id   uint64
	dom  *domain

	closeOnce sync.Once

	mu  sync.Mutex
	off int64
	// the recipe segment around the last read
	seg     []dedup.RecipeEntry
	segOffs []int64 // item offset of each entry, plus the end
	// the last chunk read
	cOff, cEnd int64
	cData      []byte
	f          fetcher
}

// fetcher reads and checks chunks with buffers of its own.
type fetcher struct {
	e          *Engine
	h          *blake3.Hasher
	rbuf, dbuf []byte
}

func (e *Engine) newFetcher(dom *domain) fetcher {
	h, _ := blake3.NewKeyed(dom.Key)
	return fetcher{e: e, h: h}
}

// OpenItem opens an item for reading.
func (e *Engine) OpenItem(ctx context.Context, store, name string) (*Reader, error) {
	s, dom, err := e.store(store)
	if err != nil {
		return nil, err
	}
	if err := e.keys.err(dom.ID); err != nil {
		return nil, err
	}
	// Under commitMu no delete or replace runs between finding the item
	// and pinning its recipe.
	e.commitMu.Lock()
	it, err := e.getItem(ctx, s, name)
	if err == nil {
		e.pin(it.ID)
	}
	e.commitMu.Unlock()
	if err != nil {
		return nil, err
	}
	r := &Reader{e: e, item: e.itemInfo(store, it), id: it.ID, dom: dom, cOff: -1, cEnd: -1}
	r.f = e.newFetcher(dom)
	return r, nil
}

// Item describes what is being read.
func (r *Reader) Item() Item { return r.item }

// Size is the item's length.
func (r *Reader) Size() int64 { return r.item.Size }

// Close releases the reader. An item deleted or replaced while it was
// open keeps its recipe, and housekeeping its chunks, until then.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() { r.e.unpin(r.id) })
	return nil
}

// fetch reads chunk fp of raw length n and checks it. The result is valid
// until the next fetch.
func (f *fetcher) fetch(fp dedup.Fingerprint, n uint32) ([]byte, error) {
	e := f.e
	loc, found, err := e.lookup(fp)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: chunk %s is missing from the index", ErrCorrupt, fp)
	}
	data, err := f.read(fp, n, loc)
	if err == nil || !errors.Is(err, ErrCorrupt) {
		return data, err
	}
	// Housekeeping may have moved the chunk and freed its old place since
	// it was looked up: ask the index again before calling it damage.
	again, err2 := e.idx.Lookup(fp)
	if err2 != nil || again == loc {
		return nil, err
	}
	return f.read(fp, n, again)
}

// read reads chunk fp from loc and checks it.
func (f *fetcher) read(fp dedup.Fingerprint, n uint32, loc index.Loc) ([]byte, error) {
	e := f.e
	if loc.Raw != n {
		return nil, fmt.Errorf("%w: chunk %s is %d bytes in the index, %d in the recipe", ErrCorrupt, fp, loc.Raw, n)
	}
	rec, ok := e.container(loc.Container)
	if !ok {
		return nil, fmt.Errorf("%w: chunk %s is in container %d, which is missing", ErrCorrupt, fp, loc.Container)
	}
	if cap(f.rbuf) < int(loc.Stored) {
		f.rbuf = make([]byte, loc.Stored)
	}
	stored := f.rbuf[:loc.Stored]
	if err := e.vols.ReadAt(rec.Volume, stored, rec.Offset+container.HeaderSize+int64(loc.Offset)); err != nil {
		return nil, fmt.Errorf("%w: chunk %s in container %d: %v", ErrCorrupt, fp, loc.Container, err)
	}
	stored, err := e.openRecord(rec, entryOf(fp, loc), stored)
	if err != nil {
		return nil, fmt.Errorf("chunk %s in container %d: %w", fp, loc.Container, err)
	}
	if cap(f.dbuf) < int(n) {
		f.dbuf = make([]byte, n)
	}
	data, err := e.dec.Decompress(f.dbuf[:n], stored, loc.Codec, int(n))
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %s in container %d: %v", ErrCorrupt, fp, loc.Container, err)
	}
	e.touch(loc.Container)
	var sum dedup.Fingerprint
	f.h.Reset()
	f.h.Write(data)
	f.h.Sum(sum[:0])
	if sum != fp {
		return nil, fmt.Errorf("%w: chunk %s in container %d (volume %d) fails its fingerprint check", ErrCorrupt, fp, loc.Container, rec.Volume)
	}
	return data, nil
}

// ReadAt reads len(p) bytes at off.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(p) && off < r.item.Size {
		if err := r.chunkAt(off); err != nil {
			return n, r.damaged(err)
		}
		k := copy(p[n:], r.cData[off-r.cOff:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	r.e.stats.restored.Add(int64(n))
	return n, nil
}

func (r *Reader) damaged(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("item %s/%s: %w", r.item.Store, r.item.Name, err)
	}
	return err
}

// chunkAt makes the chunk holding off the current one.
func (r *Reader) chunkAt(off int64) error {
	if off >= r.cOff && off < r.cEnd {
		return nil
	}
	if len(r.segOffs) == 0 || off < r.segOffs[0] || off >= r.segOffs[len(r.segOffs)-1] {
		if err := r.loadSegment(off); err != nil {
			return err
		}
	}
	i := sort.Search(len(r.seg), func(i int) bool { return r.segOffs[i+1] > off })
	data, err := r.f.fetch(r.seg[i].FP, r.seg[i].Len)
	if err != nil {
		return err
	}
	r.cOff, r.cEnd, r.cData = r.segOffs[i], r.segOffs[i+1], data
	return nil
}

func (r *Reader) loadSegment(off int64) error {
	start, seg, err := r.e.idx.Segment(r.id, off, r.seg[:0])
	if errors.Is(err, index.ErrNotFound) {
		return fmt.Errorf("%w: item %s/%s has no recipe for offset %d (deleted while reading?)", ErrNotFound, r.item.Store, r.item.Name, off)
	}
	if err != nil {
		return r.e.translate(err)
	}
	r.seg = seg
	r.segOffs = append(r.segOffs[:0], start)
	for _, en := range seg {
		start += int64(en.Len)
		r.segOffs = append(r.segOffs, start)
	}
	if off >= start {
		return fmt.Errorf("%w: item %s/%s recipe ends at %d, before offset %d", ErrCorrupt, r.item.Store, r.item.Name, start, off)
	}
	return nil
}

// Read reads sequentially.
func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.item.Size {
		return 0, io.EOF
	}
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the offset for Read and WriteTo.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.item.Size
	}
	if offset < 0 {
		return r.off, fmt.Errorf("%w: seek before start", ErrInvalid)
	}
	r.off = offset
	return offset, nil
}

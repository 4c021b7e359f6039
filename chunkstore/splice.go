package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// phase is a splice handed to a Writer's pipeline: recipe entries that
// go into the item after the bytes written so far, and the pipe that
// carries the bytes written after them.
type phase struct {
	entries []dedup.RecipeEntry
	pr      *io.PipeReader
	err     error         // set before done closes
	done    chan struct{} // closed once the entries are in the recipe
}

// Splice appends bytes [off, off+n) of the item r reads to the item
// being written without reading or storing chunk data where it can: the
// chunks of r's recipe that lie wholly inside the range become entries of
// this item's recipe as they are (a metadata operation, whatever n is);
// only the bytes of the partial chunks at the two edges are read and
// written through the chunker. Bytes written before a splice end a chunk
// where the splice starts.
//
// r must read an item of the Writer's own store (its chunks are then
// already referenced by the store, so a splice adds no new bytes) and
// stay open until Splice returns.
func (w *Writer) Splice(ctx context.Context, r *Reader, off, n int64) error {
	if w.end {
		return fmt.Errorf("%w: splice after commit or abort", ErrInvalid)
	}
	if r.item.Store != w.store.Name {
		return fmt.Errorf("%w: splice from store %q into store %q", ErrInvalid, r.item.Store, w.store.Name)
	}
	if off < 0 || n < 0 || off+n > r.Size() {
		return fmt.Errorf("%w: splice of [%d, +%d) from an item of %d bytes", ErrInvalid, off, n, r.Size())
	}
	if n == 0 {
		return nil
	}
	from, to, entries, err := w.e.wholeChunks(ctx, r, off, off+n)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return w.copyRange(r, off, n)
	}
	if err := w.copyRange(r, off, from-off); err != nil {
		return err
	}
	if err := w.splice(entries); err != nil {
		return err
	}
	return w.copyRange(r, to, off+n-to)
}

func (w *Writer) copyRange(r *Reader, off, n int64) error {
	if n == 0 {
		return nil
	}
	buf := make([]byte, min(n, 1<<20))
	_, err := io.CopyBuffer(writerOnly{w}, io.NewSectionReader(r, off, n), buf)
	return err
}

// writerOnly hides Writer.ReadFrom, whose fast path is for a fresh Writer.
type writerOnly struct{ w *Writer }

func (o writerOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

// splice ends the current phase of the pipeline and has the sequencer
// append entries before the next one; it returns once they are in the
// recipe (so the caller's Reader pin covers them until then).
func (w *Writer) splice(entries []dedup.RecipeEntry) error {
	w.begin(nil)
	pr, pw := io.Pipe()
	ph := &phase{entries: entries, pr: pr, done: make(chan struct{})}
	old := w.pw
	w.pw = pw
	old.Close()
	w.phases <- ph
	<-ph.done
	return ph.err
}

// spliced appends a phase's entries; the sequencer calls it in stream
// order. After an error (err) it only reports it.
func (w *Writer) spliced(ph *phase, err error) error {
	if err == nil {
		for _, en := range ph.entries {
			w.bytes.Add(int64(en.Len))
			w.dupChunks.Add(1)
			if err = w.appendEntry(en.FP, int(en.Len)); err != nil {
				w.cur.Load().CloseWithError(err)
				break
			}
		}
	}
	ph.err = err
	close(ph.done)
	return err
}

// refusePhases fails the splices handed to a pipeline that stopped on err.
func (w *Writer) refusePhases(err error) {
	for ph := range w.phases {
		ph.pr.CloseWithError(err)
		ph.err = err
		close(ph.done)
	}
}

// wholeChunks returns the recipe entries of r's item that lie wholly
// inside [off, end), and the range [from, to) they cover; no entries
// when none does.
func (e *Engine) wholeChunks(ctx context.Context, r *Reader, off, end int64) (from, to int64, entries []dedup.RecipeEntry, err error) {
	from, to = -1, -1
	var buf []dedup.RecipeEntry
	for pos := off; pos < end; {
		if err := ctx.Err(); err != nil {
			return 0, 0, nil, err
		}
		start, seg, err := e.idx.Segment(r.id, pos, buf[:0])
		if errors.Is(err, index.ErrNotFound) {
			return 0, 0, nil, fmt.Errorf("%w: item %s/%s has no recipe for offset %d", ErrNotFound, r.item.Store, r.item.Name, pos)
		}
		if err != nil {
			return 0, 0, nil, e.translate(err)
		}
		buf = seg
		at := start
		for _, en := range seg {
			next := at + int64(en.Len)
			if at >= off && next <= end {
				if from < 0 {
					from = at
				}
				to = next
				entries = append(entries, en)
			}
			at = next
			if at >= end {
				break
			}
		}
		if at <= pos {
			return 0, 0, nil, fmt.Errorf("%w: item %s/%s recipe ends at %d, before offset %d", ErrCorrupt, r.item.Store, r.item.Name, at, pos)
		}
		pos = at
	}
	if len(entries) == 0 {
		return off, off, nil, nil
	}
	return from, to, entries, nil
}

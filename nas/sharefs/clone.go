package sharefs

import (
	"context"
	"fmt"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

var _ vfs.Cloner = (*file)(nil)

// CloneRange makes bytes [dstOff, dstOff+n) of the file those of
// [srcOff, srcOff+n) of src without copying data: the source's committed
// version is spliced into this file's stream (chunkstore.Writer.Splice),
// so only the partial chunks at the range's edges are read and written.
func (h *file) CloneRange(ctx context.Context, src vfs.File, srcOff, dstOff, n int64) error {
	if err := h.check(true); err != nil {
		return err
	}
	s, ok := src.(*file)
	if !ok || s.fs != h.fs {
		return vfs.ErrUnsupported
	}
	if err := s.check(false); err != nil {
		return err
	}
	if srcOff < 0 || dstOff < 0 || n < 0 {
		return vfs.ErrInvalid
	}
	r, err := s.nd.committedReader(ctx, srcOff+n)
	if err != nil || r == nil {
		return err
	}
	defer r.Close()
	h.nd.mu.Lock()
	defer h.nd.mu.Unlock()
	return h.nd.clone(ctx, r, srcOff, dstOff, n)
}

// committedReader commits the file and opens its committed version,
// which must hold end bytes; nil when end is 0.
func (n *node) committedReader(ctx context.Context, end int64) (*chunkstore.Reader, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, err
	}
	if end > n.size {
		return nil, fmt.Errorf("%w: range ends at %d, past the end of file %d (%d bytes)", vfs.ErrInvalid, end, n.id, n.size)
	}
	if end == 0 {
		return nil, nil
	}
	if err := n.sync(); err != nil {
		return nil, err
	}
	r, err := n.fs.eng.OpenItem(ctx, n.fs.opts.Store, itemName(n.id, n.version))
	if err != nil {
		return nil, fmt.Errorf("open item: %w", engineErr(err))
	}
	return r, nil
}

// clone splices [srcOff, srcOff+size) of r at dstOff. The stream is
// brought to dstOff first (committed and restarted when it is past it),
// with the file's own bytes below dstOff spliced from its committed
// version. n.mu is held.
func (n *node) clone(ctx context.Context, r *chunkstore.Reader, srcOff, dstOff, size int64) error {
	if err := n.usable(); err != nil {
		return err
	}
	if err := n.fs.mutable(ctx, n.id, n.version); err != nil {
		return err
	}
	end := dstOff + size
	if err := n.grow(end); err != nil {
		return err
	}
	if n.stream != nil && n.streamLen > dstOff {
		if err := n.sync(); err != nil {
			return err
		}
	}
	if n.stream == nil {
		w, ver, err := n.newWriter()
		if err != nil {
			return err
		}
		n.stream, n.streamVer, n.streamLen = w, ver, 0
	}
	if err := n.spliceOwn(ctx, n.stream, n.streamLen, dstOff, 0); err != nil {
		n.fail(err)
		return n.broken
	}
	n.streamLen = max(n.streamLen, dstOff)
	n.dirty.remove(0, dstOff)
	if err := n.stream.Splice(ctx, r, srcOff, size); err != nil {
		n.fail(err)
		return n.broken
	}
	n.streamLen = end
	n.dirty.remove(dstOff, end)
	if err := n.drain(); err != nil {
		return err
	}
	n.holes.Wrote(n.size, dstOff, end, n.sparse())
	n.size = max(n.size, end)
	n.dataDirty = true
	n.touch()
	return nil
}

// spliceOwn feeds the file's bytes [from, to) into w: staged bytes
// written, the lower and base items' ranges of at least least bytes
// spliced (smaller ones copied), holes as zeros. n.mu is held.
func (n *node) spliceOwn(ctx context.Context, w *chunkstore.Writer, from, to, least int64) error {
	pos := from
	for _, s := range n.dirty.within(from, to) {
		if err := n.spliceGap(ctx, w, pos, s.Start, least); err != nil {
			return err
		}
		if err := n.copyTo(w, s.Start, s.End); err != nil {
			return err
		}
		pos = s.End
	}
	return n.spliceGap(ctx, w, pos, to, least)
}

// spliceGap feeds [from, to), which the staging file does not hold.
func (n *node) spliceGap(ctx context.Context, w *chunkstore.Writer, from, to, least int64) error {
	if to-from < least {
		return n.copyTo(w, from, to)
	}
	for from < to {
		var src *chunkstore.Reader
		var limit int64
		switch {
		case from < n.lowerLen:
			src, limit = n.lower, n.lowerLen
		case from < n.baseValid:
			if err := n.openBase(); err != nil {
				return err
			}
			src, limit = n.base, n.baseValid
		default:
			return n.copyTo(w, from, to) // a hole: zeros
		}
		m := min(to, limit) - from
		if err := w.Splice(ctx, src, from, m); err != nil {
			return engineErr(err)
		}
		from += m
	}
	return nil
}

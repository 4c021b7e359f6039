package cartridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Write appends one record at the position, discarding whatever followed
// it (as on tape). ErrEarlyWarning means the record was written and the
// tape is past its early warning point; ErrEndOfMedium that it was not.
func (t *Tape) Write(ctx context.Context, data []byte) error {
	if err := t.prepareWrite(ctx, int64(len(data))); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := t.w.Write(data); err != nil {
		t.abort()
		return commitErr(err)
	}
	t.m.AppendRecord(uint32(len(data)))
	t.pos++
	t.pending += int64(len(data))
	t.pendingObjs++
	if t.streamCommitDue() {
		if err := t.Flush(ctx); err != nil {
			return err
		}
	}
	if t.BeyondEarlyWarning() {
		return ErrEarlyWarning
	}
	return nil
}

// streamCommitDue says whether a host streaming records without
// filemarks should have them committed now: CommitBytes or CommitInterval
// passed since the last commit. Each commit starts a new segment, so this
// costs a commit, never a copy.
func (t *Tape) streamCommitDue() bool {
	return t.pending >= t.opts.CommitBytes || t.opts.Now().Sub(t.lastCommit) >= t.opts.CommitInterval
}

// WriteFilemarks writes n filemarks at the position and commits: a
// filemark is the point where a host expects its data on the medium.
// n == 0 only commits (a flush).
func (t *Tape) WriteFilemarks(ctx context.Context, n uint64) error {
	if n > 0 {
		if err := t.prepareWrite(ctx, 0); err != nil {
			return err
		}
		t.m.AppendFilemarks(n)
		t.pos += n
		t.pendingObjs += n
	}
	if err := t.Flush(ctx); err != nil {
		return err
	}
	if n > 0 && t.BeyondEarlyWarning() {
		return ErrEarlyWarning
	}
	return nil
}

// prepareWrite checks that size bytes may be written at the position and
// opens a write session there.
func (t *Tape) prepareWrite(ctx context.Context, size int64) error {
	if t.opts.WriteProtected {
		return ErrWriteProtected
	}
	if t.pos < t.m.Objects() {
		if err := t.overwritable(); err != nil {
			return err
		}
		if t.w != nil { // cannot happen: motion commits first
			if err := t.Flush(ctx); err != nil {
				return err
			}
		}
		t.m.Truncate(t.pos)
	}
	if t.m.Bytes()+size > t.opts.Capacity {
		return ErrEndOfMedium
	}
	if t.w != nil {
		return nil
	}
	return t.begin(ctx)
}

// begin opens a write session: a new segment that starts where the kept
// data ends. Segments wholly before the cut stay as they are; of the one
// the cut falls in, the kept part is streamed again into the new segment
// (its chunks are duplicates: next to nothing is stored). An append at
// the end of the data copies nothing. This is the one place that knows
// how an item is extended.
func (t *Tape) begin(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx) // see Flush
	cut := t.m.Bytes()
	keep, base := 0, int64(0)
	for keep < len(t.segs) && base+t.segs[keep].size <= cut {
		base += t.segs[keep].size
		keep++
	}
	var kept []segment
	for _, sg := range t.segs[:keep] {
		if sg.size > 0 { // empty segments (filemarks only) leave the table
			kept = append(kept, sg)
		}
	}
	seq := t.maxSeq + 1
	w, err := t.eng.Create(ctx, t.store, SegmentName(t.name, seq), chunkstore.WriteOptions{Replace: true})
	if err != nil {
		return commitErr(err)
	}
	if prefix := cut - base; prefix > 0 {
		r, err := t.eng.OpenItem(ctx, t.store, SegmentName(t.name, t.segs[keep].seq))
		if err != nil {
			_ = w.Abort()
			return commitErr(err)
		}
		n, err := w.ReadFrom(io.NewSectionReader(r, 0, prefix))
		r.Close()
		if err == nil && n != prefix {
			err = fmt.Errorf("%w: %d bytes copied", io.ErrUnexpectedEOF, n)
		}
		if err != nil {
			_ = w.Abort()
			return commitErr(fmt.Errorf("copy the kept %d bytes: %w", prefix, err))
		}
	}
	t.w, t.wSeq, t.wBase, t.wKept, t.pending, t.pendingObjs = w, seq, base, kept, 0, 0
	t.maxSeq = seq
	return nil
}

// Flush commits the write session, if any: once it returns nil every
// record and filemark written so far survives a crash.
//
// A commit is not cancelled with the command that caused it: records a
// host was told are in the buffer stay there when the host aborts a
// later command (a task abort, a lost connection), as in a real drive's
// buffer, and reach the item.
func (t *Tape) Flush(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	if t.w == nil {
		if t.m.Objects() < t.committed.Objects() || t.m.Bytes() != t.committed.Bytes() {
			// a truncation without a write (ERASE): commit it too
			if err := t.begin(ctx); err != nil {
				return err
			}
		} else {
			return nil
		}
	}
	dataLen := t.m.Bytes() - t.wBase
	segs := append(append([]segment(nil), t.wKept...), segment{seq: t.wSeq, size: dataLen})
	if _, err := t.w.Write(encodeTrailer(t.m, segs, dataLen)); err != nil {
		t.abort()
		return commitErr(err)
	}
	it, err := t.w.Commit(ctx)
	if err != nil {
		t.abort()
		return commitErr(err)
	}
	t.newest = it.Modified
	live := map[uint64]bool{}
	for _, sg := range segs {
		live[sg.seq] = true
	}
	var stale []segment
	for _, sg := range t.segs {
		if !live[sg.seq] {
			stale = append(stale, sg)
		}
	}
	t.w = nil
	t.pending, t.pendingObjs = 0, 0
	t.committed = t.m.Clone()
	t.segs = segs
	t.lastCommit = t.opts.Now()
	t.closeReader()
	for _, sg := range stale { // superseded: the new segment's table no longer names them
		_ = t.eng.Delete(ctx, t.store, SegmentName(t.name, sg.seq))
	}
	return nil
}

// abort drops the write session: the tape is back to what was committed.
func (t *Tape) abort() {
	if t.w != nil {
		_ = t.w.Abort()
		t.w = nil
	}
	t.m = t.committed.Clone()
	t.pos = min(t.pos, t.m.Objects())
	t.pending, t.pendingObjs = 0, 0
}

// Close commits what was written and releases the cartridge (UNLOAD).
func (t *Tape) Close(ctx context.Context) error {
	err := t.Flush(ctx)
	if err != nil {
		t.abort()
	}
	t.closeReader()
	return err
}

// Erase discards everything from the position on.
func (t *Tape) Erase(ctx context.Context) error {
	if t.opts.WriteProtected {
		return ErrWriteProtected
	}
	if t.pos < t.m.Objects() {
		if err := t.overwritable(); err != nil {
			return err
		}
	}
	if err := t.Flush(ctx); err != nil {
		return err
	}
	t.m.Truncate(t.pos)
	return t.Flush(ctx)
}

// segmentAt returns the index and start offset of the committed segment
// holding data offset off.
func (t *Tape) segmentAt(off int64) (int, int64, bool) {
	start := int64(0)
	for i, sg := range t.segs {
		if off < start+sg.size {
			return i, start, true
		}
		start += sg.size
	}
	return 0, 0, false
}

func (t *Tape) closeReader() {
	if t.r != nil {
		_ = t.r.Close()
		t.r, t.br = nil, nil
	}
}

// readAt fills p from the data stream at off, sequential reads going
// through a read-ahead buffer on the segment being read.
func (t *Tape) readAt(ctx context.Context, p []byte, off int64) error {
	for len(p) > 0 {
		i, start, ok := t.segmentAt(off)
		if !ok {
			return fmt.Errorf("%w: offset %d beyond the segments", ErrFormat, off)
		}
		if t.r == nil || t.rIdx != i {
			t.closeReader()
			r, err := t.eng.OpenItem(ctx, t.store, SegmentName(t.name, t.segs[i].seq))
			if err != nil {
				return err
			}
			t.r, t.rIdx, t.br, t.roff = r, i, bufio.NewReaderSize(r, 1<<20), start
		}
		if off != t.roff {
			if _, err := t.r.Seek(off-start, io.SeekStart); err != nil {
				return err
			}
			t.br.Reset(t.r)
			t.roff = off
		}
		n := int(min(int64(len(p)), start+t.segs[i].size-off))
		k, err := io.ReadFull(t.br, p[:n])
		t.roff += int64(k)
		if err != nil {
			return err
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// Read reads the record at the position into p and moves past it. It
// returns the record's full length, which may be more or less than
// len(p); the drive reports the difference (ILI). At a filemark it moves
// past it and returns ErrFilemark; at EOD, ErrEndOfData.
func (t *Tape) Read(ctx context.Context, p []byte) (int, error) {
	if err := t.Flush(ctx); err != nil {
		return 0, err
	}
	fm, size, off, ok := t.m.Object(t.pos)
	if !ok {
		return 0, ErrEndOfData
	}
	t.pos++
	if fm {
		return 0, ErrFilemark
	}
	n := min(int(size), len(p))
	if err := t.readAt(ctx, p[:n], off); err != nil {
		t.pos--
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("%w: record %d beyond the item", ErrFormat, t.pos)
		}
		return 0, err
	}
	return int(size), nil
}

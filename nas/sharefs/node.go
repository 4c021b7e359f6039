package sharefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// copyBuf is the piece size when bytes are copied into a Writer.
const copyBuf = 1 << 20

// node is the shared state of an open file: every File of it works on
// the same node, so a reader sees what any writer wrote.
//
// The file's bytes at offset off are, in order of precedence:
//  1. the staging file, where dirty covers off;
//  2. the stream (a Writer being fed) for off < streamLen;
//  3. the lower item (a commit of the stream made while folding), for
//     off < lowerLen;
//  4. the base item (the committed version), for off < baseValid;
//  5. zero (a hole), up to size.
type node struct {
	fs   *FS
	id   uint64
	refs int // guarded by fs.mu

	// mu: reads of data that needs no preparation share it; everything
	// else holds it alone.
	mu          sync.RWMutex
	version     uint64 // committed item version (0: no item)
	committed   int64  // committed size
	nextVer     uint64
	attrs       uint32
	birth       time.Time
	access      time.Time
	write       time.Time
	change      time.Time
	stickyWrite bool // the write time was set explicitly: writes keep it

	size      int64
	baseValid int64
	base      *chunkstore.Reader

	stream    *chunkstore.Writer
	streamVer uint64
	streamLen int64

	lower    *chunkstore.Reader
	lowerLen int64

	dirty extents
	stage *os.File
	holes vfs.Holes // of a sparse file (holes.go)

	dataDirty bool
	unlinked  bool
	broken    error // a stream failed: the uncommitted data is lost
	closed    bool
}

func newNode(f *FS, n inode) *node {
	return &node{fs: f, id: n.ID, version: n.Version, committed: n.Size, nextVer: n.Version + 1,
		attrs: n.Attrs, birth: n.Birth, access: n.Access, write: n.Write, change: n.Change,
		size: n.Size, baseValid: n.Size}
}

// overlay puts the live data fields into a stored inode.
func (n *node) overlay(in *inode) {
	in.Size, in.Attrs = n.size, n.attrs
	in.Birth, in.Access, in.Write, in.Change = n.birth, n.access, n.write, n.change
}

// engineErr maps engine errors to vfs ones.
func engineErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, chunkstore.ErrFull):
		return fmt.Errorf("%w: %w", vfs.ErrNoSpace, err)
	case errors.Is(err, chunkstore.ErrClosed):
		return fmt.Errorf("%w: %w", vfs.ErrClosed, err)
	}
	return err
}

func (n *node) usable() error {
	switch {
	case n.closed:
		return ErrClosed
	case n.broken != nil:
		return n.broken
	}
	return nil
}

// read reads the file's current bytes, sharing the node with other
// reads when the bytes are ready to read (no stream to commit first, the
// committed version open).
func (n *node) read(p []byte, off int64) (int, error) {
	for {
		n.mu.RLock()
		if !n.needsPrepare(off, len(p)) {
			k, err := n.readAt(p, off)
			n.mu.RUnlock()
			return k, err
		}
		n.mu.RUnlock()
		n.mu.Lock()
		err := n.prepareRead(off, len(p))
		n.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}

// needsPrepare reports whether reading len bytes at off has to commit the
// stream or open the committed version first. n.mu is held (shared).
func (n *node) needsPrepare(off int64, size int) bool {
	if n.usable() != nil || off < 0 || off >= n.size || size == 0 {
		return false
	}
	return (n.stream != nil && off < n.streamLen) || (n.base == nil && off < n.baseValid)
}

// prepareRead commits the stream if the read touches it and opens the
// committed version. n.mu is held.
func (n *node) prepareRead(off int64, size int) error {
	if err := n.usable(); err != nil {
		return err
	}
	if n.stream != nil && off < n.streamLen {
		if err := n.sync(); err != nil {
			return err
		}
	}
	return n.openBase()
}

// openBase opens the committed version's item if some of it is used.
func (n *node) openBase() error {
	if n.base != nil || n.baseValid == 0 {
		return nil
	}
	r, err := n.fs.eng.OpenItem(context.Background(), n.fs.opts.Store, itemName(n.id, n.version))
	if err != nil {
		return fmt.Errorf("open item: %w", engineErr(err))
	}
	n.base = r
	return nil
}

// readAt reads the file's current bytes. n.mu is held alone, or shared
// when needsPrepare says false.
func (n *node) readAt(p []byte, off int64) (int, error) {
	if err := n.usable(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, vfs.ErrInvalid
	}
	if off >= n.size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), n.size-off)]
	if n.stream != nil && off < n.streamLen {
		// Streamed bytes cannot be read back before they are committed.
		if err := n.sync(); err != nil {
			return 0, err
		}
	}
	if err := n.content(p, off); err != nil {
		return 0, err
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// content fills p with the bytes at off from sources 1, 3, 4 and 5
// (never the stream: callers keep off+len(p) <= streamLen out of it).
func (n *node) content(p []byte, off int64) error {
	pos, end := off, off+int64(len(p))
	for _, s := range n.dirty.within(off, end) {
		if err := n.fillGap(p[pos-off:s.Start-off], pos); err != nil {
			return err
		}
		if err := readFull(n.stage, p[s.Start-off:s.End-off], s.Start); err != nil {
			return fmt.Errorf("read staging: %w", err)
		}
		pos = s.End
	}
	return n.fillGap(p[pos-off:], pos)
}

// fillGap fills p with the bytes at off from the lower or base item or zeros.
func (n *node) fillGap(p []byte, off int64) error {
	for len(p) > 0 {
		var src *chunkstore.Reader
		var limit int64
		switch {
		case off < n.lowerLen:
			src, limit = n.lower, n.lowerLen
		case off < n.baseValid:
			if err := n.openBase(); err != nil {
				return err
			}
			src, limit = n.base, n.baseValid
		default:
			clear(p)
			return nil
		}
		m := min(int64(len(p)), limit-off)
		if err := readFull(src, p[:m], off); err != nil {
			return err
		}
		p, off = p[m:], off+m
	}
	return nil
}

// readFull reads exactly len(p) bytes at off; a short file reads as zeros.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	k, err := r.ReadAt(p, off)
	if err == io.EOF {
		clear(p[k:])
		return nil
	}
	return err
}

// writeAt writes p at off: streamed when it continues the stream (or
// starts one at 0 or at the end), staged otherwise.
// writeAt writes p at off; touch updates the write and change times.
func (n *node) writeAt(p []byte, off int64, touch bool) (int, error) {
	if err := n.usable(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, vfs.ErrInvalid
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := n.fs.mutable(context.Background(), n.id, n.version); err != nil {
		return 0, err
	}
	end := off + int64(len(p))
	if err := n.grow(end); err != nil {
		return 0, err
	}
	n.holes.Wrote(n.size, off, end, n.sparse())
	if n.stream == nil && (off == 0 || off == n.size) {
		if err := n.startStream(off); err != nil {
			return 0, err
		}
	}
	if n.stream != nil && off == n.streamLen {
		if err := n.toStream(p); err != nil {
			return 0, err
		}
		n.dirty.remove(off, end)
		if err := n.drain(); err != nil {
			return 0, err
		}
	} else if err := n.toStage(p, off); err != nil {
		return 0, err
	}
	n.size = max(n.size, end)
	n.dataDirty = true
	if touch {
		n.touch()
	}
	return len(p), nil
}

// grow reserves quota for a size of at least end.
func (n *node) grow(end int64) error {
	if end <= n.size {
		return nil
	}
	return n.fs.reserve(end - n.size)
}

func (n *node) touch() {
	now := n.fs.now().UTC()
	if !n.stickyWrite {
		n.write = now
	}
	n.change = now
}

// startStream opens a Writer for the next version holding the first off
// bytes of the file (nothing when off is 0; the whole file when off is
// the end: appending rewrites it, see fold).
func (n *node) startStream(off int64) error {
	w, ver, err := n.newWriter()
	if err != nil {
		return err
	}
	if off > 0 {
		if err := n.copyTo(w, 0, off); err != nil {
			w.Abort()
			return err
		}
		n.dirty.remove(0, off)
	}
	n.stream, n.streamVer, n.streamLen = w, ver, off
	return nil
}

func (n *node) newWriter() (*chunkstore.Writer, uint64, error) {
	ver := n.nextVer
	n.nextVer++
	w, err := n.fs.eng.Create(context.Background(), n.fs.opts.Store, itemName(n.id, ver), chunkstore.WriteOptions{Replace: true})
	if err != nil {
		return nil, 0, fmt.Errorf("create item: %w", engineErr(err))
	}
	return w, ver, nil
}

// copyTo writes the file's bytes [from, to) into w (sources 1, 3-5).
func (n *node) copyTo(w io.Writer, from, to int64) error {
	buf := make([]byte, min(copyBuf, max(to-from, 0)))
	for pos := from; pos < to; {
		m := min(int64(len(buf)), to-pos)
		if err := n.content(buf[:m], pos); err != nil {
			return err
		}
		if _, err := w.Write(buf[:m]); err != nil {
			return engineErr(err)
		}
		pos += m
	}
	return nil
}

func (n *node) toStream(p []byte) error {
	if _, err := n.stream.Write(p); err != nil {
		n.fail(err)
		return n.broken
	}
	n.streamLen += int64(len(p))
	return nil
}

// fail drops the stream after an error: what it held is lost, the
// committed version stays.
func (n *node) fail(err error) {
	n.stream.Abort()
	n.stream = nil
	n.broken = fmt.Errorf("sharefs: file %d: stream failed, unsynced data lost: %w", n.id, engineErr(err))
}

// lost marks the node broken after a commit of the stream failed: the
// bytes only the stream held are gone, so every later write, sync and
// close fails instead of committing the file with a hole where they were
// (docs/durability.md). The committed version stays.
func (n *node) lost(err error) error {
	if n.broken != nil {
		return n.broken
	}
	n.broken = fmt.Errorf("sharefs: file %d: commit failed, unsynced data lost: %w", n.id, engineErr(err))
	return n.broken
}

// drain moves staged bytes that continue the stream into it.
func (n *node) drain() error {
	for {
		s, ok := n.dirty.covering(n.streamLen)
		if !ok {
			return nil
		}
		buf := make([]byte, min(copyBuf, s.End-n.streamLen))
		for n.streamLen < s.End {
			m := min(int64(len(buf)), s.End-n.streamLen)
			if err := readFull(n.stage, buf[:m], n.streamLen); err != nil {
				return fmt.Errorf("read staging: %w", err)
			}
			from := n.streamLen
			if err := n.toStream(buf[:m]); err != nil {
				return err
			}
			n.dirty.remove(from, from+m)
		}
	}
}

func (n *node) toStage(p []byte, off int64) error {
	if n.stage == nil {
		f, err := os.CreateTemp(n.fs.opts.StagingDir, fmt.Sprintf("%x-*", n.id))
		if err != nil {
			return fmt.Errorf("staging: %w", err)
		}
		n.stage = f
	}
	if _, err := n.stage.WriteAt(p, off); err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	n.dirty.add(off, off+int64(len(p)))
	return nil
}

// truncate sets the size; bytes past a shrink read as zeros if the file
// grows again. touch updates the write and change times.
func (n *node) truncate(size int64, touch bool) error {
	if err := n.usable(); err != nil {
		return err
	}
	if size < 0 {
		return vfs.ErrInvalid
	}
	if size == n.size {
		return nil
	}
	if err := n.fs.mutable(context.Background(), n.id, n.version); err != nil {
		return err
	}
	if size > n.size {
		if err := n.grow(size); err != nil {
			return err
		}
	} else {
		if n.stream != nil && size < n.streamLen {
			if err := n.sync(); err != nil {
				return err
			}
		}
		_ = n.fs.reserve(size - n.size) // shrinking: never over quota
		n.dirty.remove(size, max(n.size, size))
		if n.stage != nil {
			if err := n.stage.Truncate(size); err != nil {
				return fmt.Errorf("staging: %w", err)
			}
		}
		n.baseValid = min(n.baseValid, size)
	}
	n.holes.Resized(n.size, size, n.sparse())
	n.size = size
	n.dataDirty = true
	if touch {
		n.touch()
	}
	return nil
}

// sync folds everything written into a new committed version.
func (n *node) sync() error {
	if err := n.usable(); err != nil {
		return err
	}
	if !n.dataDirty {
		return nil
	}
	if n.stream != nil && n.dirty.anyBelow(n.streamLen) {
		// Rewrites of streamed bytes: commit the stream as it is, then
		// fold it with the staged bytes into the version after it.
		it, err := n.stream.Commit(context.Background())
		n.stream = nil
		if err != nil {
			return n.lost(err)
		}
		r, err := n.fs.eng.OpenItem(context.Background(), n.fs.opts.Store, itemName(n.id, n.streamVer))
		if err != nil {
			n.fs.dropItem(context.Background(), n.id, n.streamVer)
			return engineErr(err)
		}
		n.lower, n.lowerLen = r, it.Size
		defer func() {
			n.lower.Close()
			n.lower, n.lowerLen = nil, 0
			n.fs.dropItem(context.Background(), n.id, n.streamVer)
		}()
		if err := n.fold(); err != nil {
			return n.lost(err) // the lower item, dropped now, held the streamed bytes
		}
		return nil
	}
	return n.fold()
}

// fold commits the file's bytes as a new version: the stream continued
// with what follows it, or a new Writer fed from the start. Until the
// engine can build an item reusing ranges of another one's recipe, the
// unchanged bytes are streamed through again (they dedup, so the stored
// cost is only the changed chunks); this is the one function to change
// when it can.
func (n *node) fold() error {
	w, ver, from := n.stream, n.streamVer, n.streamLen
	n.stream = nil
	// failed: the bytes only the stream held are lost with it; bytes
	// fed from the staging file and the committed version are not.
	failed := func(err error) error {
		if from > 0 {
			return n.lost(err)
		}
		return err
	}
	if w == nil {
		if n.size == 0 {
			return n.install(0, 0)
		}
		var err error
		if w, ver, err = n.newWriter(); err != nil {
			return err
		}
		from = 0
	}
	if err := n.copyTo(w, from, n.size); err != nil {
		w.Abort()
		return failed(err)
	}
	it, err := w.Commit(context.Background())
	if err != nil {
		return failed(fmt.Errorf("commit: %w", engineErr(err)))
	}
	if it.Size != n.size {
		n.fs.dropItem(context.Background(), n.id, ver)
		return fmt.Errorf("sharefs: file %d: folded %d bytes, want %d", n.id, it.Size, n.size)
	}
	return n.install(ver, it.Size)
}

// install makes version ver of size bytes the committed one: its inode
// points at it durably, then the previous version's item is deleted.
func (n *node) install(ver uint64, size int64) error {
	err := n.fs.update(func(txn *badger.Txn) error {
		in, err := getInode(txn, n.id)
		if err != nil {
			return err
		}
		n.overlay(&in)
		in.Size, in.Version = size, ver
		if err := putHoles(txn, n.id, n.holes); err != nil {
			return err
		}
		return putInode(txn, &in)
	})
	if err != nil {
		if ver != 0 {
			n.fs.dropItem(context.Background(), n.id, ver)
		}
		return fmt.Errorf("sharefs: file %d: record version: %w", n.id, err)
	}
	if err := n.fs.syncMeta(); err != nil {
		return fmt.Errorf("sharefs: file %d: %w", n.id, err)
	}
	old := n.version
	n.version, n.committed = ver, size
	if n.base != nil {
		n.base.Close()
		n.base = nil
	}
	if old != 0 && old != ver {
		n.fs.dropItem(context.Background(), n.id, old)
	}
	n.baseValid = size
	n.dirty = nil
	if n.stage != nil {
		if err := n.stage.Truncate(0); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	n.dataDirty = false
	return nil
}

// setAttr changes the metadata and records it at once.
func (n *node) setAttr(set vfs.SetAttr) error {
	if n.closed {
		return ErrClosed
	}
	if set.Write != nil {
		n.stickyWrite = true
	}
	return n.fs.update(func(txn *badger.Txn) error {
		in, err := getInode(txn, n.id)
		if err != nil {
			return err
		}
		applyAttr(&in, set)
		n.attrs, n.birth, n.access, n.write, n.change = in.Attrs, in.Birth, in.Access, in.Write, in.Change
		in.Size, in.Version = n.committed, n.version
		if !n.sparse() && n.holes != nil {
			n.holes = nil // clearing sparse allocates the holes
			if err := delHoles(txn, n.id); err != nil {
				return err
			}
		}
		return putInode(txn, &in)
	})
}

// release frees what the node holds once no File has it open; an
// unlinked file is deleted. fs.mu is held.
func (n *node) release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if n.stream != nil {
		n.stream.Abort()
		n.stream = nil
	}
	if n.base != nil {
		n.base.Close()
		n.base = nil
	}
	if n.stage != nil {
		n.stage.Close()
		os.Remove(n.stage.Name())
		n.stage = nil
	}
	n.closed = true
	if !n.unlinked {
		n.fs.used.Add(n.committed - n.size) // unsynced growth that is dropped
		return
	}
	err := n.fs.update(func(txn *badger.Txn) error {
		if err := txn.Delete(inodeKey(n.id)); err != nil {
			return err
		}
		if err := delHoles(txn, n.id); err != nil {
			return err
		}
		return txn.Delete(orphanKey(n.id))
	})
	if err == nil {
		err = n.fs.syncMeta()
	}
	n.fs.files.Add(-1)
	n.fs.used.Add(-n.size)
	if err != nil {
		n.fs.log.Warn("share filesystem: delete unlinked inode", "id", n.id, "err", err)
		return // the orphan key makes the next Open finish
	}
	n.fs.dropItem(context.Background(), n.id, n.version)
}

// shutdown syncs and releases the node when the filesystem closes.
func (n *node) shutdown() error {
	n.mu.Lock()
	err := n.sync()
	n.mu.Unlock()
	n.release()
	return err
}

package sharefs

import (
	"sync/atomic"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// file is an open file or directory (nd is nil for a directory).
type file struct {
	fs     *FS
	id     uint64
	flag   vfs.OpenFlag
	nd     *node
	closed atomic.Bool
	keep   atomic.Bool // KeepTimes: writes leave the times alone
}

var (
	_ vfs.File       = (*file)(nil)
	_ vfs.TimeKeeper = (*file)(nil)
)

// KeepTimes implements vfs.TimeKeeper.
func (h *file) KeepTimes() { h.keep.Store(true) }

func (h *file) check(write bool) error {
	switch {
	case h.closed.Load():
		return vfs.ErrClosed
	case h.nd == nil:
		return vfs.ErrIsDir
	case write && h.flag&vfs.OpenWrite == 0:
		return vfs.ErrReadOnly
	}
	return nil
}

func (h *file) ReadAt(p []byte, off int64) (int, error) {
	if err := h.check(false); err != nil {
		return 0, err
	}
	return h.nd.read(p, off)
}

func (h *file) WriteAt(p []byte, off int64) (int, error) {
	if err := h.check(true); err != nil {
		return 0, err
	}
	h.nd.mu.Lock()
	defer h.nd.mu.Unlock()
	return h.nd.writeAt(p, off, !h.keep.Load())
}

func (h *file) Truncate(size int64) error {
	if err := h.check(true); err != nil {
		return err
	}
	h.nd.mu.Lock()
	defer h.nd.mu.Unlock()
	return h.nd.truncate(size, !h.keep.Load())
}

func (h *file) Sync() error {
	if h.closed.Load() {
		return vfs.ErrClosed
	}
	if h.nd != nil {
		h.nd.mu.Lock()
		err := h.nd.sync()
		h.nd.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return h.fs.syncMeta()
}

func (h *file) Stat() (vfs.Info, error) {
	if h.closed.Load() {
		return vfs.Info{}, vfs.ErrClosed
	}
	return h.fs.statID(h.id)
}

func (h *file) SetAttr(set vfs.SetAttr) error {
	if h.closed.Load() {
		return vfs.ErrClosed
	}
	return h.fs.setAttrID(h.id, set)
}

// Close syncs (unless the file was removed) and releases the handle.
func (h *file) Close() error {
	if !h.closed.CompareAndSwap(false, true) {
		return vfs.ErrClosed
	}
	if h.nd == nil {
		return nil
	}
	h.nd.mu.Lock()
	var err error
	if !h.nd.unlinked && !h.nd.closed {
		err = h.nd.sync()
	}
	h.nd.mu.Unlock()
	h.fs.mu.Lock()
	h.nd.refs--
	h.fs.releaseLocked(h.nd)
	h.fs.mu.Unlock()
	if err == nil {
		err = h.fs.syncMeta()
	}
	return err
}

// releaseLocked releases nd when its last File is gone. f.mu is held.
func (f *FS) releaseLocked(nd *node) {
	if nd.refs > 0 || f.nodes[nd.id] != nd {
		return
	}
	delete(f.nodes, nd.id)
	nd.release()
}

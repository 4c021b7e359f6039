package sharefs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Sparse files (vfs.Sparser). A hole's bytes are zeros in the file's
// item like any others: zeros deduplicate (and compress) to next to
// nothing, so a hole costs no chunk storage beyond the one zero chunk a
// store holds anyway. What makes them holes is the hole map, kept in the
// metadata database beside the inode and written in the transaction that
// installs each version:
//
//	"h" | id(8)   holes: (start(8) | end(8))... sorted, disjoint, merged;
//	              absent when the file has none
const prefixHoles = 'h'

var _ vfs.Sparser = (*file)(nil)

func holesKey(id uint64) []byte {
	k := inodeKey(id)
	k[0] = prefixHoles
	return k
}

func encodeHoles(h vfs.Holes) []byte {
	b := make([]byte, 0, 16*len(h))
	for _, s := range h {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Start))
		b = binary.BigEndian.AppendUint64(b, uint64(s.End))
	}
	return b
}

func decodeHoles(b []byte) (vfs.Holes, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("sharefs: hole map of %d bytes", len(b))
	}
	var h vfs.Holes
	for ; len(b) > 0; b = b[16:] {
		s := vfs.Hole{Start: int64(binary.BigEndian.Uint64(b)), End: int64(binary.BigEndian.Uint64(b[8:]))}
		if s.Start < 0 || s.End <= s.Start || len(h) > 0 && s.Start <= h[len(h)-1].End {
			return nil, fmt.Errorf("sharefs: hole map: bad range [%d, %d)", s.Start, s.End)
		}
		h = append(h, s)
	}
	return h, nil
}

// putHoles records the hole map of file id (none: the key is deleted).
func putHoles(txn *badger.Txn, id uint64, h vfs.Holes) error {
	if len(h) == 0 {
		return delHoles(txn, id)
	}
	return txn.Set(holesKey(id), encodeHoles(h))
}

// delHoles deletes the hole map of file id, if it has one.
func delHoles(txn *badger.Txn, id uint64) error {
	if _, err := txn.Get(holesKey(id)); errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	return txn.Delete(holesKey(id))
}

// loadHoles reads the hole map of file id.
func (f *FS) loadHoles(id uint64) (vfs.Holes, error) {
	var h vfs.Holes
	err := f.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(holesKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			h, err = decodeHoles(v)
			return err
		})
	})
	return h, err
}

func (n *node) sparse() bool { return n.attrs&vfs.AttrSparse != 0 }

// PunchHole implements vfs.Sparser: zeros are written (they dedup), and
// in a sparse file the range joins the hole map.
func (h *file) PunchHole(off, size int64) error {
	if err := h.check(true); err != nil {
		return err
	}
	if off < 0 || size < 0 || off > off+size {
		return vfs.ErrInvalid
	}
	n := h.nd
	n.mu.Lock()
	defer n.mu.Unlock()
	end := min(off+size, n.size)
	if off >= end {
		return nil
	}
	zero := make([]byte, min(copyBuf, end-off))
	for p := off; p < end; p += int64(len(zero)) {
		if _, err := n.writeAt(zero[:min(int64(len(zero)), end-p)], p, !h.keep.Load()); err != nil {
			return err
		}
	}
	if n.sparse() {
		n.holes.Add(off, end)
	}
	return nil
}

// DataRanges implements vfs.Sparser.
func (h *file) DataRanges(off, size int64) ([]vfs.Range, error) {
	if err := h.check(false); err != nil {
		return nil, err
	}
	if off < 0 || size < 0 || off > off+size {
		return nil, vfs.ErrInvalid
	}
	h.nd.mu.RLock()
	defer h.nd.mu.RUnlock()
	end := min(off+size, h.nd.size)
	if off >= end {
		return nil, nil
	}
	return h.nd.holes.Data(off, end), nil
}

package sharefs

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Hard links. A file's first name is its inode's Parent and Name; each
// further name is a directory entry like any other plus a key
// "l" | id(8) | parent(8) | name, and the inode carries flagLinked while
// it has one. Every name resolves to the one inode, so the names share
// the data (the item and its recipe): a link copies nothing. Removing a
// name drops its entry; removing the first name promotes another; the
// inode and its data go with the last name.

var _ vfs.Linker = (*FS)(nil)

func linkPrefix(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixLink
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func linkKey(id, parent uint64, name string) []byte {
	return append(binary.BigEndian.AppendUint64(linkPrefix(id), parent), name...)
}

// name is one directory entry of a file.
type name struct {
	parent uint64
	name   string
}

// extraNames lists the names of file id besides its first one.
func extraNames(txn *badger.Txn, id uint64) []name {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = linkPrefix(id)
	it := txn.NewIterator(opts)
	defer it.Close()
	var out []name
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		out = append(out, name{binary.BigEndian.Uint64(k[9:]), string(k[17:])})
	}
	return out
}

// links counts the names of n.
func links(txn *badger.Txn, n inode) uint32 {
	if !n.Linked {
		return 1
	}
	return 1 + uint32(len(extraNames(txn, n.ID)))
}

// sameName compares entry names as the filesystem looks them up.
func (f *FS) sameName(a, b string) bool {
	if f.fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// Link gives the file at from a second name, to.
func (f *FS) Link(ctx context.Context, from, to string) error {
	pf, pt, err := splitPair(ctx, "link", from, to)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	err = f.update(func(txn *badger.Txn) error {
		src, err := f.resolve(txn, pf)
		if err != nil {
			return err
		}
		if src.Dir {
			return vfs.ErrIsDir
		}
		dp, err := f.resolveParent(txn, pt)
		if err != nil {
			return err
		}
		nm := pt[len(pt)-1]
		if _, err := lookup(txn, f.fold, dp.ID, nm); err == nil {
			return vfs.ErrExist
		} else if !errors.Is(err, vfs.ErrNotExist) {
			return err
		}
		now := f.now().UTC()
		if nd := f.nodes[src.ID]; nd != nil {
			nd.mu.Lock()
			nd.change = now
			nd.mu.Unlock()
		}
		src.Linked, src.Change = true, now
		for _, e := range []error{putInode(txn, &src), txn.Set(linkKey(src.ID, dp.ID, nm), nil),
			addEntry(txn, f.fold, dp.ID, nm, src.ID)} {
			if e != nil {
				return e
			}
		}
		return touchDir(txn, dp.ID, now)
	})
	return wrap("link", from, err)
}

// dropName removes the entry of file n in directory parent named like
// nm. It reports whether that was n's last name (the caller then unlinks
// the inode); otherwise the inode is updated and kept.
func (f *FS) dropName(txn *badger.Txn, n *inode, parent uint64, nm string) (last bool, err error) {
	if !n.Linked {
		return true, delEntry(txn, f.fold, n.Parent, n.Name)
	}
	extra := extraNames(txn, n.ID)
	if n.Parent == parent && f.sameName(n.Name, nm) {
		// The first name goes: the next one takes its place.
		if err := delEntry(txn, f.fold, n.Parent, n.Name); err != nil {
			return false, err
		}
		if len(extra) == 0 {
			return true, nil
		}
		next := extra[0]
		if err := txn.Delete(linkKey(n.ID, next.parent, next.name)); err != nil {
			return false, err
		}
		n.Parent, n.Name = next.parent, next.name
		extra = extra[1:]
	} else {
		found := false
		for i, e := range extra {
			if e.parent == parent && f.sameName(e.name, nm) {
				if err := delEntry(txn, f.fold, e.parent, e.name); err != nil {
					return false, err
				}
				if err := txn.Delete(linkKey(n.ID, e.parent, e.name)); err != nil {
					return false, err
				}
				extra = append(extra[:i], extra[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			return false, vfs.ErrNotExist
		}
	}
	n.Linked = len(extra) > 0
	n.Change = f.now().UTC()
	return false, putInode(txn, n)
}

// renameName moves the entry of linked file n in directory parent named
// like nm to (dst, to). It reports false when that entry is n's first
// name, which Rename moves itself.
func (f *FS) renameName(txn *badger.Txn, n *inode, parent uint64, nm string, dst uint64, to string) (bool, error) {
	if !n.Linked || n.Parent == parent && f.sameName(n.Name, nm) {
		return false, nil
	}
	for _, e := range extraNames(txn, n.ID) {
		if e.parent != parent || !f.sameName(e.name, nm) {
			continue
		}
		n.Change = f.now().UTC()
		for _, err := range []error{delEntry(txn, f.fold, e.parent, e.name), txn.Delete(linkKey(n.ID, e.parent, e.name)),
			txn.Set(linkKey(n.ID, dst, to), nil), addEntry(txn, f.fold, dst, to, n.ID), putInode(txn, n)} {
			if err != nil {
				return true, err
			}
		}
		return true, nil
	}
	return true, vfs.ErrNotExist
}

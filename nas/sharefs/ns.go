package sharefs

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Open opens (and with OpenCreate maybe creates) a file or directory.
func (f *FS) Open(ctx context.Context, path string, flag vfs.OpenFlag) (vfs.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parts, err := split(path)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	var n inode
	created := false
	err = f.update(func(txn *badger.Txn) error {
		created = false
		got, err := f.resolve(txn, parts)
		if err == nil {
			if flag&vfs.OpenCreate != 0 && flag&vfs.OpenExcl != 0 {
				return vfs.ErrExist
			}
			n = got
			return nil
		}
		if !errors.Is(err, vfs.ErrNotExist) || flag&vfs.OpenCreate == 0 || len(parts) == 0 {
			return err
		}
		parent, err := f.resolveParent(txn, parts)
		if err != nil {
			return err
		}
		now := f.now().UTC()
		n = inode{ID: f.sb.NextID, Dir: flag&vfs.OpenDir != 0, Parent: parent.ID, Name: parts[len(parts)-1],
			Attrs: vfs.AttrArchive, Birth: now, Access: now, Write: now, Change: now}
		if n.Dir {
			n.Attrs = vfs.AttrDirectory
		}
		sb := f.sb
		sb.NextID++
		parent.Write, parent.Change = now, now
		for _, e := range []error{txn.Set([]byte(keySuper), sb.encode()), putInode(txn, &n), putInode(txn, &parent),
			addEntry(txn, f.fold, parent.ID, n.Name, n.ID)} {
			if e != nil {
				return e
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, wrap("open", path, err)
	}
	if created {
		f.sb.NextID++
		if !n.Dir {
			f.files.Add(1)
		}
	}
	switch {
	case flag&vfs.OpenDir != 0 && !n.Dir:
		return nil, wrap("open", path, vfs.ErrNotDir)
	case n.Dir && flag&(vfs.OpenFile|vfs.OpenWrite|vfs.OpenTruncate) != 0:
		return nil, wrap("open", path, vfs.ErrIsDir)
	}
	if n.Dir {
		return &file{fs: f, id: n.ID, flag: flag}, nil
	}
	if !created && flag&(vfs.OpenWrite|vfs.OpenTruncate) != 0 {
		if err := f.mutable(ctx, n.ID, f.committedVersion(n)); err != nil {
			return nil, wrap("open", path, err)
		}
	}
	nd := f.nodes[n.ID]
	if nd == nil {
		holes, err := f.loadHoles(n.ID)
		if err != nil {
			return nil, wrap("open", path, err)
		}
		nd = newNode(f, n)
		nd.holes = holes
		f.nodes[n.ID] = nd
	}
	nd.refs++
	h := &file{fs: f, id: n.ID, flag: flag, nd: nd}
	if flag&vfs.OpenTruncate != 0 {
		nd.mu.Lock()
		err := nd.truncate(0, true)
		nd.mu.Unlock()
		if err != nil {
			nd.refs--
			f.releaseLocked(nd)
			return nil, wrap("truncate", path, err)
		}
	}
	return h, nil
}

// unlinkLocked drops inode n whose directory entry is gone: at once when
// no File has it open, else when the last one closes (an orphan key
// makes a restart finish the job). f.mu is held.
func (f *FS) unlinkLocked(txn *badger.Txn, n inode) error {
	if n.Dir || f.nodes[n.ID] == nil {
		if err := delHoles(txn, n.ID); err != nil {
			return err
		}
		return txn.Delete(inodeKey(n.ID))
	}
	return txn.Set(orphanKey(n.ID), nil)
}

// afterUnlink updates the counters and deletes the data of n once its
// unlink committed. f.mu is held.
func (f *FS) afterUnlink(ctx context.Context, n inode) {
	if n.Dir {
		return
	}
	if nd := f.nodes[n.ID]; nd != nil {
		nd.mu.Lock()
		nd.unlinked = true
		nd.mu.Unlock()
		return
	}
	f.files.Add(-1)
	f.used.Add(-n.Size)
	if n.Version != 0 {
		if err := f.syncMeta(); err != nil {
			f.log.Warn("share filesystem: keep the item of a removed file", "id", n.ID, "err", err)
			return // the next Open deletes it
		}
	}
	f.dropItem(ctx, n.ID, n.Version)
}

// dropItem deletes a version's item; a failure only leaves garbage that
// the next Open deletes.
func (f *FS) dropItem(ctx context.Context, id, ver uint64) {
	if ver == 0 {
		return
	}
	err := f.eng.Delete(ctx, f.opts.Store, itemName(id, ver))
	if isImmutable(err) {
		// An intermediate version (a commit a later one replaced in the
		// same open) under retention: the next Open deletes it once the
		// period ends.
		f.log.Debug("share filesystem: old item kept until its retention ends", "store", f.opts.Store,
			"item", itemName(id, ver), "err", err)
		return
	}
	if err != nil {
		f.log.Warn("share filesystem: delete old item", "store", f.opts.Store, "item", itemName(id, ver), "err", err)
	}
}

// Remove deletes a file or an empty directory.
func (f *FS) Remove(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	parts, err := split(path)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return wrap("remove", path, vfs.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	var n inode
	last := false
	err = f.update(func(txn *badger.Txn) error {
		var err error
		if n, err = f.resolve(txn, parts); err != nil {
			return err
		}
		if n.Dir && hasChildren(txn, n.ID) {
			return vfs.ErrNotEmpty
		}
		if !n.Dir {
			if err := f.mutable(ctx, n.ID, f.committedVersion(n)); err != nil {
				return err
			}
		}
		dir, err := f.resolveParent(txn, parts)
		if err != nil {
			return err
		}
		if last, err = f.dropName(txn, &n, dir.ID, parts[len(parts)-1]); err != nil {
			return err
		}
		if err := touchDir(txn, dir.ID, f.now()); err != nil {
			return err
		}
		if !last {
			return nil // another name keeps the file (link.go)
		}
		return f.unlinkLocked(txn, n)
	})
	if err != nil {
		return wrap("remove", path, err)
	}
	if last {
		f.afterUnlink(ctx, n)
	}
	return nil
}

// committedVersion is the committed version of file n: its open node's
// when it has one (the inode may lag by an uncommitted transaction).
// f.mu is held.
func (f *FS) committedVersion(n inode) uint64 {
	nd := f.nodes[n.ID]
	if nd == nil {
		return n.Version
	}
	nd.mu.RLock()
	defer nd.mu.RUnlock()
	return nd.version
}

// touchDir sets a directory's write and change times.
func touchDir(txn *badger.Txn, id uint64, now time.Time) error {
	d, err := getInode(txn, id)
	if err != nil {
		return err
	}
	d.Write, d.Change = now.UTC(), now.UTC()
	return putInode(txn, &d)
}

// splitPair parses the two paths of a rename or a link: neither may be the
// root.
func splitPair(ctx context.Context, op, from, to string) (pf, pt []string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if pf, err = split(from); err != nil {
		return nil, nil, err
	}
	if pt, err = split(to); err != nil {
		return nil, nil, err
	}
	if len(pf) == 0 || len(pt) == 0 {
		return nil, nil, wrap(op, from, vfs.ErrInvalid)
	}
	return pf, pt, nil
}

// Rename moves a file or directory: metadata only, whatever it holds.
func (f *FS) Rename(ctx context.Context, from, to string, replace bool) error {
	pf, pt, err := splitPair(ctx, "rename", from, to)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	var victim *inode
	err = f.update(func(txn *badger.Txn) error {
		victim = nil
		src, err := f.resolve(txn, pf)
		if err != nil {
			return err
		}
		dp, err := f.resolveParent(txn, pt)
		if err != nil {
			return err
		}
		name := pt[len(pt)-1]
		if src.Dir {
			if err := checkNotInside(txn, src.ID, dp); err != nil {
				return err
			}
		}
		sp, err := f.resolveParent(txn, pf)
		if err != nil {
			return err
		}
		if id, err := lookup(txn, f.fold, dp.ID, name); err == nil && id == src.ID {
			if dp.ID == src.Parent && name == src.Name {
				return nil
			}
			if src.Linked && (sp.ID != dp.ID || !f.sameName(pf[len(pf)-1], name)) {
				return nil // two names of one file: nothing to do, as POSIX says
			}
			// the same entry under another case: renamed below
		} else if err == nil {
			if !replace {
				return vfs.ErrExist
			}
			dst, err := getInode(txn, id)
			if err != nil {
				return err
			}
			switch {
			case dst.Dir && !src.Dir:
				return vfs.ErrIsDir
			case !dst.Dir && src.Dir:
				return vfs.ErrNotDir
			case dst.Dir && hasChildren(txn, dst.ID):
				return vfs.ErrNotEmpty
			}
			if !dst.Dir {
				if err := f.mutable(ctx, dst.ID, f.committedVersion(dst)); err != nil {
					return err
				}
			}
			last, err := f.dropName(txn, &dst, dp.ID, name)
			if err != nil {
				return err
			}
			if last {
				if err := f.unlinkLocked(txn, dst); err != nil {
					return err
				}
				victim = &dst
			}
		} else if !errors.Is(err, vfs.ErrNotExist) {
			return err
		}
		now := f.now().UTC()
		if moved, err := f.renameName(txn, &src, sp.ID, pf[len(pf)-1], dp.ID, name); moved || err != nil {
			if err != nil {
				return err
			}
			if err := touchDir(txn, sp.ID, now); err != nil {
				return err
			}
			return touchDir(txn, dp.ID, now)
		}
		if err := delEntry(txn, f.fold, src.Parent, src.Name); err != nil {
			return err
		}
		if err := touchDir(txn, src.Parent, now); err != nil {
			return err
		}
		src.Parent, src.Name, src.Change = dp.ID, name, now
		if err := putInode(txn, &src); err != nil {
			return err
		}
		if err := addEntry(txn, f.fold, dp.ID, name, src.ID); err != nil {
			return err
		}
		return touchDir(txn, dp.ID, now)
	})
	if err != nil {
		return wrap("rename", from, err)
	}
	if victim != nil {
		f.afterUnlink(ctx, *victim)
	}
	return nil
}

// checkNotInside refuses moving directory id into itself or below it.
func checkNotInside(txn *badger.Txn, id uint64, dir inode) error {
	for {
		if dir.ID == id {
			return vfs.ErrInvalid
		}
		if dir.ID == rootID {
			return nil
		}
		var err error
		if dir, err = getInode(txn, dir.Parent); err != nil {
			return err
		}
	}
}

// SetAttr changes attributes and times.
func (f *FS) SetAttr(ctx context.Context, path string, set vfs.SetAttr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	parts, err := split(path)
	if err != nil {
		return err
	}
	var id uint64
	err = f.db.View(func(txn *badger.Txn) error {
		n, err := f.resolve(txn, parts)
		id = n.ID
		return err
	})
	if err != nil {
		return wrap("setattr", path, err)
	}
	return wrap("setattr", path, f.setAttrID(id, set))
}

// setAttrID changes the metadata of inode id, through its open node if
// there is one.
func (f *FS) setAttrID(id uint64, set vfs.SetAttr) error {
	f.mu.Lock()
	nd := f.nodes[id]
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if nd != nil {
		nd.mu.Lock()
		defer nd.mu.Unlock()
		return nd.setAttr(set)
	}
	return f.update(func(txn *badger.Txn) error {
		n, err := getInode(txn, id)
		if err != nil {
			return err
		}
		applyAttr(&n, set)
		if n.Attrs&vfs.AttrSparse == 0 {
			if err := delHoles(txn, id); err != nil {
				return err
			}
		}
		return putInode(txn, &n)
	})
}

// applyAttr applies set to n; the directory bit follows the inode.
func applyAttr(n *inode, set vfs.SetAttr) {
	if set.Attributes != nil {
		n.Attrs = *set.Attributes &^ (vfs.AttrDirectory | vfs.AttrNormal)
		if n.Dir {
			n.Attrs |= vfs.AttrDirectory
		}
	}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&n.Birth, set.Birth}, {&n.Access, set.Access}, {&n.Write, set.Write}, {&n.Change, set.Change}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
}

// statID describes inode id.
func (f *FS) statID(id uint64) (vfs.Info, error) {
	var n inode
	count := uint32(1)
	err := f.db.View(func(txn *badger.Txn) error {
		var err error
		n, err = getInode(txn, id)
		count = links(txn, n)
		return err
	})
	if err != nil {
		return vfs.Info{}, wrap("stat", "", err)
	}
	info := f.liveInfo(n)
	info.Links = count
	return info, nil
}

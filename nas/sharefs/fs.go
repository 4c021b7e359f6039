package sharefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Engine is what a share filesystem needs of a *chunkstore.Engine.
type Engine interface {
	Create(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Writer, error)
	OpenItem(ctx context.Context, store, name string) (*chunkstore.Reader, error)
	Delete(ctx context.Context, store, name string) error
	List(ctx context.Context, store, prefix string) ([]chunkstore.Item, error)
	Stats() chunkstore.Stats
	// Store and Stat tell whether a file's committed version is under
	// its store's immutability period (see mutable).
	Store(name string) (chunkstore.StoreInfo, error)
	Stat(ctx context.Context, store, name string) (chunkstore.Item, error)
}

// Options configure a share filesystem.
type Options struct {
	// Store is the chunkstore store holding the files' items.
	Store string
	// MetaDir is the metadata database's directory (DIR/nas/SHARE/meta).
	MetaDir string
	// StagingDir holds the staging files of random writes; it is emptied
	// at Open (staged data was never acknowledged).
	StagingDir string
	// Quota bounds the sum of the file sizes; 0: no quota.
	Quota int64
	// CaseInsensitive makes a new filesystem look names up ignoring
	// case (as Windows clients expect), keeping the case they were
	// created with. The mode is fixed when the filesystem is created.
	CaseInsensitive bool
	// Label is the volume label StatFS reports.
	Label  string
	Now    func() time.Time
	Logger *slog.Logger
}

// ErrClosed: the filesystem was closed.
var ErrClosed = fmt.Errorf("sharefs: %w", vfs.ErrClosed)

// FS is one share's filesystem over chunkstore. Safe for concurrent use.
type FS struct {
	eng  Engine
	opts Options
	db   *badger.DB
	fold bool // case-insensitive lookups
	log  *slog.Logger
	now  func() time.Time

	used atomic.Int64 // sum of the live file sizes
	// metaDirty: a metadata transaction committed since the last sync.
	metaDirty atomic.Bool
	files     atomic.Int64 // number of files (not directories)
	quota     atomic.Int64

	// mu orders namespace changes (create, rename, remove) and guards
	// the fields below. Lock order: mu, then a node's mu.
	mu     sync.Mutex
	sb     super
	nodes  map[uint64]*node // open files by inode ID
	closed bool
}

var _ vfs.FS = (*FS)(nil)

// Open opens (creating if new) a share filesystem and recovers from a
// crash: staged data is dropped, files removed while open are deleted,
// items no inode references are deleted.
func Open(ctx context.Context, eng Engine, opts Options) (*FS, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Store == "" || opts.MetaDir == "" || opts.StagingDir == "" {
		return nil, fmt.Errorf("sharefs: %w: store, meta and staging directories are required", vfs.ErrInvalid)
	}
	if err := os.RemoveAll(opts.StagingDir); err != nil {
		return nil, fmt.Errorf("sharefs: clear staging: %w", err)
	}
	if err := os.MkdirAll(opts.StagingDir, 0o700); err != nil {
		return nil, fmt.Errorf("sharefs: %w", err)
	}
	if err := os.MkdirAll(opts.MetaDir, 0o700); err != nil {
		return nil, fmt.Errorf("sharefs: %w", err)
	}
	bo := badger.DefaultOptions(opts.MetaDir).
		WithSyncWrites(false). // synced by syncMeta where it matters
		WithLogger(nil).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2).
		WithCompactL0OnClose(true)
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("sharefs: open metadata %s: %w", opts.MetaDir, err)
	}
	f := &FS{eng: eng, opts: opts, db: db, log: opts.Logger, now: opts.Now, nodes: map[uint64]*node{}}
	f.quota.Store(opts.Quota)
	if err := f.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return f, nil
}

// load reads or creates the superblock and root, then recovers.
func (f *FS) load(ctx context.Context) error {
	err := f.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keySuper))
		if err == nil {
			if err := it.Value(func(v []byte) error {
				var derr error
				f.sb, derr = decodeSuper(v)
				return derr
			}); err != nil {
				return err
			}
			mode, err := txn.Get([]byte(keyMode))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return mode.Value(func(v []byte) error {
				f.fold = len(v) == 1 && v[0] == modeFoldCase
				return nil
			})
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		now := f.now().UTC()
		f.sb = super{NextID: rootID + 1, Created: now, Serial: uint32(now.UnixNano())}
		root := inode{ID: rootID, Dir: true, Attrs: vfs.AttrDirectory, Birth: now, Access: now, Write: now, Change: now}
		if err := putInode(txn, &root); err != nil {
			return err
		}
		if f.opts.CaseInsensitive {
			f.fold = true
			if err := txn.Set([]byte(keyMode), []byte{modeFoldCase}); err != nil {
				return err
			}
		}
		return txn.Set([]byte(keySuper), f.sb.encode())
	})
	if err != nil {
		return fmt.Errorf("sharefs: metadata: %w", err)
	}
	return f.recover(ctx)
}

// recover deletes orphans (files removed while open when the last run
// stopped) and items no inode points at, and counts the files.
func (f *FS) recover(ctx context.Context) error {
	live := map[string]bool{}
	var orphans []inode
	err := f.db.Update(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixOrphan}
		it := txn.NewIterator(opts)
		var ids []uint64
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			ids = append(ids, decodeID(k[1:]))
		}
		it.Close()
		for _, id := range ids {
			n, err := getInode(txn, id)
			if err == nil {
				orphans = append(orphans, n)
				if err := txn.Delete(inodeKey(id)); err != nil {
					return err
				}
				if err := delHoles(txn, id); err != nil {
					return err
				}
			}
			if err := txn.Delete(orphanKey(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sharefs: recover orphans: %w", err)
	}
	err = f.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixInode}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id := decodeID(it.Item().Key()[1:])
			var n inode
			if err := it.Item().Value(func(v []byte) error {
				var derr error
				n, derr = decodeInode(id, v)
				return derr
			}); err != nil {
				return err
			}
			if !n.Dir {
				f.files.Add(1)
				f.used.Add(n.Size)
				if n.Version != 0 {
					live[itemName(n.ID, n.Version)] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sharefs: scan: %w", err)
	}
	items, err := f.eng.List(ctx, f.opts.Store, "")
	if err != nil {
		return fmt.Errorf("sharefs: list store %s: %w", f.opts.Store, err)
	}
	dropped, kept := 0, 0
	for _, it := range items {
		if live[it.Name] {
			continue
		}
		err := f.eng.Delete(ctx, f.opts.Store, it.Name)
		switch {
		case isImmutable(err):
			kept++ // under retention: the next Open tries again
			continue
		case err != nil && !errors.Is(err, chunkstore.ErrNotFound):
			return fmt.Errorf("sharefs: drop unreferenced item %s: %w", it.Name, err)
		}
		dropped++
	}
	if dropped > 0 || len(orphans) > 0 {
		f.log.Info("share filesystem recovered", "store", f.opts.Store, "unreferenced_items", dropped, "orphans", len(orphans))
	}
	if kept > 0 {
		f.log.Info("share filesystem: unreferenced items kept until their retention ends; the next open deletes them",
			"store", f.opts.Store, "items", kept)
	}
	return nil
}

func decodeID(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	var id uint64
	for _, c := range b[:8] {
		id = id<<8 | uint64(c)
	}
	return id
}

// itemName is the chunkstore item holding version ver of file id.
func itemName(id, ver uint64) string {
	return strconv.FormatUint(id, 16) + "." + strconv.FormatUint(ver, 16)
}

// Close commits what open files hold and closes the metadata database.
// Files still open fail with ErrClosed afterwards.
func (f *FS) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	nodes := make([]*node, 0, len(f.nodes))
	for _, n := range f.nodes {
		nodes = append(nodes, n)
	}
	f.closed = true
	f.mu.Unlock()
	var first error
	for _, n := range nodes {
		if err := n.shutdown(); err != nil && first == nil {
			first = err
		}
	}
	if err := f.db.Close(); err != nil && first == nil {
		first = fmt.Errorf("sharefs: close metadata: %w", err)
	}
	return first
}

// SetQuota changes the quota (0: none).
func (f *FS) SetQuota(q int64) { f.quota.Store(q) }

// Usage returns the number of files and the sum of their sizes.
func (f *FS) Usage() (files, bytes int64) { return f.files.Load(), f.used.Load() }

// reserve accounts for a size change, refusing growth beyond the quota.
func (f *FS) reserve(delta int64) error {
	if delta <= 0 {
		f.used.Add(delta)
		return nil
	}
	q := f.quota.Load()
	for {
		u := f.used.Load()
		if q > 0 && u+delta > q {
			return fmt.Errorf("sharefs: quota of %d bytes reached: %w", q, vfs.ErrNoSpace)
		}
		if f.used.CompareAndSwap(u, u+delta) {
			return nil
		}
	}
}

// split checks a share-relative path and returns its components.
func split(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	parts := strings.Split(path, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || len(p) > 255 || strings.ContainsRune(p, 0) || strings.ContainsRune(p, '\\') {
			return nil, fmt.Errorf("sharefs: path %q: %w", path, vfs.ErrInvalid)
		}
	}
	return parts, nil
}

// resolve walks path to its inode.
func (f *FS) resolve(txn *badger.Txn, parts []string) (inode, error) {
	id := uint64(rootID)
	for i, p := range parts {
		if i > 0 {
			dir, err := getInode(txn, id)
			if err != nil {
				return inode{}, err
			}
			if !dir.Dir {
				return inode{}, vfs.ErrNotDir
			}
		}
		next, err := lookup(txn, f.fold, id, p)
		if err != nil {
			return inode{}, err
		}
		id = next
	}
	return getInode(txn, id)
}

// resolveParent returns the directory that holds the last component.
func (f *FS) resolveParent(txn *badger.Txn, parts []string) (inode, error) {
	dir, err := f.resolve(txn, parts[:len(parts)-1])
	if err != nil {
		return inode{}, err
	}
	if !dir.Dir {
		return inode{}, vfs.ErrNotDir
	}
	return dir, nil
}

// update runs fn in a read-write transaction, retrying on conflicts.
// The commit is not synced: syncMeta makes it durable.
func (f *FS) update(fn func(txn *badger.Txn) error) error {
	for {
		err := f.db.Update(fn)
		if err == nil {
			f.metaDirty.Store(true)
		}
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
}

// syncMeta makes every metadata commit so far durable. It runs before an
// item a commit stopped referencing is deleted, and before Sync or Close
// of a file returns; namespace changes alone (create, rename, setattr)
// ride on the next one, as a local filesystem's journal does.
func (f *FS) syncMeta() error {
	if !f.metaDirty.Swap(false) {
		return nil
	}
	if err := f.db.Sync(); err != nil {
		f.metaDirty.Store(true)
		return fmt.Errorf("sharefs: sync metadata: %w", err)
	}
	return nil
}

// wrap adds the operation and path to an error for the caller.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, badger.ErrDBClosed) {
		err = ErrClosed
	}
	return fmt.Errorf("sharefs: %s %q: %w", op, path, err)
}

// Stat describes the file or directory at path.
func (f *FS) Stat(ctx context.Context, path string) (vfs.Info, error) {
	if err := ctx.Err(); err != nil {
		return vfs.Info{}, err
	}
	parts, err := split(path)
	if err != nil {
		return vfs.Info{}, err
	}
	var n inode
	count := uint32(1)
	err = f.db.View(func(txn *badger.Txn) error {
		var rerr error
		n, rerr = f.resolve(txn, parts)
		count = links(txn, n)
		return rerr
	})
	if err != nil {
		return vfs.Info{}, wrap("stat", path, err)
	}
	if n.Linked {
		n.Name = parts[len(parts)-1]
	}
	info := f.liveInfo(n)
	info.Links = count
	return info, nil
}

// liveInfo overlays what an open file holds in memory on its stored inode.
func (f *FS) liveInfo(n inode) vfs.Info {
	f.mu.Lock()
	nd := f.nodes[n.ID]
	f.mu.Unlock()
	if nd != nil {
		nd.mu.RLock()
		nd.overlay(&n)
		nd.mu.RUnlock()
	}
	return f.retainedAttrs(context.Background(), n.info(), n.Version)
}

// ReadDir lists a directory by name.
func (f *FS) ReadDir(ctx context.Context, path string) ([]vfs.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parts, err := split(path)
	if err != nil {
		return nil, err
	}
	var list []inode
	var counts []uint32
	err = f.db.View(func(txn *badger.Txn) error {
		dir, err := f.resolve(txn, parts)
		if err != nil {
			return err
		}
		if !dir.Dir {
			return vfs.ErrNotDir
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = direntPrefix(dir.ID)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if len(list)%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var id uint64
			if err := it.Item().Value(func(v []byte) error { id = decodeID(v); return nil }); err != nil {
				return err
			}
			n, err := getInode(txn, id)
			if err != nil {
				return err
			}
			if n.Linked {
				// One of several names: listed under this one.
				n.Name = string(it.Item().Key()[9:])
			}
			list = append(list, n)
			counts = append(counts, links(txn, n))
		}
		return nil
	})
	if err != nil {
		return nil, wrap("readdir", path, err)
	}
	out := make([]vfs.Info, len(list))
	for i, n := range list {
		out[i] = f.liveInfo(n)
		out[i].Links = counts[i]
	}
	return out, nil
}

// StatFS reports the quota, or the engine's capacity and free space.
func (f *FS) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	if err := ctx.Err(); err != nil {
		return vfs.FSInfo{}, err
	}
	f.mu.Lock()
	sb := f.sb
	f.mu.Unlock()
	info := vfs.FSInfo{Label: f.opts.Label, SerialNumber: sb.Serial, Created: sb.Created, CaseInsensitive: f.fold}
	st := f.eng.Stats()
	info.TotalBytes = st.CapacityBytes
	info.FreeBytes = max(st.CapacityBytes-st.StoredBytes, 0)
	if q := f.quota.Load(); q > 0 {
		info.TotalBytes = q
		info.FreeBytes = min(info.FreeBytes, max(q-f.used.Load(), 0))
	}
	return info, nil
}

package vfs

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS for protocol tests: case-sensitive, POSIX
// unlink semantics (open Files of a removed file stay usable).
type MemFS struct {
	mu     sync.Mutex
	now    func() time.Time
	nextID uint64
	root   *memNode
	total  int64
}

type memNode struct {
	info     Info
	data     []byte
	holes    Holes               // of a sparse file (sparse.go)
	children map[string]*memNode // directories only
}

// NewMemFS returns an empty MemFS of total bytes (for StatFS).
func NewMemFS(total int64) *MemFS {
	m := &MemFS{now: time.Now, total: total, nextID: 1}
	m.root = m.newNode("", true)
	return m
}

func (m *MemFS) newNode(name string, dir bool) *memNode {
	now := m.now()
	m.nextID++
	n := &memNode{info: Info{Name: name, ID: m.nextID, IsDir: dir, Birth: now, Access: now, Write: now, Change: now}}
	if dir {
		n.children = map[string]*memNode{}
		n.info.Attributes = AttrDirectory
	} else {
		n.info.Attributes = AttrArchive
	}
	return n
}

func split(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// lookup walks to path; the lock is held.
func (m *MemFS) lookup(path string) (*memNode, error) {
	n := m.root
	for _, p := range split(path) {
		if !n.info.IsDir {
			return nil, ErrNotDir
		}
		c, ok := n.children[p]
		if !ok {
			return nil, ErrNotExist
		}
		n = c
	}
	return n, nil
}

func (m *MemFS) parent(path string) (*memNode, string, error) {
	parts := split(path)
	if len(parts) == 0 {
		return nil, "", ErrInvalid
	}
	dir, err := m.lookup(strings.Join(parts[:len(parts)-1], "/"))
	if err != nil {
		return nil, "", err
	}
	if !dir.info.IsDir {
		return nil, "", ErrNotDir
	}
	return dir, parts[len(parts)-1], nil
}

func (n *memNode) stat() Info {
	i := n.info
	if !i.IsDir {
		i.Size = int64(len(n.data))
		i.AllocSize = (i.Size + 4095) &^ 4095
	}
	return i
}

// Open implements FS.
func (m *MemFS) Open(ctx context.Context, path string, flag OpenFlag) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(path)
	switch {
	case err == ErrNotExist && flag&OpenCreate != 0:
		dir, name, err := m.parent(path)
		if err != nil {
			return nil, err
		}
		n = m.newNode(name, flag&OpenDir != 0)
		dir.children[name] = n
		dir.info.Write, dir.info.Change = n.info.Birth, n.info.Birth
	case err != nil:
		return nil, err
	case flag&OpenCreate != 0 && flag&OpenExcl != 0:
		return nil, ErrExist
	}
	if flag&OpenDir != 0 && !n.info.IsDir {
		return nil, ErrNotDir
	}
	if flag&OpenFile != 0 && n.info.IsDir {
		return nil, ErrIsDir
	}
	if n.info.IsDir && flag&(OpenWrite|OpenTruncate) != 0 && flag&OpenCreate == 0 {
		return nil, ErrIsDir
	}
	if flag&OpenTruncate != 0 && !n.info.IsDir {
		n.data, n.holes = nil, nil
		n.info.Write, n.info.Change = m.now(), m.now()
	}
	return &memFile{fs: m, n: n, flag: flag}, nil
}

// Stat implements FS.
func (m *MemFS) Stat(ctx context.Context, path string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(path)
	if err != nil {
		return Info{}, err
	}
	return n.stat(), nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(ctx context.Context, path string) ([]Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(path)
	if err != nil {
		return nil, err
	}
	if !n.info.IsDir {
		return nil, ErrNotDir
	}
	out := make([]Info, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c.stat())
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Rename implements FS.
func (m *MemFS) Rename(ctx context.Context, from, to string, replace bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(from)
	if err != nil {
		return err
	}
	if n == m.root || to == "" {
		return ErrInvalid
	}
	if to == from {
		return nil
	}
	if strings.HasPrefix(to+"/", from+"/") {
		return ErrInvalid
	}
	sdir, sname, _ := m.parent(from)
	ddir, dname, err := m.parent(to)
	if err != nil {
		return err
	}
	if old, ok := ddir.children[dname]; ok {
		if !replace {
			return ErrExist
		}
		if old.info.IsDir != n.info.IsDir {
			if old.info.IsDir {
				return ErrIsDir
			}
			return ErrNotDir
		}
		if old.info.IsDir && len(old.children) > 0 {
			return ErrNotEmpty
		}
	}
	delete(sdir.children, sname)
	n.info.Name = dname
	n.info.Change = m.now()
	ddir.children[dname] = n
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(ctx context.Context, path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(path)
	if err != nil {
		return err
	}
	if n == m.root {
		return ErrInvalid
	}
	if n.info.IsDir && len(n.children) > 0 {
		return ErrNotEmpty
	}
	dir, name, _ := m.parent(path)
	delete(dir.children, name)
	dir.info.Write, dir.info.Change = m.now(), m.now()
	return nil
}

// SetAttr implements FS.
func (m *MemFS) SetAttr(ctx context.Context, path string, set SetAttr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(path)
	if err != nil {
		return err
	}
	n.setAttr(set, m.now())
	return nil
}

func (n *memNode) setAttr(set SetAttr, now time.Time) {
	if set.Attributes != nil {
		a := *set.Attributes &^ AttrDirectory
		if n.info.IsDir {
			a |= AttrDirectory
		}
		n.info.Attributes = a
		if a&AttrSparse == 0 {
			n.holes = nil // clearing sparse allocates the holes
		}
	}
	for _, f := range []struct {
		v   *time.Time
		dst *time.Time
	}{{set.Birth, &n.info.Birth}, {set.Access, &n.info.Access}, {set.Write, &n.info.Write}, {set.Change, &n.info.Change}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if set.Change == nil {
		n.info.Change = now
	}
}

// StatFS implements FS.
func (m *MemFS) StatFS(ctx context.Context) (FSInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	used := m.used(m.root)
	return FSInfo{TotalBytes: m.total, FreeBytes: max(m.total-used, 0), Label: "memfs", SerialNumber: 0x4d454d46, Created: m.root.info.Birth}, nil
}

func (m *MemFS) used(n *memNode) int64 {
	s := int64(len(n.data))
	for _, c := range n.children {
		s += m.used(c)
	}
	return s
}

type memFile struct {
	fs     *MemFS
	n      *memNode
	flag   OpenFlag
	closed bool
	keep   bool // KeepTimes: writes leave the times alone
}

var _ TimeKeeper = (*memFile)(nil)

// KeepTimes implements TimeKeeper.
func (f *memFile) KeepTimes() {
	f.fs.mu.Lock()
	f.keep = true
	f.fs.mu.Unlock()
}

// touch notes a data change unless the caller keeps the times. fs.mu is held.
func (f *memFile) touch() {
	if !f.keep {
		now := f.fs.now()
		f.n.info.Write, f.n.info.Change = now, now
	}
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	if f.n.info.IsDir {
		return 0, ErrIsDir
	}
	if off < 0 {
		return 0, ErrInvalid
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	if f.n.info.IsDir {
		return 0, ErrIsDir
	}
	if f.flag&OpenWrite == 0 {
		return 0, ErrReadOnly
	}
	if off < 0 {
		return 0, ErrInvalid
	}
	end := off + int64(len(p))
	if end < off {
		return 0, ErrInvalid
	}
	if grow := end - int64(len(f.n.data)); grow > 0 && f.fs.used(f.fs.root)+grow > f.fs.total {
		return 0, ErrNoSpace
	}
	f.n.holes.Wrote(int64(len(f.n.data)), off, end, f.n.sparse())
	if end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	copy(f.n.data[off:], p)
	f.touch()
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if f.n.info.IsDir {
		return ErrIsDir
	}
	if size < 0 {
		return ErrInvalid
	}
	if grow := size - int64(len(f.n.data)); grow > 0 && f.fs.used(f.fs.root)+grow > f.fs.total {
		return ErrNoSpace
	}
	f.n.holes.Resized(int64(len(f.n.data)), size, f.n.sparse())
	if size <= int64(len(f.n.data)) {
		f.n.data = f.n.data[:size:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	f.touch()
	return nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	return nil
}

func (f *memFile) Stat() (Info, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return Info{}, ErrClosed
	}
	return f.n.stat(), nil
}

func (f *memFile) SetAttr(set SetAttr) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.n.setAttr(set, f.fs.now())
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.closed = true
	return nil
}

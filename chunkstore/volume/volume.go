package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrFull reports that a container does not fit in the configured capacity
// or on the file system.
var ErrFull = errors.New("volume: capacity exhausted")

// DefaultMaxSize is the largest a volume file grows: 1 TiB.
const DefaultMaxSize = 1 << 40

// Options configure a Set.
type Options struct {
	// MaxSize is the size at which a volume is full and the next begins.
	MaxSize int64
	// Capacity bounds the bytes of all volumes together. The file system
	// bounds them in any case: the capacity is the bytes the volumes use
	// plus the file system's free space less Reserve, recomputed at every
	// Append and every Capacity call, and a configured Capacity larger than
	// that is capped by it. 0 means no limit but the file system.
	Capacity int64
	// Reserve is the free space an Append leaves on the file system in
	// any case, for the index that lives beside the volumes: badger writes
	// through mmap, and a full disk under mmap is a crash, not an error.
	// 0 means DefaultReserve.
	Reserve int64
}

// DefaultReserve is the file system space that volumes leave free.
const DefaultReserve = 512 << 20

// Set is the set of volume files of one data directory. It is safe for
// concurrent use.
type Set struct {
	dir     string
	maxSize int64
	limit   int64 // configured capacity; 0: none
	reserve int64
	// free reports the file system's free space; statfs but in tests.
	free func() (int64, error)

	mu       sync.Mutex
	files    []*os.File
	sizes    []int64
	used     int64
	capacity int64 // as of the last statfs
}

// Open opens (creating when needed) the volume directory dir.
func Open(dir string, opts Options) (*Set, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.vol"))
	if err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	sort.Strings(names)
	if opts.Reserve <= 0 {
		opts.Reserve = DefaultReserve
	}
	s := &Set{dir: dir, maxSize: opts.MaxSize, limit: max(opts.Capacity, 0), reserve: opts.Reserve}
	s.free = s.statfs
	for i, name := range names {
		if filepath.Base(name) != volumeName(i) {
			s.Close()
			return nil, fmt.Errorf("volume: %s is not the expected %s: volumes must be numbered from 0000 without gaps", name, volumeName(i))
		}
		if err := s.openFile(i); err != nil {
			s.Close()
			return nil, err
		}
	}
	if _, err := s.refreshLocked(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// statfs is the space left on the file system for an unprivileged writer.
func (s *Set) statfs() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("volume: statfs %s: %w", s.dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func volumeName(i int) string { return fmt.Sprintf("%04d.vol", i) }

func (s *Set) openFile(i int) error {
	f, err := os.OpenFile(filepath.Join(s.dir, volumeName(i)), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("volume: %w", err)
	}
	s.files = append(s.files, f)
	s.sizes = append(s.sizes, st.Size())
	s.used += st.Size()
	return nil
}

// Close closes every volume file.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files = nil
	return first
}

// Append writes b at the end of the newest volume with room for it and
// returns where it went. It does not sync. On a failed write nothing of b
// stays in the volume.
func (s *Set) Append(b []byte) (vol uint32, off int64, err error) {
	n := int64(len(b))
	if n > s.maxSize {
		return 0, 0, fmt.Errorf("volume: %d-byte container is larger than a volume", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	free, err := s.refreshLocked()
	if err != nil {
		return 0, 0, err
	}
	if s.limit > 0 && s.used+n > s.limit {
		return 0, 0, fmt.Errorf("%w: %d of the configured %d bytes used, %d more needed", ErrFull, s.used, s.limit, n)
	}
	if free-n < s.reserve {
		return 0, 0, fmt.Errorf("%w: the file system has %d bytes free and %d must stay free for the index", ErrFull, free, s.reserve)
	}
	last := len(s.files) - 1
	if last < 0 || s.sizes[last]+n > s.maxSize {
		if err := s.openFile(len(s.files)); err != nil {
			return 0, 0, err
		}
		last++
	}
	off = s.sizes[last]
	if _, err := s.files[last].WriteAt(b, off); err != nil {
		// Give back whatever part was written; the volume must stay a
		// sequence of whole containers.
		_ = s.files[last].Truncate(off)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return 0, 0, fmt.Errorf("%w: %v", ErrFull, err)
		}
		return 0, 0, fmt.Errorf("volume: write %s: %w", volumeName(last), err)
	}
	s.sizes[last] += n
	s.used += n
	return uint32(last), off, nil
}

// Sync makes what was appended to vol durable.
func (s *Set) Sync(vol uint32) error {
	f, err := s.file(vol)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("volume: sync %s: %w", volumeName(int(vol)), err)
	}
	return nil
}

// ReadAt reads len(p) bytes of vol at off.
func (s *Set) ReadAt(vol uint32, p []byte, off int64) error {
	f, err := s.file(vol)
	if err != nil {
		return err
	}
	if _, err := f.ReadAt(p, off); err != nil {
		return fmt.Errorf("volume: read %d bytes at %s:%d: %w", len(p), volumeName(int(vol)), off, err)
	}
	return nil
}

// Truncate cuts vol to size bytes; recovery uses it to drop torn writes.
func (s *Set) Truncate(vol uint32, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(vol) >= len(s.files) {
		return fmt.Errorf("volume: no volume %d", vol)
	}
	if err := s.files[vol].Truncate(size); err != nil {
		return fmt.Errorf("volume: truncate %s: %w", volumeName(int(vol)), err)
	}
	if err := s.files[vol].Sync(); err != nil {
		return fmt.Errorf("volume: sync %s: %w", volumeName(int(vol)), err)
	}
	s.used += size - s.sizes[vol]
	s.sizes[vol] = size
	return nil
}

func (s *Set) file(vol uint32) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(vol) >= len(s.files) {
		return nil, fmt.Errorf("volume: no volume %d", vol)
	}
	return s.files[vol], nil
}

// Sizes returns the current size of every volume.
func (s *Set) Sizes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.sizes...)
}

// Used is the bytes of all volumes together.
func (s *Set) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// refreshLocked reads the file system's free space and recomputes the
// capacity from it: what the volumes use plus what they may still take,
// within the configured limit. It returns the free space.
func (s *Set) refreshLocked() (int64, error) {
	free, err := s.free()
	if err != nil {
		return 0, err
	}
	c := s.used + max(free-s.reserve, 0)
	if s.limit > 0 {
		c = min(c, s.limit)
	}
	s.capacity = c
	return free, nil
}

// Capacity is the bytes the volumes may hold as of now: the configured
// limit, capped by what the file system gives (the volumes' bytes plus its
// free space, less the reserve). It reads the file system each call (one
// statfs); when that fails it returns the last figure and the error.
func (s *Set) Capacity() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.refreshLocked()
	return s.capacity, err
}

// Punch gives the n bytes of vol at off back to the file system
// (fallocate PUNCH_HOLE, the file keeps its size) and stops counting them
// as used. Housekeeping punches the containers it dropped; punching a
// hole again is harmless but counts it again, so callers punch each range
// once per Open.
func (s *Set) Punch(vol uint32, off, n int64) error {
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(vol) >= len(s.files) {
		return fmt.Errorf("volume: no volume %d", vol)
	}
	if off < 0 || off+n > s.sizes[vol] {
		return fmt.Errorf("volume: punch %d bytes at %s:%d, past its end %d", n, volumeName(int(vol)), off, s.sizes[vol])
	}
	err := unix.Fallocate(int(s.files[vol].Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("volume: punch %d bytes at %s:%d: %w", n, volumeName(int(vol)), off, err)
	}
	// Without hole punching (tmpfs before 3.5, some FUSE file systems)
	// the bytes stay allocated until the volume's tail is cut; they are
	// not counted as used, and the file system does not count them free,
	// so the capacity leaves them out until then.
	s.used -= n
	return nil
}

// Shrink cuts vol to size when nothing was appended past end: it is how
// a volume whose tail housekeeping emptied gives the space back for good.
// It reports whether it cut. The bytes between size and end must have
// been punched (or never counted) already.
func (s *Set) Shrink(vol uint32, size, end int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(vol) >= len(s.files) || s.sizes[vol] != end || size >= end {
		return false, nil
	}
	if err := s.files[vol].Truncate(size); err != nil {
		return false, fmt.Errorf("volume: truncate %s: %w", volumeName(int(vol)), err)
	}
	if err := s.files[vol].Sync(); err != nil {
		return false, fmt.Errorf("volume: sync %s: %w", volumeName(int(vol)), err)
	}
	s.sizes[vol] = size
	return true, nil
}

// Allocated is the bytes the file system holds for the volumes: their
// sizes less the holes punched in them.
func (s *Set) Allocated() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for i, f := range s.files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return 0, fmt.Errorf("volume: stat %s: %w", volumeName(i), err)
		}
		n += st.Blocks * 512
	}
	return n, nil
}

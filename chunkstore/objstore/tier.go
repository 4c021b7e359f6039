package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/dedup"
)

// ErrClosed is returned by operations on a closed Tier.
var ErrClosed = errors.New("objstore: closed")

// Options configure a Tier. Zero fields take the documented defaults.
type Options struct {
	// Dir is the local directory for the staging area (Dir/staging) and
	// the read cache (Dir/cache). Required.
	Dir string
	// Bucket is the object store. Required.
	Bucket Bucket
	// Prefix is prepended to every key ("" or ending in "/").
	Prefix string
	// Name names the bucket in messages and health ("" : none).
	Name string
	// StagingBytes bounds the containers staged and not yet uploaded;
	// Append waits past it. Default 1 GiB.
	StagingBytes int64
	// FullWait is how long Append waits for room in the staging area
	// before it fails with dedup.ErrFull. Default 10 minutes.
	FullWait time.Duration
	// CacheBytes bounds the read cache. Default 256 MiB; negative: no
	// cache (every read is a ranged GET).
	CacheBytes int64
	// Uploaders is how many PUTs run at once. Default 4.
	Uploaders int
	// Timeout bounds each request to the object store. Default 2 minutes.
	Timeout time.Duration
	// RetryMin and RetryMax bound the back-off between tries of a failed
	// upload (doubling from RetryMin). Defaults 250 ms and 30 s.
	RetryMin, RetryMax time.Duration
	// MaxSize is the size of a virtual volume. Default 1 TiB.
	MaxSize int64
	// Capacity is what Capacity reports: the bucket's quota is not known
	// to the tier. Default 1 PiB.
	Capacity int64
	// OpenWait is how long Open retries listing the bucket before it
	// fails. Default 1 minute.
	OpenWait time.Duration
	// CloseWait is how long Close waits for the staged containers to be
	// uploaded before it stops the uploaders (what is left is uploaded at
	// the next Open). Default 0: Close does not wait.
	CloseWait time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

func (o *Options) defaults() {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.StagingBytes, 1<<30)
	def(&o.CacheBytes, 256<<20)
	def(&o.MaxSize, 1<<40)
	def(&o.Capacity, 1<<50)
	defd(&o.FullWait, 10*time.Minute)
	defd(&o.Timeout, 2*time.Minute)
	defd(&o.RetryMin, 250*time.Millisecond)
	defd(&o.RetryMax, 30*time.Second)
	defd(&o.OpenWait, time.Minute)
	if o.Uploaders <= 0 {
		o.Uploaders = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// extent is one container: where it is and whether it is still staged.
type extent struct {
	vol     uint32
	off     int64
	size    int64
	staged  bool // the staged file holds it (not uploaded yet)
	synced  bool // the staged file was fsynced
	dropped bool // punched or truncated away; the uploader deletes what it put
	queued  bool
}

// Tier is a chunkstore.ContainerStore in a bucket. It is safe for
// concurrent use.
type Tier struct {
	opts    Options
	staging string
	log     *slog.Logger
	cache   *cache

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	room   *sync.Cond // signalled when staged bytes drop, work is queued, or on Close
	closed bool
	vols   [][]*extent // per volume, sorted by offset
	sizes  []int64
	used   int64
	staged int64 // bytes staged and not uploaded
	queue  []*extent
	health health
}

// Open opens the tier: it lists the bucket under the prefix (retrying for
// Options.OpenWait), adds the staged containers not uploaded yet, and
// starts the uploaders, which resume those.
func Open(opts Options) (*Tier, error) {
	opts.defaults()
	if opts.Dir == "" || opts.Bucket == nil {
		return nil, fmt.Errorf("%w: objstore: Dir and Bucket are required", dedup.ErrInvalid)
	}
	t := &Tier{opts: opts, staging: filepath.Join(opts.Dir, "staging"), log: opts.Logger}
	t.room = sync.NewCond(&t.mu)
	if err := os.MkdirAll(t.staging, 0o750); err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	c, err := newCache(filepath.Join(opts.Dir, "cache"), opts.CacheBytes)
	if err != nil {
		return nil, err
	}
	t.cache = c
	t.ctx, t.cancel = context.WithCancel(context.Background())
	objs, err := t.listWithRetry()
	if err != nil {
		t.cancel()
		return nil, err
	}
	for _, o := range objs {
		vol, off, ok := parseKey(strings.TrimPrefix(o.Key, t.opts.Prefix+"containers/"), "/")
		if ok {
			t.add(&extent{vol: vol, off: off, size: o.Size})
		}
	}
	if err := t.loadStaged(); err != nil {
		t.cancel()
		return nil, err
	}
	for i := 0; i < opts.Uploaders; i++ {
		t.wg.Add(1)
		go t.uploader()
	}
	return t, nil
}

func (t *Tier) listWithRetry() ([]Object, error) {
	deadline := t.opts.Now().Add(t.opts.OpenWait)
	wait := t.opts.RetryMin
	for {
		ctx, cancel := context.WithTimeout(t.ctx, t.opts.Timeout)
		objs, err := t.opts.Bucket.List(ctx, t.opts.Prefix+"containers/")
		cancel()
		if err == nil {
			return objs, nil
		}
		if t.opts.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("objstore: list the bucket: %w", err)
		}
		t.log.Warn("objstore: listing the bucket failed; retrying", "err", err, "in", wait)
		time.Sleep(wait)
		wait = min(2*wait, t.opts.RetryMax)
	}
}

// loadStaged adds the staged files: those the bucket has already are
// dropped, the others are queued for upload.
func (t *Tier) loadStaged() error {
	names, err := filepath.Glob(filepath.Join(t.staging, "*.c"))
	if err != nil {
		return fmt.Errorf("objstore: %w", err)
	}
	for _, name := range names {
		vol, off, ok := parseKey(strings.TrimSuffix(filepath.Base(name), ".c"), "-")
		if !ok {
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("objstore: %w", err)
		}
		if x := t.find(vol, off); x != nil && x.off == off {
			if x.size == st.Size() {
				_ = os.Remove(name) // uploaded before the crash, removal was not
				continue
			}
			t.remove(x) // a partial upload cannot exist (PUT is atomic); the staged copy wins
		}
		x := &extent{vol: vol, off: off, size: st.Size(), staged: true, synced: true}
		t.add(x)
		t.staged += x.size
		t.enqueueLocked(x)
	}
	if len(names) > 0 {
		t.log.Info("objstore: resuming uploads of staged containers", "containers", len(t.queue), "bytes", t.staged)
	}
	return nil
}

func key(vol uint32, off int64, sep string) string {
	return fmt.Sprintf("%04x%s%016x", vol, sep, off)
}

func parseKey(s, sep string) (uint32, int64, bool) {
	v, o, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, false
	}
	vol, err1 := strconv.ParseUint(v, 16, 32)
	off, err2 := strconv.ParseInt(o, 16, 64)
	return uint32(vol), off, err1 == nil && err2 == nil && off >= 0
}

func (t *Tier) objectKey(x *extent) string {
	return t.opts.Prefix + "containers/" + key(x.vol, x.off, "/")
}

func (t *Tier) stagedPath(x *extent) string {
	return filepath.Join(t.staging, key(x.vol, x.off, "-")+".c")
}

// add inserts x into its volume's sorted extents (callers hold mu or own t).
func (t *Tier) add(x *extent) {
	for int(x.vol) >= len(t.vols) {
		t.vols = append(t.vols, nil)
		t.sizes = append(t.sizes, 0)
	}
	v := t.vols[x.vol]
	i := sort.Search(len(v), func(i int) bool { return v[i].off >= x.off })
	v = append(v, nil)
	copy(v[i+1:], v[i:])
	v[i] = x
	t.vols[x.vol] = v
	t.sizes[x.vol] = max(t.sizes[x.vol], x.off+x.size)
	t.used += x.size
}

// remove takes x out of the extent table and marks it dropped.
func (t *Tier) remove(x *extent) {
	v := t.vols[x.vol]
	i := sort.Search(len(v), func(i int) bool { return v[i].off >= x.off })
	if i < len(v) && v[i] == x {
		t.vols[x.vol] = append(v[:i], v[i+1:]...)
		t.used -= x.size
	}
	x.dropped = true
}

// find is the extent holding byte off of vol, or nil.
func (t *Tier) find(vol uint32, off int64) *extent {
	if int(vol) >= len(t.vols) {
		return nil
	}
	v := t.vols[vol]
	i := sort.Search(len(v), func(i int) bool { return v[i].off > off }) - 1
	if i < 0 || off >= v[i].off+v[i].size {
		return nil
	}
	return v[i]
}

// Append stages b as a new container and queues its upload. It waits
// while the staging area is full (back-pressure), at most FullWait.
func (t *Tier) Append(b []byte) (uint32, int64, error) {
	n := int64(len(b))
	if n > t.opts.StagingBytes || n > t.opts.MaxSize {
		return 0, 0, fmt.Errorf("%w: objstore: a %d-byte container exceeds the staging area or a volume", dedup.ErrFull, n)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.waitRoomLocked(n); err != nil {
		return 0, 0, err
	}
	if len(t.vols) == 0 {
		t.vols, t.sizes = append(t.vols, nil), append(t.sizes, 0)
	}
	last := len(t.vols) - 1
	if t.sizes[last]+n > t.opts.MaxSize {
		t.vols, t.sizes = append(t.vols, nil), append(t.sizes, 0)
		last++
	}
	x := &extent{vol: uint32(last), off: t.sizes[last], size: n, staged: true}
	if err := writeFile(t.stagedPath(x), b); err != nil {
		return 0, 0, err
	}
	t.add(x)
	t.staged += n
	t.enqueueLocked(x)
	return x.vol, x.off, nil
}

func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("objstore: stage: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("objstore: stage %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("objstore: stage %s: %w", filepath.Base(path), err)
	}
	return nil
}

// waitRoomLocked waits until n more bytes fit in the staging area.
func (t *Tier) waitRoomLocked(n int64) error {
	if t.closed {
		return ErrClosed
	}
	if t.staged+n <= t.opts.StagingBytes {
		return nil
	}
	deadline := t.opts.Now().Add(t.opts.FullWait)
	timer := time.AfterFunc(t.opts.FullWait, func() {
		t.mu.Lock()
		t.room.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	t.health.waits++
	for t.staged+n > t.opts.StagingBytes {
		if t.closed {
			return ErrClosed
		}
		if !t.opts.Now().Before(deadline) {
			return fmt.Errorf("%w: objstore: the staging area holds %d bytes not yet uploaded (bound %d); the object store took none for %v: %v",
				dedup.ErrFull, t.staged, t.opts.StagingBytes, t.opts.FullWait, t.health.lastErr)
		}
		t.room.Wait()
	}
	return nil
}

// Sync makes the containers appended to vol durable: the staged files not
// uploaded yet are fsynced, then the staging directory.
func (t *Tier) Sync(vol uint32) error {
	t.mu.Lock()
	var todo []*extent
	if int(vol) < len(t.vols) {
		for _, x := range t.vols[vol] {
			if x.staged && !x.synced {
				todo = append(todo, x)
			}
		}
	}
	t.mu.Unlock()
	for _, x := range todo {
		if err := syncFile(t.stagedPath(x)); err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if err := syncFile(t.staging); err != nil {
		return err
	}
	t.mu.Lock()
	for _, x := range todo {
		x.synced = true
	}
	t.mu.Unlock()
	return nil
}

// syncFile fsyncs path; a file already gone was uploaded and removed.
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("objstore: sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("objstore: sync %s: %w", filepath.Base(path), err)
	}
	return nil
}

// ReadAt reads len(p) bytes of vol at off, inside one container.
func (t *Tier) ReadAt(vol uint32, p []byte, off int64) error {
	t.mu.Lock()
	x := t.find(vol, off)
	var staged bool
	if x != nil {
		staged = x.staged
	}
	t.mu.Unlock()
	if x == nil || off+int64(len(p)) > x.off+x.size {
		return fmt.Errorf("objstore: read %d bytes at %d:%d: not inside a container", len(p), vol, off)
	}
	rel := off - x.off
	if staged {
		err := readFile(t.stagedPath(x), p, rel)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// Uploaded and removed meanwhile: read it from the bucket.
	}
	return t.readRemote(x, p, rel)
}

func readFile(path string, p []byte, off int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("objstore: read: %w", err)
	}
	defer f.Close()
	if _, err := f.ReadAt(p, off); err != nil {
		return fmt.Errorf("objstore: read %d bytes at %s:%d: %w", len(p), filepath.Base(path), off, err)
	}
	return nil
}

// readRemote reads from the bucket: a tail read (a footer) or any read
// without a cache is one ranged GET; any other read fills the cache with
// the whole object first.
func (t *Tier) readRemote(x *extent, p []byte, rel int64) error {
	k := t.objectKey(x)
	if t.cache.readAt(k, p, rel) {
		return nil
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.Timeout)
	defer cancel()
	if !t.cache.enabled() || rel+int64(len(p)) == x.size {
		t.countGet()
		if err := t.opts.Bucket.GetRange(ctx, k, p, rel); err != nil {
			return fmt.Errorf("objstore: read container %s from the object store: %w", k, err)
		}
		return nil
	}
	return t.cache.fill(k, p, rel, func() ([]byte, error) {
		t.countGet()
		b, err := t.opts.Bucket.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("objstore: read container %s from the object store: %w", k, err)
		}
		if int64(len(b)) != x.size {
			return nil, fmt.Errorf("%w: objstore: object %s has %d bytes, the container %d", dedup.ErrCorrupt, k, len(b), x.size)
		}
		return b, nil
	})
}

// Truncate drops every container of vol at or past size. The virtual end
// stays where it was: an offset is never given to a new container while
// the delete of the object that had it may still be queued (the new object
// would have the old one's key).
func (t *Tier) Truncate(vol uint32, size int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(vol) >= len(t.vols) {
		return fmt.Errorf("objstore: no volume %d", vol)
	}
	for _, x := range append([]*extent(nil), t.vols[vol]...) {
		if x.off >= size {
			t.dropLocked(x)
		}
	}
	return nil
}

// Punch drops the containers wholly inside [off, off+n) of vol: their
// staged files now, their objects by the uploaders.
func (t *Tier) Punch(vol uint32, off, n int64) error {
	if n <= 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(vol) >= len(t.vols) {
		return fmt.Errorf("objstore: no volume %d", vol)
	}
	for _, x := range append([]*extent(nil), t.vols[vol]...) {
		if x.off >= off && x.off+x.size <= off+n {
			t.dropLocked(x)
		}
	}
	return nil
}

// dropLocked removes x: the staged copy goes now, the object (if it was or
// is being put) is deleted by an uploader.
func (t *Tier) dropLocked(x *extent) {
	t.remove(x)
	t.cache.drop(t.objectKey(x))
	if x.staged {
		_ = os.Remove(t.stagedPath(x))
		x.staged = false
		t.staged -= x.size
		t.room.Broadcast()
	}
	if !x.queued {
		t.enqueueLocked(x) // an uploader deletes the object
	}
}

// Shrink does nothing: a virtual volume's end never moves back (see
// Truncate), and a dropped container's space went with its object.
func (t *Tier) Shrink(vol uint32, size, end int64) (bool, error) { return false, nil }

// Sizes returns each virtual volume's end.
func (t *Tier) Sizes() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int64(nil), t.sizes...)
}

// Used is the bytes of all containers, staged or in the bucket.
func (t *Tier) Used() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used
}

// Name is the bucket and prefix, for messages.
func (t *Tier) Name() string { return t.opts.Name + t.opts.Prefix }

// Capacity is Options.Capacity: the bucket's own bound is not known.
func (t *Tier) Capacity() (int64, error) { return t.opts.Capacity, nil }

// Allocated is Used: an object takes its size.
func (t *Tier) Allocated() (int64, error) { return t.Used(), nil }

// Close waits for the uploads (at most CloseWait), then stops the
// uploaders; staged containers stay for the next Open.
func (t *Tier) Close() error {
	t.mu.Lock()
	if !t.closed && t.opts.CloseWait > 0 {
		timer := time.AfterFunc(t.opts.CloseWait, func() {
			t.mu.Lock()
			t.room.Broadcast()
			t.mu.Unlock()
		})
		deadline := t.opts.Now().Add(t.opts.CloseWait)
		for t.staged > 0 && t.opts.Now().Before(deadline) {
			t.room.Wait()
		}
		timer.Stop()
	}
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.room.Broadcast()
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
	return t.cache.close()
}

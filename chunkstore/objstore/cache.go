package objstore

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// cache is the read cache: whole objects in files of dir, at most limit
// bytes, the least recently used evicted first. It starts empty at every
// Open (what it held may be stale after a crash).
type cache struct {
	dir   string
	limit int64

	mu      sync.Mutex
	size    int64
	lru     *list.List // of *cached, front: most recent
	entries map[string]*list.Element
	filling map[string]*fill
}

type cached struct {
	key  string
	size int64
}

type fill struct {
	done chan struct{}
	data []byte
	err  error
}

func newCache(dir string, limit int64) (*cache, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("objstore: clear the read cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	return &cache{dir: dir, limit: limit, lru: list.New(), entries: map[string]*list.Element{}, filling: map[string]*fill{}}, nil
}

func (c *cache) enabled() bool { return c.limit > 0 }

func (c *cache) path(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(h[:16]))
}

// readAt reads from a cached object; false if it is not cached.
func (c *cache) readAt(key string, p []byte, off int64) bool {
	if !c.enabled() {
		return false
	}
	c.mu.Lock()
	el, ok := c.entries[key]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return false
	}
	return readFile(c.path(key), p, off) == nil
}

// fill fetches key with get (once, however many readers miss at the same
// time), caches it and copies p from it.
func (c *cache) fill(key string, p []byte, off int64, get func() ([]byte, error)) error {
	c.mu.Lock()
	f, busy := c.filling[key]
	if !busy {
		f = &fill{done: make(chan struct{})}
		c.filling[key] = f
	}
	c.mu.Unlock()
	if busy {
		<-f.done
	} else {
		f.data, f.err = get()
		if f.err == nil {
			c.put(key, f.data)
		}
		c.mu.Lock()
		delete(c.filling, key)
		c.mu.Unlock()
		close(f.done)
	}
	if f.err != nil {
		return f.err
	}
	if off+int64(len(p)) > int64(len(f.data)) {
		return fmt.Errorf("objstore: read %d bytes at %d of %s: past its %d bytes", len(p), off, key, len(f.data))
	}
	copy(p, f.data[off:])
	return nil
}

func (c *cache) put(key string, data []byte) {
	n := int64(len(data))
	if n > c.limit {
		return
	}
	if err := os.WriteFile(c.path(key), data, 0o640); err != nil {
		return // a cache that cannot write only costs GETs
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = c.lru.PushFront(&cached{key: key, size: n})
	c.size += n
	for c.size > c.limit {
		old := c.lru.Back().Value.(*cached)
		c.dropLocked(old.key)
	}
}

func (c *cache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
}

func (c *cache) dropLocked(key string) {
	el, ok := c.entries[key]
	if !ok {
		return
	}
	e := el.Value.(*cached)
	c.lru.Remove(el)
	delete(c.entries, key)
	c.size -= e.size
	_ = os.Remove(c.path(key))
}

func (c *cache) close() error { return nil }

// Size is the bytes the read cache holds.
func (t *Tier) CacheSize() int64 {
	t.cache.mu.Lock()
	defer t.cache.mu.Unlock()
	return t.cache.size
}

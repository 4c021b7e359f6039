package chunkstore

import (
	"sync"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// A flight is one container of one stream on its way to disk. Until its
// index commit, its chunks are in the engine's in-flight table, so that
// other streams writing the same data at the same time deduplicate against
// it instead of storing it again.
//
// A stream that borrows a chunk from another stream's flight keeps its own
// copy of the stored bytes until the flight lands. If the flight fails, or
// has not landed when the borrower commits, the borrower stores its copy
// itself: an item never depends on another stream finishing.
type flight struct {
	owner *Writer
	done  chan struct{}
	ok    bool // valid once done is closed
	fps   []dedup.Fingerprint
}

type inflight struct {
	mu  sync.Mutex
	fps map[dedup.Fingerprint]*flight
}

func newInflight() *inflight {
	return &inflight{fps: map[dedup.Fingerprint]*flight{}}
}

func newFlight(owner *Writer) *flight {
	return &flight{owner: owner, done: make(chan struct{})}
}

// claim records fp as travelling in f unless some flight already carries
// it; it returns that flight, or nil when f now carries it.
func (t *inflight) claim(fp dedup.Fingerprint, f *flight) *flight {
	t.mu.Lock()
	defer t.mu.Unlock()
	if other, ok := t.fps[fp]; ok {
		return other
	}
	t.fps[fp] = f
	f.fps = append(f.fps, fp)
	return nil
}

// land ends flight f: its chunks leave the table, and borrowers learn
// whether they are now in the index.
func (t *inflight) land(f *flight, ok bool) {
	t.mu.Lock()
	for _, fp := range f.fps {
		if t.fps[fp] == f {
			delete(t.fps, fp)
		}
	}
	t.mu.Unlock()
	f.ok = ok
	close(f.done)
}

func (f *flight) landed() (done, ok bool) {
	select {
	case <-f.done:
		return true, f.ok
	default:
		return false, false
	}
}

// borrowed is a chunk another stream's flight carries, kept until it lands.
type borrowed struct {
	fp     dedup.Fingerprint
	stored []byte
	raw    int
	codec  container.Codec
}

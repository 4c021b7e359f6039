package objstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// health is the tier's view of the object store.
type health struct {
	failures  int // consecutive failed requests; 0: healthy
	lastErr   error
	lastErrAt time.Time
	uploaded  int64 // containers put since Open
	deleted   int64
	gets      int64
	waits     int64 // appends that waited for room
}

// Health is what the tier reports of itself and the object store.
type Health struct {
	// Degraded is set while the object store's last request failed.
	Degraded bool
	// Failures counts the consecutive failed requests.
	Failures  int
	LastError string
	LastErrAt time.Time
	// Pending is the containers staged and not yet uploaded, PendingBytes
	// their bytes, StagingBytes the bound.
	Pending      int
	PendingBytes int64
	StagingBytes int64
	// Since Open: containers uploaded, objects deleted, GET requests,
	// appends that waited for room in the staging area.
	Uploaded, Deleted, Gets, Waits int64
}

// Health returns the tier's current figures.
func (t *Tier) Health() Health {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := Health{Degraded: t.health.failures > 0, Failures: t.health.failures, LastErrAt: t.health.lastErrAt,
		PendingBytes: t.staged, StagingBytes: t.opts.StagingBytes, Uploaded: t.health.uploaded,
		Deleted: t.health.deleted, Gets: t.health.gets, Waits: t.health.waits}
	if t.health.lastErr != nil {
		h.LastError = t.health.lastErr.Error()
	}
	for _, v := range t.vols {
		for _, x := range v {
			if x.staged {
				h.Pending++
			}
		}
	}
	return h
}

func (t *Tier) countGet() {
	t.mu.Lock()
	t.health.gets++
	t.mu.Unlock()
}

func (t *Tier) enqueueLocked(x *extent) {
	x.queued = true
	t.queue = append(t.queue, x)
	t.room.Broadcast()
}

// next waits for queued work; nil once the tier is closed.
func (t *Tier) next() *extent {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.queue) == 0 && !t.closed {
		t.room.Wait()
	}
	if t.closed {
		return nil
	}
	x := t.queue[0]
	t.queue = t.queue[1:]
	x.queued = false
	return x
}

func (t *Tier) uploader() {
	defer t.wg.Done()
	for {
		x := t.next()
		if x == nil {
			return
		}
		err := t.work(x)
		t.mu.Lock()
		if err == nil {
			t.health.failures = 0
			t.mu.Unlock()
			continue
		}
		t.health.failures++
		t.health.lastErr, t.health.lastErrAt = err, t.opts.Now()
		wait := t.opts.RetryMin << min(t.health.failures-1, 20)
		wait = min(wait, t.opts.RetryMax)
		t.mu.Unlock()
		t.log.Warn("objstore: object store request failed; retrying", "err", err, "in", wait)
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(wait):
		}
		t.mu.Lock()
		if !x.queued && (x.staged || x.dropped) {
			t.enqueueLocked(x)
		}
		t.mu.Unlock()
	}
}

// work puts a staged container, or deletes a dropped one's object.
func (t *Tier) work(x *extent) error {
	t.mu.Lock()
	staged, dropped := x.staged, x.dropped
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.Timeout)
	defer cancel()
	k := t.objectKey(x)
	if staged && !dropped {
		data, err := os.ReadFile(t.stagedPath(x))
		if errors.Is(err, os.ErrNotExist) {
			return nil // dropped meanwhile
		}
		if err != nil {
			return fmt.Errorf("objstore: read staged %s: %w", k, err)
		}
		if err := t.opts.Bucket.Put(ctx, k, data); err != nil {
			return fmt.Errorf("objstore: put %s: %w", k, err)
		}
		t.mu.Lock()
		t.health.uploaded++
		if !x.dropped {
			_ = os.Remove(t.stagedPath(x))
			x.staged = false
			t.staged -= x.size
			t.room.Broadcast()
			t.mu.Unlock()
			return nil
		}
		t.mu.Unlock() // dropped while it was put: delete it below
	}
	if err := t.opts.Bucket.Delete(ctx, k); err != nil {
		return fmt.Errorf("objstore: delete %s: %w", k, err)
	}
	t.mu.Lock()
	t.health.deleted++
	t.mu.Unlock()
	return nil
}

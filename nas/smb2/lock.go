package smb2

import (
	"sync"
)

// Lock flags ([MS-SMB2] 2.2.26.1).
const (
	lockShared          = 0x01
	lockExclusive       = 0x02
	lockUnlock          = 0x04
	lockFailImmediately = 0x10
)

// byteLock is one byte-range lock held by an open.
type byteLock struct {
	owner     *open
	off, n    uint64
	exclusive bool
}

func overlaps(a, alen, b, blen uint64) bool {
	if alen == 0 || blen == 0 {
		return false
	}
	aend, bend := a+alen, b+blen
	if aend < a {
		aend = ^uint64(0)
	}
	if bend < b {
		bend = ^uint64(0)
	}
	return a < bend && b < aend
}

// lockConflict reports whether an I/O of o on [off, off+n) runs into a
// lock: any other open's exclusive lock, or for writes any shared lock.
func (t *fileTable) lockConflict(o *open, off int64, n uint64, write bool) bool {
	if n == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range o.state.locks {
		if !overlaps(l.off, l.n, uint64(off), n) {
			continue
		}
		if l.owner != o && (l.exclusive || write) || l.owner == o && !l.exclusive && write {
			return true
		}
	}
	return false
}

// dropLocks removes o's locks (the table's lock held).
func (st *fileState) dropLocks(o *open) {
	k := 0
	for _, l := range st.locks {
		if l.owner != o {
			st.locks[k] = l
			k++
		}
	}
	st.locks = st.locks[:k]
}

// tryLock takes one lock; false when it conflicts. An exclusive lock
// conflicts with every overlapping lock; a shared one with others'
// exclusive locks (a handle may stack shared locks on its own exclusive
// one, as Windows allows).
func (st *fileState) tryLock(l byteLock) bool {
	for _, h := range st.locks {
		if !overlapsLock(h, l) {
			continue
		}
		if l.exclusive || h.exclusive && h.owner != l.owner {
			return false
		}
	}
	st.locks = append(st.locks, l)
	return true
}

// overlapsLock: two locks conflict on their ranges; zero-length locks
// conflict only when inside another lock's range (as Windows does).
func overlapsLock(h, l byteLock) bool {
	if l.n == 0 {
		return h.n != 0 && l.off > h.off && l.off-h.off < h.n
	}
	if h.n == 0 {
		return l.off < h.off && h.off-l.off < l.n
	}
	return overlaps(h.off, h.n, l.off, l.n)
}

func (st *fileState) unlock(o *open, off, n uint64) bool {
	for i, l := range st.locks {
		if l.owner == o && l.off == off && l.n == n {
			st.locks = append(st.locks[:i], st.locks[i+1:]...)
			return true
		}
	}
	return false
}

// StatusInvalidLockRange: a lock range past 2^64 (Windows 7 and later).
const StatusInvalidLockRange Status = 0xC00001A1

type lockElem struct {
	off, n uint64
	flags  uint32
}

func (c *conn) lock(r *request) ([]byte, Status) {
	b := r.body
	count := int(le.Uint16(b[2:]))
	o, st := c.lookupOpen(r, b[8:])
	if st != StatusSuccess {
		return nil, st
	}
	if count == 0 || len(b) < 24+24*count {
		return nil, StatusInvalidParameter
	}
	var elems []lockElem
	for i := 0; i < count; i++ {
		e := b[24+24*i:]
		el := lockElem{le.Uint64(e), le.Uint64(e[8:]), le.Uint32(e[16:])}
		if el.n > 0 && el.off+(el.n-1) < el.off {
			return nil, StatusInvalidLockRange
		}
		elems = append(elems, el)
	}
	if o.isDir {
		return nil, StatusInvalidParameter
	}
	if elems[0].flags&lockUnlock == 0 {
		c.breakReadLeases(o) // a lock takes R from other keys' leases (lease.go)
	}
	t := c.srv.files
	if elems[0].flags == lockUnlock {
		// Unlocks are applied in order; the first bad element stops.
		t.mu.Lock()
		defer t.mu.Unlock()
		st := StatusSuccess
		for _, el := range elems {
			if el.flags != lockUnlock {
				st = StatusInvalidParameter
				break
			}
			if !o.state.unlock(o, el.off, el.n) {
				st = StatusRangeNotLocked
				break
			}
		}
		close(o.state.unlocked)
		o.state.unlocked = make(chan struct{})
		return []byte{4, 0, 0, 0}, st
	}
	for _, el := range elems {
		switch el.flags {
		case lockShared | lockFailImmediately, lockExclusive | lockFailImmediately:
		case lockShared, lockExclusive:
			if count > 1 {
				return nil, StatusInvalidParameter
			}
		default:
			return nil, StatusInvalidParameter
		}
	}
	c.breakLevelII(o) // a byte-range lock ends level II caching, o's own too
	wait, st := c.takeLocks(o, elems)
	if st == StatusSuccess || wait == nil {
		return []byte{4, 0, 0, 0}, st
	}
	c.waitLock(r, o, elems[0], wait)
	return []byte{4, 0, 0, 0}, StatusPending
}

// takeLocks takes all locks or none. A single blocking lock that
// conflicts returns the channel to wait on.
func (c *conn) takeLocks(o *open, elems []lockElem) (<-chan struct{}, Status) {
	t := c.srv.files
	t.mu.Lock()
	defer t.mu.Unlock()
	st := o.state
	before := len(st.locks)
	for _, el := range elems {
		l := byteLock{owner: o, off: el.off, n: el.n, exclusive: el.flags&lockExclusive != 0}
		if !st.tryLock(l) {
			st.locks = st.locks[:before]
			if el.flags&lockFailImmediately == 0 {
				return st.unlocked, StatusLockNotGranted
			}
			return nil, StatusLockNotGranted
		}
	}
	return nil, StatusSuccess
}

// waitLock makes the request async and retries the lock whenever locks
// are released, until it is granted, cancelled or the handle closes.
func (c *conn) waitLock(r *request, o *open, el lockElem, wait <-chan struct{}) {
	var once sync.Once
	cancelled := make(chan struct{})
	p := c.goAsync(r, func() { once.Do(func() { close(cancelled) }) })
	r.afterSend = func() { c.srv.goTracked(func() { c.lockWaiter(r, o, el, p, wait, cancelled) }) }
}

func (c *conn) lockWaiter(r *request, o *open, el lockElem, p *pendingReq, wait <-chan struct{}, cancelled chan struct{}) {
	func() {
		for {
			select {
			case <-wait:
			case <-cancelled:
				c.finishAsync(r, p, nil, StatusCancelled)
				return
			case <-c.ctx.Done():
				return
			}
			c.srv.files.mu.Lock()
			closed := o.closed
			c.srv.files.mu.Unlock()
			if closed {
				c.finishAsync(r, p, nil, StatusRangeNotLocked)
				return
			}
			var st Status
			wait, st = c.takeLocks(o, []lockElem{el})
			if st == StatusSuccess {
				c.finishAsync(r, p, []byte{4, 0, 0, 0}, StatusSuccess)
				return
			}
		}
	}()
}

package smb2

import (
	"strings"
	"sync"
)

// Change notification: a CHANGE_NOTIFY stays pending until something
// changes in the directory (in the tree below it with WATCH_TREE)
// through this server, then completes with STATUS_NOTIFY_ENUM_DIR,
// which tells the client to enumerate the directory again; closing the
// directory completes it with STATUS_NOTIFY_CLEANUP, CANCEL with
// STATUS_CANCELLED. Changes made behind the server's back (another
// protocol on the same store) are not seen.

// Statuses of change notify.
const (
	StatusNotifyCleanup Status = 0x0000010B
	StatusNotifyEnumDir Status = 0x0000010C

	notifyWatchTree = 0x0001
)

// watcher is one pending CHANGE_NOTIFY.
type watcher struct {
	c    *conn
	r    *request
	p    *pendingReq
	dir  *open
	tree bool
	done bool // guarded by fileTable.mu
	once sync.Once
}

func (w *watcher) finish(st Status) {
	w.once.Do(func() {
		w.c.srv.files.dropWatcher(w)
		body := []byte(nil)
		if st == StatusNotifyEnumDir || st == StatusNotifyCleanup {
			body = []byte{9, 0, headerSize + 8, 0, 0, 0, 0, 0, 0}
		}
		w.c.finishAsync(w.r, w.p, body, st)
	})
}

func (t *fileTable) addWatcher(w *watcher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !w.done {
		t.watchers = append(t.watchers, w)
	}
}

func (t *fileTable) dropWatcher(w *watcher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.done = true
	for i, x := range t.watchers {
		if x == w {
			t.watchers = append(t.watchers[:i], t.watchers[i+1:]...)
			return
		}
	}
}

func (c *conn) changeNotify(r *request) ([]byte, Status) {
	b := r.body
	o, st := c.lookupOpen(r, b[8:])
	if st != StatusSuccess {
		return nil, st
	}
	if !o.isDir {
		return nil, StatusInvalidParameter
	}
	if o.access&accReadData == 0 {
		return nil, StatusAccessDenied
	}
	w := &watcher{c: c, r: r, dir: o, tree: le.Uint16(b[2:])&notifyWatchTree != 0}
	w.p = c.goAsync(r, func() { w.finish(StatusCancelled) })
	r.afterSend = func() { c.srv.files.addWatcher(w) }
	return nil, StatusPending
}

// changed completes the notifications watching the directory that holds
// path (or a directory above it, for WATCH_TREE) on the share.
func (t *fileTable) changed(share, path string) {
	parent, _ := parentOf(path)
	t.mu.Lock()
	var fire []*watcher
	for _, w := range t.watchers {
		if w.dir.tree.share.Name != share || w.dir.state == nil {
			continue
		}
		d := w.dir.state.path
		if d == parent || w.tree && (d == "" || strings.HasPrefix(parent+"/", d+"/")) {
			fire = append(fire, w)
		}
	}
	t.mu.Unlock()
	for _, w := range fire {
		w.finish(StatusNotifyEnumDir)
	}
}

// closedDir completes the notifications pending on a closed directory.
func (t *fileTable) closedDir(o *open) {
	t.mu.Lock()
	var fire []*watcher
	for _, w := range t.watchers {
		if w.dir == o {
			fire = append(fire, w)
		}
	}
	t.mu.Unlock()
	for _, w := range fire {
		w.finish(StatusNotifyCleanup)
	}
}

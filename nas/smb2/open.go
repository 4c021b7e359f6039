package smb2

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Access mask bits ([MS-SMB2] 2.2.13.1).
const (
	accReadData        = 0x00000001
	accWriteData       = 0x00000002
	accAppendData      = 0x00000004
	accReadEA          = 0x00000008
	accWriteEA         = 0x00000010
	accExecute         = 0x00000020
	accDeleteChild     = 0x00000040
	accReadAttributes  = 0x00000080
	accWriteAttributes = 0x00000100
	accDelete          = 0x00010000
	accReadControl     = 0x00020000
	accWriteDAC        = 0x00040000
	accWriteOwner      = 0x00080000
	accSynchronize     = 0x00100000
	accSystemSecurity  = 0x01000000
	accMaximumAllowed  = 0x02000000
	accGenericAll      = 0x10000000
	accGenericExecute  = 0x20000000
	accGenericWrite    = 0x40000000
	accGenericRead     = 0x80000000

	accWriteMask = accWriteData | accAppendData | accWriteEA | accWriteAttributes |
		accDelete | accDeleteChild | accWriteDAC | accWriteOwner
)

// Share access bits.
const (
	shareRead   = 1
	shareWrite  = 2
	shareDelete = 4
)

// fileKey names one file across connections: the share and the FS's id.
type fileKey struct {
	share string
	id    uint64
}

// fileState is what every open of one file shares: the opens (for share
// modes), a pending delete, byte-range locks.
type fileState struct {
	key           fileKey
	path          string
	fs            vfs.FS
	opens         []*open
	deletePending bool
	locks         []byteLock
	unlocked      chan struct{} // closed and replaced when locks are released
}

// fileTable holds the fileStates of open files, server-wide.
type fileTable struct {
	mu       sync.Mutex
	files    map[fileKey]*fileState
	watchers []*watcher         // pending change notifications
	leases   map[leaseID]*lease // by client GUID and key (lease.go)
}

func newFileTable() *fileTable { return &fileTable{files: map[fileKey]*fileState{}} }

// open is one SMB2 open (a handle).
type open struct {
	id            fileID
	sess          *session
	conn          *conn
	op            oplockState // guarded by fileTable.mu
	lease         *lease      // guarded by fileTable.mu; nil: no lease
	tree          *tree
	state         *fileState
	f             vfs.File
	isDir         bool
	access        uint32
	shareAccess   uint32
	deleteOnClose bool
	pos           int64
	mode          uint32
	dir           *dirCursor
	closed        bool
	written       bool        // data changed through this open (notify on close)
	created       bool        // this open created the file (a failed close removes it)
	writeThrough  bool        // FILE_WRITE_THROUGH: every WRITE is committed before it is answered
	failReported  atomic.Bool // a failed commit of this open was logged and counted
	times         openTimes   // the open's part in the file's times (times.go)

	user         string // who opened it (durable reconnects must match)
	durable      bool
	durTimeout   time.Duration
	createGUID   [16]byte
	disconnected bool        // a durable open waiting for its client
	expire       *time.Timer // ends a disconnected durable open
}

// path returns the open file's current path.
func (o *open) path(t *fileTable) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return o.state.path
}

// dataAccess: the access takes part in share-mode checks.
func dataAccess(a uint32) bool {
	return a&(accReadData|accWriteData|accAppendData|accExecute|accDelete) != 0
}

// shareConflict applies the share-mode rules of [MS-FSA] 2.1.5.1.2.
func shareConflict(st *fileState, access, share uint32) bool {
	if !dataAccess(access) {
		return false
	}
	for _, o := range st.opens {
		if !dataAccess(o.access) {
			continue
		}
		if o.access&(accReadData|accExecute) != 0 && share&shareRead == 0 ||
			o.access&(accWriteData|accAppendData) != 0 && share&shareWrite == 0 ||
			o.access&accDelete != 0 && share&shareDelete == 0 ||
			access&(accReadData|accExecute) != 0 && o.shareAccess&shareRead == 0 ||
			access&(accWriteData|accAppendData) != 0 && o.shareAccess&shareWrite == 0 ||
			access&accDelete != 0 && o.shareAccess&shareDelete == 0 {
			return true
		}
	}
	return false
}

// wouldConflict says whether an open with access and share would meet a
// sharing violation on the file at key as it is open now, or find its
// delete pending.
func (t *fileTable) wouldConflict(key fileKey, access, share uint32) (conflict, pending bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.files[key]
	if st == nil {
		return false, false
	}
	return shareConflict(st, access, share), st.deletePending
}

// renameParentCheck: a rename into a directory that some open holds with
// DELETE access meets a sharing violation, into one whose delete is
// pending STATUS_DELETE_PENDING, as on Windows (smbtorture
// smb2.oplock.exclusive6, batch19).
func (t *fileTable) renameParentCheck(ctx context.Context, share nas.Share, target string) Status {
	dir, _ := parentOf(target)
	info, err := share.FS.Stat(ctx, dir)
	if err != nil {
		return StatusSuccess // the rename itself answers
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.files[fileKey{share.Name, info.ID}]
	if st == nil {
		return StatusSuccess
	}
	if st.deletePending {
		return StatusDeletePending
	}
	for _, x := range st.opens {
		if x.access&accDelete != 0 {
			return StatusSharingViolation
		}
	}
	return StatusSuccess
}

// register adds o to its file's state after the share-mode check.
func (t *fileTable) register(o *open, fs vfs.FS, key fileKey, path string, oplock byte) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.files[key]
	if st == nil {
		st = &fileState{key: key, path: path, fs: fs, unlocked: make(chan struct{})}
		t.files[key] = st
	}
	if st.deletePending {
		return StatusDeletePending
	}
	if shareConflict(st, o.access, o.shareAccess) {
		if len(st.opens) == 0 {
			delete(t.files, key)
		}
		return StatusSharingViolation
	}
	st.opens = append(st.opens, o)
	o.state = st
	o.op.level = grantOplock(o, oplock)
	return StatusSuccess
}

// lookupState returns the state of an open file, if any is open.
func (t *fileTable) lookupState(key fileKey) *fileState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.files[key]
}

// closeFile ends an open: its locks go, a delete on close or a pending
// delete happens when it was the last open of the file. It returns the
// error of the file's Close, which commits what was written: the caller
// must not answer success when it is not nil. A file this open created
// whose commit failed is removed when no other open has it, so that no
// empty or truncated new file is left (docs/durability.md).
func (o *open) closeFile(ctx context.Context) error {
	t := o.tableOf()
	t.mu.Lock()
	if o.closed {
		t.mu.Unlock()
		return nil
	}
	o.closed = true
	st := o.state
	var remove string
	last := false
	if st != nil {
		if o.deleteOnClose {
			st.deletePending = true
		}
		for i, x := range st.opens {
			if x == o {
				st.opens = append(st.opens[:i], st.opens[i+1:]...)
				break
			}
		}
		if o.op.breaking {
			o.op.breaking = false
			close(o.op.acked)
		}
		t.leaseClosed(o)
		// Wake blocked lock requests: the locks of o are gone, and a
		// request waiting on o itself must now fail.
		st.dropLocks(o)
		close(st.unlocked)
		st.unlocked = make(chan struct{})
		if len(st.opens) == 0 {
			last = true
			delete(t.files, st.key)
			if st.deletePending {
				remove = st.path
			}
		}
	}
	t.mu.Unlock()
	if o.isDir {
		t.closedDir(o)
	}
	var err error
	if o.f != nil {
		o.closing()
		err = o.f.Close()
	}
	if err != nil && o.created && last && st != nil && remove == "" {
		remove = st.path // a half-stored new file is not left behind
	}
	if remove != "" && st != nil {
		if st.fs.Remove(ctx, remove) == nil {
			t.changed(st.key.share, remove)
		}
	} else if o.written && st != nil {
		t.changed(st.key.share, st.path)
	}
	return err
}

func (o *open) tableOf() *fileTable { return o.tree.files }

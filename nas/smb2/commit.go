package smb2

import (
	"context"
	"errors"

	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// What a success answer means for stored data is written down in
// docs/durability.md; the functions here keep the failures from being
// silent: each is answered with its status, logged once and counted.

// Write flags ([MS-SMB2] 2.2.21) and the create option FILE_WRITE_THROUGH
// ([MS-SMB2] 2.2.13).
const (
	writeFlagWriteThrough = 0x00000001
	optWriteThrough       = 0x00000002
)

// commitStatus maps an error in storing data to the status a client
// sees: DISK_FULL when the store is full, ACCESS_DENIED or
// MEDIA_WRITE_PROTECTED when it may not change, an I/O error otherwise.
func commitStatus(err error) Status {
	st := statusOf(err)
	if st == StatusInternalError {
		return StatusUnexpectedIOError
	}
	return st
}

// failureReason names the reason label of a failed commit.
func failureReason(err error) string {
	switch {
	case errors.Is(err, vfs.ErrNoSpace), errors.Is(err, dedup.ErrFull):
		return dedup.ReasonFull
	case errors.Is(err, vfs.ErrImmutable), errors.Is(err, vfs.ErrReadOnly), errors.Is(err, dedup.ErrImmutable):
		return dedup.ReasonImmutable
	}
	return dedup.ReasonIO
}

// commitFailed logs and counts a failed commit of o's data by op (close,
// flush, write, ...) and returns the status to answer with. Only the
// first failure of an open is logged and counted: once a stream failed,
// every later request on the handle fails for the same loss.
func (srv *Server) commitFailed(op string, o *open, err error) Status {
	st := commitStatus(err)
	if o.failReported.Swap(true) {
		return st
	}
	reason := failureReason(err)
	share, path := "", ""
	if o.state != nil {
		share, path = o.state.key.share, o.path(o.tableOf())
	}
	srv.opts.Logger.Error("smb: commit failed, the client is told", "op", op, "share", share, "path", path,
		"user", o.user, "status", st.String(), "reason", reason, "err", err)
	if srv.opts.Failures != nil {
		srv.opts.Failures.CommitFailed("smb", reason)
	}
	return st
}

// closeOpen closes o where no client waits for the answer (logoff, tree
// disconnect, a durable handle that expired): a failure is logged and
// counted, never dropped.
func (srv *Server) closeOpen(ctx context.Context, op string, o *open) {
	if err := o.closeFile(ctx); err != nil {
		_ = srv.commitFailed(op, o, err) // no client waits for the status
	}
}

package smb2

import (
	"errors"
	"fmt"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Status is an NT status code ([MS-ERREF] 2.3).
type Status uint32

// The NT status codes the server sends.
const (
	StatusSuccess                Status = 0x00000000
	StatusPending                Status = 0x00000103
	StatusBufferOverflow         Status = 0x80000005
	StatusNoMoreFiles            Status = 0x80000006
	StatusUnsuccessful           Status = 0xC0000001
	StatusNotImplemented         Status = 0xC0000002
	StatusInvalidInfoClass       Status = 0xC0000003
	StatusInfoLengthMismatch     Status = 0xC0000004
	StatusInvalidHandle          Status = 0xC0000008
	StatusInvalidParameter       Status = 0xC000000D
	StatusNoSuchFile             Status = 0xC000000F
	StatusInvalidDeviceRequest   Status = 0xC0000010
	StatusEndOfFile              Status = 0xC0000011
	StatusMoreProcessingRequired Status = 0xC0000016
	StatusAccessDenied           Status = 0xC0000022
	StatusBufferTooSmall         Status = 0xC0000023
	StatusObjectNameInvalid      Status = 0xC0000033
	StatusObjectNameNotFound     Status = 0xC0000034
	StatusObjectNameCollision    Status = 0xC0000035
	StatusObjectPathNotFound     Status = 0xC000003A
	StatusObjectPathSyntaxBad    Status = 0xC000003B
	StatusSharingViolation       Status = 0xC0000043
	StatusQuotaExceeded          Status = 0xC0000044
	StatusFileLockConflict       Status = 0xC0000054
	StatusLockNotGranted         Status = 0xC0000055
	StatusDeletePending          Status = 0xC0000056
	StatusLogonFailure           Status = 0xC000006D
	StatusRangeNotLocked         Status = 0xC000007E
	StatusDiskFull               Status = 0xC000007F
	StatusInsufficientResources  Status = 0xC000009A
	StatusMediaWriteProtected    Status = 0xC00000A2
	StatusDeviceNotReady         Status = 0xC00000A3
	StatusFileIsADirectory       Status = 0xC00000BA
	StatusNotSupported           Status = 0xC00000BB
	StatusNetworkNameDeleted     Status = 0xC00000C9
	StatusBadNetworkName         Status = 0xC00000CC
	StatusRequestNotAccepted     Status = 0xC00000D0
	StatusInvalidOplockProtocol  Status = 0xC00000E3
	StatusInternalError          Status = 0xC00000E5
	StatusUnexpectedIOError      Status = 0xC00000E9
	StatusDirectoryNotEmpty      Status = 0xC0000101
	StatusNotADirectory          Status = 0xC0000103
	StatusCancelled              Status = 0xC0000120
	StatusCannotDelete           Status = 0xC0000121
	StatusFileClosed             Status = 0xC0000128
	StatusUserSessionDeleted     Status = 0xC0000203
	StatusNotFound               Status = 0xC0000225
	StatusNotAReparsePoint       Status = 0xC0000275
	StatusNetworkSessionExpired  Status = 0xC000035C
)

func (s Status) Error() string { return "smb2: status " + s.String() }

func (s Status) String() string { return fmt.Sprintf("0x%08x", uint32(s)) }

// isError: the status is an error or a warning that still carries data
// (only BUFFER_OVERFLOW among those we send).
func (s Status) isError() bool { return s>>30 == 3 }

// statusOf maps an error from the FS (or a Status) to an NT status.
func statusOf(err error) Status {
	var st Status
	switch {
	case err == nil:
		return StatusSuccess
	case errors.As(err, &st):
		return st
	case errors.Is(err, vfs.ErrNotExist):
		return StatusObjectNameNotFound
	case errors.Is(err, vfs.ErrExist):
		return StatusObjectNameCollision
	case errors.Is(err, vfs.ErrNotDir):
		return StatusNotADirectory
	case errors.Is(err, vfs.ErrIsDir):
		return StatusFileIsADirectory
	case errors.Is(err, vfs.ErrNotEmpty):
		return StatusDirectoryNotEmpty
	case errors.Is(err, vfs.ErrReadOnly):
		return StatusMediaWriteProtected
	case errors.Is(err, vfs.ErrImmutable):
		// [MS-FSA] 2.1.5.1.2.1: a write or overwrite open of a read-only
		// file fails with STATUS_ACCESS_DENIED; the volume itself is
		// writable (new files may be created), so not
		// MEDIA_WRITE_PROTECTED.
		return StatusAccessDenied
	case errors.Is(err, vfs.ErrUnavailable):
		return StatusDeviceNotReady
	case errors.Is(err, vfs.ErrNoSpace):
		return StatusDiskFull
	case errors.Is(err, vfs.ErrInvalid):
		return StatusInvalidParameter
	case errors.Is(err, vfs.ErrClosed):
		return StatusFileClosed
	case errors.Is(err, vfs.ErrUnsupported):
		return StatusNotSupported
	}
	return StatusInternalError
}

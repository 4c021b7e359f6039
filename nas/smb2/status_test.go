package smb2

import (
	"fmt"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Status
	}{
		{nil, StatusSuccess},
		{vfs.ErrReadOnly, StatusMediaWriteProtected},
		{fmt.Errorf("sharefs: remove %q: %w until 2030-01-03T03:04:05Z", "a", vfs.ErrImmutable), StatusAccessDenied},
		{fmt.Errorf("sharefs: share degraded: %w: open metadata", vfs.ErrUnavailable), StatusDeviceNotReady},
		{StatusCannotDelete, StatusCannotDelete},
		{fmt.Errorf("something else"), StatusInternalError},
	} {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

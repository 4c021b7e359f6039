package sharefs

import (
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
	"github.com/backstop-appliance/backstop/nas/vfs/vfstest"
)

// TestConformance runs the vfs suite the SMB server relies on.
func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return newEnv(t).fs })
}

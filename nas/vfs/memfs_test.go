package vfs_test

import (
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
	"github.com/backstop-appliance/backstop/nas/vfs/vfstest"
)

func TestMemFSConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return vfs.NewMemFS(1 << 30) })
}

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapacityGrowsFullDiskServe is the reproduction end to end:
// backstop serve on a real tmpfs, `backstop put --server` until the
// appliance refuses a put as full, the tmpfs grown under the running
// serve, and the next put succeeds without a restart.
func TestCapacityGrowsFullDiskServe(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and fills it; make test runs it without -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; chunkstore/volume's TestCapacityFollowsFreeSpace covers the rule")
	}
	mnt := t.TempDir()
	// serve keeps the default 512 MiB reserve free for the index: 640 MiB
	// leaves about 100 MiB for the volumes.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=640m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := filepath.Join(mnt, "data")
	addr := serveInProcess(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "catalyst-test-pw")
	remote := []string{"--server", addr, "--user", "admin", "--ca", filepath.Join(dir, "tls", "cert.pem")}
	src := filepath.Join(t.TempDir(), "src.bin")
	r := rand.New(rand.NewPCG(7, 8))
	putNext := func(name string) (int, string) {
		t.Helper()
		data := make([]byte, 16<<20)
		for i := 0; i < len(data); i += 8 {
			v := r.Uint64()
			for k := range 8 {
				data[i+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errs := cli(t, nil, append([]string{"put", name, src}, remote...)...)
		return code, errs
	}
	full := false
	for i := range 20 {
		code, errs := putNext(fmt.Sprint("before", i))
		if code != 0 {
			if !strings.Contains(errs, "no space left") {
				t.Fatalf("put %d failed, but not as full: %d %q", i, code, errs)
			}
			full = true
			break
		}
	}
	if !full {
		t.Fatal("320 MiB stored on a tmpfs with about 100 MiB for the volumes: the disk is never full")
	}
	if out, err := exec.Command("mount", "-o", "remount,size=1g", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount tmpfs: %v %s", err, out)
	}
	for i := range 4 {
		if code, errs := putNext(fmt.Sprint("after", i)); code != 0 {
			t.Fatalf("put %d after the tmpfs grew, without a restart: %d %q", i, code, errs)
		}
	}
}

package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of the given size (mount's size= syntax) on a
// new temporary directory and unmounts it when the test ends. It skips
// under -short and when not root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts a tmpfs and fills it; make test runs it in its crash and full-disk step, without -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; chunkstore/volume's TestCapacityFollowsFreeSpace covers the rule")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

func remountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount tmpfs: %v %s", err, out)
	}
}

// tryPut stores data as name and returns the commit's error.
func tryPut(e *Engine, name string, data []byte) error {
	ctx := context.Background()
	w, err := e.Create(ctx, DefaultStore, name, WriteOptions{})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	_, err = w.Commit(ctx)
	return err
}

// fillUntilFull puts 8 MiB items until one fails with ErrFull and
// returns how many were stored.
func fillUntilFull(t *testing.T, e *Engine, prefix string, seed uint64) int {
	t.Helper()
	for i := 0; ; i++ {
		err := tryPut(e, fmt.Sprint(prefix, i), testData(seed+uint64(i), 8<<20))
		if errors.Is(err, ErrFull) {
			return i
		}
		if err != nil {
			t.Fatalf("put %s%d: %v", prefix, i, err)
		}
		if i > 100 {
			t.Fatal("800 MiB stored on a small tmpfs: the disk is never full")
		}
	}
}

func fsFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// TestCapacityGrowsFullDisk fills the appliance on a real tmpfs until a
// put fails with ErrFull, grows the tmpfs, and checks that the capacity
// follows and that puts succeed again without reopening the engine.
func TestCapacityGrowsFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "160m")
	o := testOptions()
	o.VolumeSize = 1 << 30
	o.Reserve = 64 << 20
	e := openTest(t, filepath.Join(dir, "data"), o)
	defer e.Close()
	if n := fillUntilFull(t, e, "before", 0); n == 0 {
		t.Fatal("nothing fit on the tmpfs")
	}
	full := e.Stats().CapacityBytes
	remountTmpfs(t, dir, "320m")
	grown := e.Stats().CapacityBytes
	if grown < full+150<<20 {
		t.Fatalf("capacity after the tmpfs grew by 160 MiB: %d, was %d", grown, full)
	}
	// The next puts succeed, well past what the capacity was at open.
	for i := range 8 {
		if err := tryPut(e, fmt.Sprint("after", i), testData(1000+uint64(i), 8<<20)); err != nil {
			t.Fatalf("put %d after the tmpfs grew: %v", i, err)
		}
	}
	if n := fillUntilFull(t, e, "more", 2000); n == 0 {
		t.Fatal("nothing more fit")
	}
	rep, err := e.Verify(context.Background(), nil)
	if err != nil || len(rep.Damage) != 0 {
		t.Fatalf("verify: %v %+v", err, rep.Damage)
	}
}

// TestCapacityShrinksFullDisk has another program's file eat the free
// space of the tmpfs under the appliance: the capacity shrinks, a put
// fails with ErrFull (not a SIGBUS, not a torn item), and once the file
// is gone puts succeed again, all without reopening the engine.
func TestCapacityShrinksFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "256m")
	o := testOptions()
	o.VolumeSize = 1 << 30
	o.Reserve = 64 << 20
	e := openTest(t, filepath.Join(dir, "data"), o)
	defer e.Close()
	first := testData(1, 16<<20)
	put(t, e, DefaultStore, "first", first)
	before := e.Stats()

	// Another program leaves half the reserve free: the volumes must stop,
	// badger still has room for what it writes.
	hog := filepath.Join(dir, "hog")
	if err := os.WriteFile(hog, make([]byte, fsFree(t, dir)-o.Reserve/2), 0o600); err != nil {
		t.Fatalf("write the other program's file: %v", err)
	}
	after := e.Stats()
	if after.CapacityBytes > before.CapacityBytes-100<<20 || after.CapacityBytes > after.StoredBytes+1<<20 {
		t.Fatalf("capacity with the disk taken: %d (stored %d), was %d", after.CapacityBytes, after.StoredBytes, before.CapacityBytes)
	}
	if err := tryPut(e, "taken", testData(2, 8<<20)); !errors.Is(err, ErrFull) {
		t.Fatalf("put with the disk taken: %v, want ErrFull", err)
	}
	if _, err := e.Stat(context.Background(), DefaultStore, "taken"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the item that did not fit is visible: %v", err)
	}
	if err := os.Remove(hog); err != nil {
		t.Fatal(err)
	}
	if c := e.Stats().CapacityBytes; c < before.CapacityBytes-16<<20 {
		t.Fatalf("capacity after the file was removed: %d, was %d", c, before.CapacityBytes)
	}
	put(t, e, DefaultStore, "freed", testData(3, 8<<20))
	rep, err := e.Verify(context.Background(), nil)
	if err != nil || len(rep.Damage) != 0 {
		t.Fatalf("verify: %v %+v", err, rep.Damage)
	}
}

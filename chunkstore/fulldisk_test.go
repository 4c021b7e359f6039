package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestFullDisk fills a real, small file system (a tmpfs mounted for the
// test, so it needs root) and checks that the write that does not fit
// fails with ErrFull, that nothing else is lost, and that the data
// directory still opens, lists and verifies.
func TestFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("slow under -race; make test runs it in its crash and full-disk step, without -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; TestFull covers the capacity limit")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	o := testOptions()
	o.VolumeSize = 1 << 30
	o.Reserve = 64 << 20
	e := openTest(t, dir+"/data", o)
	first := testData(1, 40<<20)
	put(t, e, DefaultStore, "first", first)

	w, err := e.Create(context.Background(), DefaultStore, "too-big", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(testData(2, 160<<20))
	if _, err := w.Commit(context.Background()); !errors.Is(err, ErrFull) {
		t.Fatalf("commit on a full disk: %v, want ErrFull", err)
	}
	// A small item still fits in what is left, dedup still works.
	put(t, e, DefaultStore, "dup", first)
	if err := e.Close(); err != nil {
		t.Fatalf("close on a nearly full disk: %v", err)
	}
	e = openTest(t, dir+"/data", o)
	defer e.Close()
	for _, name := range []string{"first", "dup"} {
		if !bytes.Equal(get(t, e, DefaultStore, name), first) {
			t.Fatalf("%s damaged by the full disk", name)
		}
	}
	if _, err := e.Stat(context.Background(), DefaultStore, "too-big"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the item that did not fit is visible: %v", err)
	}
	rep, err := e.Verify(context.Background(), nil)
	if err != nil || len(rep.Damage) != 0 {
		t.Fatalf("verify after full disk: %v %+v", err, rep.Damage)
	}
}

// TestHousekeepingFullDisk fills a real small file system, deletes half of what it
// holds, and runs housekeeping on the full disk: it must free space
// (dropping containers needs none), lose nothing, and leave room for new
// backups.
func TestHousekeepingFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("slow under -race; make test runs it in its crash and full-disk step, without -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; TestHousekeepingFull covers the capacity limit")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	ctx := context.Background()
	o := testOptions()
	o.VolumeSize = 1 << 30
	o.Reserve = 64 << 20
	e := openTest(t, dir+"/data", o)
	defer e.Close()
	items := map[string][]byte{}
	for i := 0; ; i++ {
		name, data := fmt.Sprint("item", i), testData(uint64(i), 8<<20)
		w, err := e.Create(ctx, DefaultStore, name, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if _, err := w.Commit(ctx); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
		items[name] = data
	}
	for i := 0; i < len(items); i += 2 {
		name := fmt.Sprint("item", i)
		if err := e.Delete(ctx, DefaultStore, name); err != nil {
			t.Fatal(err)
		}
		delete(items, name)
	}
	rep, err := e.Housekeep(ctx, HousekeepingOptions{})
	if err != nil && !errors.Is(err, ErrFull) {
		t.Fatalf("housekeeping on a full disk: %v", err)
	}
	if rep.ReclaimedBytes <= 0 {
		t.Fatalf("housekeeping freed nothing on a full disk: %v %+v", err, rep)
	}
	for name, data := range items {
		if !bytes.Equal(get(t, e, DefaultStore, name), data) {
			t.Fatalf("%s damaged by housekeeping on a full disk", name)
		}
	}
	put(t, e, DefaultStore, "after", testData(99, 8<<20))
	vr, err := e.Verify(ctx, nil)
	if err != nil || len(vr.Damage) != 0 {
		t.Fatalf("verify: %v %+v", err, vr.Damage)
	}
}

package sharefs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// mountTmpfs mounts a tmpfs of size on a new temp dir for the test (root
// only; skipped under -short so make check stays root-free).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("full-disk tests mount a tmpfs: make test runs them as root")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount tmpfs: %v %s", err, out)
		}
	})
	return dir
}

// TestSMBPutFullDisk is the reproduction of issue 14: smbclient puts a
// file larger than what is left of a small file system under the data
// directory. The put must fail with NT_STATUS_DISK_FULL, a new file must
// not be left behind as 0 bytes (or truncated), and an overwritten file
// keeps its previous version.
func TestSMBPutFullDisk(t *testing.T) {
	needSmbclient(t)
	dir := mountTmpfs(t, "128m")
	const reserve = 32 << 20 // what the volumes leave free for the index
	e := &testEnv{t: t, dir: dir}
	eo := chunkstore.DefaultOptions()
	eo.Create, eo.Capacity, eo.Reserve = true, 8<<30, reserve
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	me := &managerEnv{testEnv: e}
	me.openManager()
	opts := smb2.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var failures dedup.CommitFailures
	opts.Failures = &failures
	opts.Addr = "127.0.0.1:0"
	srv := smb2.New(me.m, smbUsers{smbUser: smbPass}, opts)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("smb shutdown: %v", err)
		}
		me.m.Close()
		e.close()
	})
	se := &smbEnv{managerEnv: me, addr: srv.Addr()}

	src := t.TempDir()
	small, big := filepath.Join(src, "small.bin"), filepath.Join(src, "big.bin")
	smallData := randBytes(21, 1<<20)
	if err := os.WriteFile(small, smallData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, randBytes(22, 160<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	mid := filepath.Join(src, "mid.bin")
	if err := os.WriteFile(mid, randBytes(23, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	se.smbclient("backup", nil, "-c", "put "+small+" keep.bin")

	// A file far larger than the disk: a WRITE fails.
	putFull := func(from, target string) {
		t.Helper()
		out := se.smbclientFail("backup", "put "+from+" "+target)
		if !strings.Contains(out, "NT_STATUS_DISK_FULL") {
			t.Fatalf("put %s on a full disk: want NT_STATUS_DISK_FULL, smbclient said:\n%s", target, out)
		}
	}
	putFull(big, "huge.bin")
	putFull(big, "keep.bin")
	// Nearly full: the writes fit in the engine's open container and
	// the commit at CLOSE is what fails (the case of the issue).
	fillTo(t, dir, reserve+512<<10)
	putFull(mid, "new.bin")
	putFull(mid, "keep.bin")
	ctx := context.Background()
	sh, err := me.m.Share(ctx, "backup", smbUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"huge.bin", "new.bin"} {
		if in, err := sh.FS.Stat(ctx, name); !errors.Is(err, vfs.ErrNotExist) {
			t.Fatalf("the new file %s that did not fit is visible: %+v %v", name, in, err)
		}
	}
	f, err := sh.FS.Open(ctx, "keep.bin", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, f)
	f.Close()
	if string(got) != string(smallData) {
		t.Fatalf("keep.bin after a failed overwrite: %d bytes, want the previous %d", len(got), len(smallData))
	}
	// Each failed put is counted once, however many requests failed.
	if got := failures.Counts(); len(got) != 1 || got[0] != (dedup.FailureCount{FailureKey: dedup.FailureKey{Protocol: "smb", Reason: dedup.ReasonFull}, Count: 4}) {
		t.Fatalf("commit failures counted: %+v, want 4 smb/full", got)
	}
	out := se.smbclient("backup", nil, "-c", "ls")
	if strings.Contains(out, "new.bin") || strings.Contains(out, "huge.bin") {
		t.Fatalf("ls shows the file that did not fit:\n%s", out)
	}
}

// smbclientFail runs smbclient commands that are meant to fail and
// returns what it printed.
func (e *smbEnv) smbclientFail(share string, cmds string) string {
	e.t.Helper()
	host, port, _ := strings.Cut(e.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "smbclient", "//"+host+"/"+share, "-p", port, "-U", smbUser+"%"+smbPass, "-c", cmds).CombinedOutput()
	return string(out)
}

// fillTo writes a filler file into dir until about free bytes are left.
func fillTo(t *testing.T, dir string, free uint64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := st.Bavail * uint64(st.Bsize)
	if avail <= free {
		return
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for left := avail - free; left > 0; {
		n := min(left, uint64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatalf("filler: %v", err)
		}
		left -= n
	}
}

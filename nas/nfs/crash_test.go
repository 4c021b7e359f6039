package nfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

const childEnv = "BACKSTOP_NFS_TEST_APPLIANCE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// runChild is the appliance the crash test kills: it serves dir's shares
// over NFS, prints its address and verifier, and runs until killed.
func runChild(dir string) error {
	ctx := context.Background()
	eo := chunkstore.DefaultOptions()
	eo.Create, eo.Capacity, eo.Reserve = true, 8<<30, 0
	eng, err := chunkstore.Open(ctx, filepath.Join(dir, "data"), eo)
	if err != nil {
		return err
	}
	shares, err := sharefs.OpenManager(ctx, eng, eng.Dir(), sharefs.DefaultManagerOptions())
	if err != nil {
		return err
	}
	exp := everyone
	if _, err := shares.Update(ctx, sharefs.DefaultShare, sharefs.Patch{NFS: &exp}); err != nil {
		return err
	}
	srv := New(shares, DefaultOptions("127.0.0.1:0"))
	if err := srv.Start(ctx); err != nil {
		return err
	}
	v := srv.Verifier()
	fmt.Printf("%s %s\n", srv.Addr(), hex.EncodeToString(v[:]))
	select {} // until SIGKILL
}

// startChild runs the appliance on dir and returns its address and
// verifier; the process is killed with SIGKILL by kill.
func startChild(t *testing.T, dir string) (addr, verf string, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill = func() {
		_ = cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 2 {
			kill()
			t.Fatalf("appliance said %q", l)
		}
		return f[0], f[1], kill
	case <-time.After(60 * time.Second):
		kill()
		t.Fatal("appliance did not start in 60 s")
	}
	return "", "", nil
}

// The appliance killed with SIGKILL after a COMMIT answered: every
// committed byte is there after the restart, and the new verifier tells
// the client to resend what was only UNSTABLE.
func TestCommitSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	addr, verf1, kill := startChild(t, dir)
	rc := dial(t, addr)
	_, root := rc.mnt("/backup")
	fh := rc.create(root, "rman.bkp")
	committed := bytes.Repeat([]byte("committed."), 300000) // 3 MB
	for off := 0; off < len(committed); off += maxIO {
		v, _ := rc.write(fh, uint64(off), committed[off:min(off+maxIO, len(committed))], unstable)
		if hex.EncodeToString(v) != verf1 {
			t.Fatalf("WRITE verifier %x, the appliance's is %s", v, verf1)
		}
	}
	if st, v := rc.commit(fh); st != nfs3OK || hex.EncodeToString(v) != verf1 {
		t.Fatalf("COMMIT: %d %x", st, v)
	}
	tail := bytes.Repeat([]byte("unstable.."), 100000)
	rc.write(fh, uint64(len(committed)), tail, unstable) // never committed
	kill()

	addr, verf2, kill := startChild(t, dir)
	defer kill()
	if verf2 == verf1 {
		t.Fatalf("the verifier %s did not change with the restart", verf1)
	}
	rc = dial(t, addr)
	var got []byte
	for off := 0; off < len(committed); {
		st, p := rc.read(fh, uint64(off), maxIO)
		if st != nfs3OK || len(p) == 0 {
			t.Fatalf("READ at %d after the restart: status %d, %d bytes", off, st, len(p))
		}
		got = append(got, p...)
		off += len(p)
	}
	if !bytes.Equal(got[:len(committed)], committed) {
		t.Fatal("committed bytes differ after SIGKILL and restart")
	}
	// The client sees the new verifier and resends the UNSTABLE write.
	v, _ := rc.write(fh, uint64(len(committed)), tail, unstable)
	if hex.EncodeToString(v) != verf2 {
		t.Fatalf("verifier after restart %x, want %s", v, verf2)
	}
	if st, _ := rc.commit(fh); st != nfs3OK {
		t.Fatalf("COMMIT after restart: %d", st)
	}
	if st, size := rc.getattr(fh); st != nfs3OK || size != uint64(len(committed)+len(tail)) {
		t.Fatalf("size %d, want %d", size, len(committed)+len(tail))
	}
}

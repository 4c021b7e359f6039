package sharefs

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

const crashEnv = "SHAREFS_CRASH_DIR"

// TestCrash kills a process in the middle of rewriting a file (streamed
// and staged bytes, nothing synced) and checks that the reopened share
// holds the previous version intact, no leftover item and no staging.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	ready := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "ready" {
			ready = true
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !ready {
		t.Fatal("child never got ready")
	}
	e := &testEnv{t: t, dir: dir}
	e.open()
	// an item committed but never recorded, as a crash between the
	// commit and the metadata update leaves
	w, err := e.eng.Create(context.Background(), testStore, itemName(2, 99), chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("stray"))
	if _, err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	t.Cleanup(e.close)
	e.checkFile("f", randBytes(1, 3<<20))
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items after crash recovery: %v", got)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "nas", "staging", "test"))
	if err != nil || len(ents) != 0 {
		t.Fatalf("staging after recovery: %v %v", ents, err)
	}
	if files, used := e.fs.Usage(); files != 2 || used != 3<<20 {
		t.Fatalf("usage %d files %d bytes", files, used)
	}
}

// TestCrashChild is the process TestCrash kills.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	e := &testEnv{t: t, dir: dir}
	e.open()
	if _, err := e.eng.CreateStore(testStore, chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	e.openFS()
	e.writeFile("f", randBytes(1, 3<<20))
	f, err := e.fs.Open(context.Background(), "f", vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(randBytes(2, 2<<20), 0)    // streamed
	f.WriteAt(randBytes(3, 1000), 100)   // staged over the stream
	f.WriteAt(randBytes(4, 5000), 5<<20) // staged past the end
	g := e.create("g")                   // a new file, never synced
	g.WriteAt(randBytes(5, 100000), 0)
	os.Stdout.WriteString("ready\n")
	select {}
}

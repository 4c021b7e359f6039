package replication

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// TestMain doubles as the target appliance of TestKillTarget, run as a
// process of its own so that it can be killed with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("BACKSTOP_REPL_SOURCE"); dir != "" {
		if err := runSource(dir); err != nil {
			fmt.Fprintln(os.Stderr, "source:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if dir := os.Getenv("BACKSTOP_REPL_TARGET"); dir != "" {
		if err := runTarget(dir, os.Getenv("BACKSTOP_REPL_TRUST")); err != nil {
			fmt.Fprintln(os.Stderr, "target:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runTarget serves replication on dir until killed, writing its address
// to dir/addr.
func runTarget(dir, trust string) error {
	eo := engineOptions()
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), eo)
	if err != nil {
		return err
	}
	st, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{})
	if err != nil {
		return err
	}
	cert, err := loadOrMakeCert(filepath.Join(dir, "tls"))
	if err != nil {
		return err
	}
	o := DefaultOptions()
	o.Dir, o.Certificate, o.State = filepath.Join(dir, "replication"), cert, st
	o.Addr = "127.0.0.1:0"
	svc, err := New(eng, o)
	if err != nil {
		return err
	}
	if _, err := svc.AddSource("src", trust); err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	if err := svc.Start(context.Background()); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte(svc.Addr()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "addr")); err != nil {
		return err
	}
	select {} // until killed
}

// runSource runs the mappings of the appliance in dir until killed.
func runSource(dir string) error {
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), engineOptions())
	if err != nil {
		return err
	}
	st, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{})
	if err != nil {
		return err
	}
	cert, err := loadOrMakeCert(filepath.Join(dir, "tls"))
	if err != nil {
		return err
	}
	o := DefaultOptions()
	o.Dir, o.Certificate, o.State = filepath.Join(dir, "replication"), cert, st
	o.Poll, o.RetryMin, o.RetryMax = 20*time.Millisecond, 10*time.Millisecond, 100*time.Millisecond
	svc, err := New(eng, o)
	if err != nil {
		return err
	}
	if err := svc.Start(context.Background()); err != nil {
		return err
	}
	select {}
}

type targetProc struct {
	cmd  *exec.Cmd
	addr string
}

func startTarget(t *testing.T, dir, trust string) *targetProc {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BACKSTOP_REPL_TARGET="+dir, "BACKSTOP_REPL_TRUST="+trust)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &targetProc{cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "target process address", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "addr"))
		p.addr = string(b)
		return err == nil
	})
	return p
}

// TestKillTarget kills the target process with SIGKILL in the middle of
// a transfer, restarts it, and replication converges with every item
// intact, without sending again what the target had made durable.
func TestKillTarget(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, t.TempDir(), engineOptions())
	var stored int64
	for i := range 4 {
		stored += a.put("default", fmt.Sprintf("item-%d", i), testData(uint64(i+50), 3<<20)).NewBytes
	}
	bdir := t.TempDir()
	tp := startTarget(t, bdir, a.fp())
	cert, err := loadOrMakeCert(filepath.Join(bdir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	bfp := Fingerprint(cert.Certificate[0])

	p := newCutProxy(t, tp.addr, 0, 0, 1)
	killAt := stored * 6 / 10
	var once sync.Once
	killed := make(chan struct{})
	first := tp.cmd.Process
	onBytes := func(total int64) {
		if total >= killAt {
			once.Do(func() {
				first.Kill() // SIGKILL
				close(killed)
			})
		}
	}
	p.onBytes.Store(&onBytes)
	if _, err := a.svc.CreateMapping(Mapping{Name: "m", SourceStore: "default", Target: p.addr(), TargetFingerprint: bfp, TargetStore: "copy"}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx, "m"); err == nil {
		t.Fatal("the pass survived the kill of the target")
	}
	testwait.Recv(t, killed)
	tp.cmd.Wait()
	before := p.bytes.Load()
	p.onBytes.Store(nil)

	tp = startTarget(t, bdir, a.fp())
	p.target.Store(tp.addr)
	var passes int
	for err := a.svc.Sync(ctx, "m"); err != nil; err = a.svc.Sync(ctx, "m") {
		if passes++; passes > 20 {
			t.Fatalf("no convergence after the restart: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := p.bytes.Load() - before
	t.Logf("killed after %d bytes of %d stored; %d bytes after the restart", before, stored, after)
	if after >= stored {
		t.Fatalf("after the restart %d bytes went to the target, the whole data is %d: nothing was resumed", after, stored)
	}
	tp.cmd.Process.Kill()
	tp.cmd.Wait()
	eng, err := chunkstore.Open(ctx, filepath.Join(bdir, "data"), engineOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sameItems(t, a.eng, "default", eng, "copy")
	rep, err := eng.Verify(ctx, nil)
	if err != nil || len(rep.Damage) > 0 {
		t.Fatalf("verify of the target: %v %+v", err, rep.Damage)
	}
}

// TestKillSource kills the source process with SIGKILL in the middle of a
// transfer; restarted, it resumes from its journal and the target's
// listing, and the target ends with every item intact.
func TestKillSource(t *testing.T) {
	ctx := context.Background()
	adir := t.TempDir()
	a := newNode(t, adir, engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	var stored int64
	for i := range 4 {
		stored += a.put("default", fmt.Sprintf("item-%d", i), testData(uint64(i+80), 2<<20)).NewBytes
	}
	p := newCutProxy(t, b.addr, 0, 0, 1)
	a.mapTo(b, "m", "default", "copy", p.addr())
	a.close() // the child process takes the data directory over

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BACKSTOP_REPL_SOURCE="+adir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	src := start()
	killed := make(chan struct{})
	var once sync.Once
	onBytes := func(total int64) {
		if total >= stored/2 {
			once.Do(func() { src.Process.Kill(); close(killed) })
		}
	}
	p.onBytes.Store(&onBytes)
	testwait.Recv(t, killed)
	src.Wait()
	p.onBytes.Store(nil)
	before := p.bytes.Load()
	if items := mustList(t, b.eng, "copy"); len(items) == 4 {
		t.Fatal("the source was killed after the end of the transfer")
	}
	src = start()
	waitFor(t, "the restarted source to catch up", func() bool { return len(mustList(t, b.eng, "copy")) == 4 })
	src.Process.Kill()
	src.Wait()
	t.Logf("killed after %d bytes of %d stored; %d after the restart", before, stored, p.bytes.Load()-before)

	eng, err := chunkstore.Open(ctx, filepath.Join(adir, "data"), engineOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sameItems(t, eng, "default", b.eng, "copy")
}

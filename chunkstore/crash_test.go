package chunkstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashItem is the content of item seed: shared text plus its own bytes,
// so that crashes hit both the dedup and the new-chunk paths.
func crashItem(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	shared := testData(seed%5, 1<<20)
	return append(shared[:r.IntN(len(shared))], testData(seed+1000, r.IntN(3<<20))...)
}

// TestCrashChild is the process TestCrash kills: it writes items from
// three streams and prints "ACK seed" after each commit returns.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("BACKSTOP_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrash only")
	}
	e := openTest(t, dir, testOptions())
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	base := uint64(time.Now().UnixNano())
	for s := range uint64(3) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); ; i++ {
				seed := base + s*1_000_000 + i
				put(t, e, DefaultStore, fmt.Sprint(seed), crashItem(seed))
				mu.Lock()
				fmt.Fprintf(out, "ACK %d\n", seed)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrash kills a writing process with SIGKILL at random instants, many
// times over one data directory, and checks after each that every
// acknowledged item reads back byte-identical and verify finds no damage.
func TestCrash(t *testing.T) {
	runs := 25
	if testing.Short() {
		runs = 5
	}
	dir := t.TempDir()
	acked, checked := map[uint64]bool{}, map[uint64]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for run := range runs {
		killChild(t, "TestCrashChild", "BACKSTOP_CRASH_DIR="+dir, time.Duration(50+rng.IntN(700))*time.Millisecond, func(l string) {
			var seed uint64
			if _, err := fmt.Sscanf(l, "ACK %d", &seed); err == nil {
				acked[seed] = true
			}
		})
		// Check what this run acknowledged, a sample of the rest, and
		// everything on the last run.
		check := map[uint64]bool{}
		for seed := range acked {
			if !checked[seed] || rng.IntN(20) == 0 || run == runs-1 {
				check[seed] = true
				checked[seed] = true
			}
		}
		checkAcked(t, dir, check, acked, run, run%5 == 4 || run == runs-1)
	}
	t.Logf("%d runs, %d acknowledged items, all intact", runs, len(acked))
}

// killChild runs test child of this test binary with env added, hands
// every line it prints to take, kills it with SIGKILL after d, and hands
// on the lines printed before the kill. A child that exits by itself
// fails the test.
func killChild(t *testing.T, child, env string, d time.Duration, take func(string)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$")
	cmd.Env = append(os.Environ(), env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited early: %s", child, stderr.String())
			}
			take(l)
		case <-deadline:
			cmd.Process.Signal(syscall.SIGKILL)
			for l := range lines { // printed before the kill: they count
				take(l)
			}
			cmd.Wait()
			return
		}
	}
}

func checkAcked(t *testing.T, dir string, check, acked map[uint64]bool, run int, verify bool) {
	t.Helper()
	e := openTest(t, dir, testOptions())
	defer e.Close()
	for seed := range check {
		want := crashItem(seed)
		if got := get(t, e, DefaultStore, fmt.Sprint(seed)); !bytes.Equal(got, want) {
			t.Fatalf("run %d: acknowledged item %d reads back %d bytes, want %d identical", run, seed, len(got), len(want))
		}
	}
	if verify {
		rep, err := e.Verify(context.Background(), nil)
		if err != nil || len(rep.Damage) > 0 {
			t.Fatalf("run %d: verify after crash: %v %+v", run, err, rep.Damage)
		}
	}
	items, err := e.List(context.Background(), DefaultStore, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if !acked[parseSeed(it.Name)] {
			// Committed just before the kill, ack not yet printed: it must
			// still be whole.
			if got := get(t, e, DefaultStore, it.Name); !bytes.Equal(got, crashItem(parseSeed(it.Name))) {
				t.Fatalf("run %d: unacknowledged but visible item %s is not whole", run, it.Name)
			}
		}
	}
}

func parseSeed(s string) uint64 {
	var v uint64
	fmt.Sscan(strings.TrimSpace(s), &v)
	return v
}

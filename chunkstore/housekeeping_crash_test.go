package chunkstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
)

// TestHousekeepingCrashChild is the process TestHousekeepingCrash kills: one stream writes
// items and deletes older ones ("ACK seed", "DEL seed" once each
// returns) while housekeeping runs without pause.
func TestHousekeepingCrashChild(t *testing.T) {
	dir := os.Getenv("BACKSTOP_GC_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestHousekeepingCrash only")
	}
	e := openTest(t, dir, testOptions())
	ctx := context.Background()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(f string, a ...any) {
		mu.Lock()
		fmt.Fprintf(out, f+"\n", a...)
		out.Flush()
		mu.Unlock()
	}
	go func() {
		for {
			if _, err := e.Housekeep(ctx, HousekeepingOptions{NoThrottle: true, Threshold: 0.9}); err != nil {
				say("GCERR %v", err)
			}
		}
	}()
	items, err := e.List(ctx, DefaultStore, "")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, it := range items {
		live = append(live, it.Name)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for i := uint64(0); ; i++ {
		seed := uint64(time.Now().UnixNano())
		put(t, e, DefaultStore, fmt.Sprint(seed), crashItem(seed))
		say("ACK %d", seed)
		live = append(live, fmt.Sprint(seed))
		if len(live) > 4 {
			k := r.IntN(len(live) - 1)
			name := live[k]
			live = append(live[:k], live[k+1:]...)
			say("DELETING %s", name) // a kill from here on may leave it either way
			if err := e.Delete(ctx, DefaultStore, name); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			say("DEL %s", name)
		}
	}
}

// TestHousekeepingCrash kills a process in the middle of housekeeping (with writes
// and deletes beside it) at random instants, many times, and checks after
// each that every acknowledged item not deleted reads back
// byte-identical, and that verify finds nothing wrong.
func TestHousekeepingCrash(t *testing.T) {
	runs := 25
	if testing.Short() {
		runs = 4
	}
	dir := t.TempDir()
	acked, deleted := map[uint64]bool{}, map[uint64]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	for run := range runs {
		take := func(l string) {
			var seed uint64
			if _, err := fmt.Sscanf(l, "ACK %d", &seed); err == nil {
				acked[seed] = true
			} else if _, err := fmt.Sscanf(l, "DELETING %d", &seed); err == nil {
				deleted[seed] = true
			} else if _, err := fmt.Sscanf(l, "DEL %d", &seed); err == nil {
				deleted[seed] = true
			} else if len(l) > 5 && l[:5] == "GCERR" {
				t.Errorf("run %d: housekeeping failed: %s", run, l)
			}
		}
		killChild(t, "TestHousekeepingCrashChild", "BACKSTOP_GC_CRASH_DIR="+dir, time.Duration(300+rng.IntN(1500))*time.Millisecond, take)
		e := openTest(t, dir, testOptions())
		for seed := range acked {
			if deleted[seed] {
				// Deleted, or being deleted when killed: gone, or whole.
				if _, err := e.Stat(context.Background(), DefaultStore, fmt.Sprint(seed)); err == nil {
					if got := get(t, e, DefaultStore, fmt.Sprint(seed)); !bytes.Equal(got, crashItem(seed)) {
						t.Fatalf("run %d: item %d, being deleted, survived damaged", run, seed)
					}
				}
				continue
			}
			if got := get(t, e, DefaultStore, fmt.Sprint(seed)); !bytes.Equal(got, crashItem(seed)) {
				t.Fatalf("run %d: item %d damaged after a crash during housekeeping", run, seed)
			}
		}
		if run%4 == 3 || run == runs-1 {
			rep, err := e.Verify(context.Background(), nil)
			if err != nil || len(rep.Damage) > 0 {
				t.Fatalf("run %d: verify after a crash during housekeeping: %v %+v", run, err, rep.Damage)
			}
		}
		if st := e.Stats(); e.vols.Used() != st.StoredBytes {
			t.Errorf("run %d: volumes count %d bytes used, containers hold %d", run, e.vols.Used(), st.StoredBytes)
		}
		e.Close()
	}
	// Housekeeping after the last crash brings the space down to what the
	// live items need.
	e := openTest(t, dir, testOptions())
	defer e.Close()
	rep, err := e.Housekeep(context.Background(), HousekeepingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d runs, %d items written, %d deleted; final housekeeping %+v", runs, len(acked), len(deleted), rep)
}

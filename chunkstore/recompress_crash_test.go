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

	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// recompressCrashOptions: every chunk written with s2, so that
// recompression always has work.
func recompressCrashOptions() Options {
	o := testOptions()
	o.Compression = "s2"
	return o
}

// TestRecompressCrashChild is the process TestRecompressCrash kills: it
// writes items and deletes older ones ("ACK seed", "DELETING seed") and
// runs housekeeping that recompresses, at zstd's fastest level and at
// stronger ones for "cold" data in turn. By default the two take turns,
// as they do in the supported use (the offline `backstop housekeeping
// --recompress`); with BACKSTOP_RC_CONCURRENT=1 housekeeping runs without
// pause beside the writes, which reproduces the known loss of
// acknowledged chunks (TestRecompressConcurrentWriters).
func TestRecompressCrashChild(t *testing.T) {
	dir := os.Getenv("BACKSTOP_RC_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestRecompressCrash only")
	}
	e := openTest(t, dir, recompressCrashOptions())
	ctx := context.Background()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(f string, a ...any) {
		mu.Lock()
		fmt.Fprintf(out, f+"\n", a...)
		out.Flush()
		mu.Unlock()
	}
	levels := []int{container.LevelDefault, container.LevelBetter, container.LevelBest}
	round := 0
	housekeep := func() {
		opts := HousekeepingOptions{NoThrottle: true, Recompress: 1 << 40}
		if round%2 == 1 {
			opts.ColdAfter, opts.ColdLevel = time.Nanosecond, levels[round/2%len(levels)]
		}
		round++
		if _, err := e.Housekeep(ctx, opts); err != nil {
			say("RCERR %v", err)
		}
	}
	concurrent := os.Getenv("BACKSTOP_RC_CONCURRENT") == "1"
	if concurrent {
		go func() {
			for {
				housekeep()
			}
		}()
	}
	items, err := e.List(ctx, DefaultStore, "")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, it := range items {
		live = append(live, it.Name)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for {
		seed := uint64(time.Now().UnixNano())
		put(t, e, DefaultStore, fmt.Sprint(seed), crashItem(seed))
		say("ACK %d", seed)
		live = append(live, fmt.Sprint(seed))
		if len(live) > 6 {
			k := r.IntN(len(live) - 1)
			name := live[k]
			live = append(live[:k], live[k+1:]...)
			say("DELETING %s", name)
			if err := e.Delete(ctx, DefaultStore, name); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
		if !concurrent {
			housekeep()
		}
	}
}

// TestRecompressCrash kills a process at random instants while
// housekeeping recompresses beside writes and deletes, and checks after
// each kill that every acknowledged item not deleted reads back
// byte-identical, that no volume range is lost to a container nobody
// records, and, at the end, that one more housekeeping run leaves nothing
// to reclaim.
func TestRecompressCrash(t *testing.T) { recompressCrash(t) }

// TestRecompressConcurrentWriters is TestRecompressCrash with housekeeping
// recompressing beside the writes. It reproduces a known bug: about one
// run in eight (-short) an acknowledged item loses a chunk, which a run
// found dead and deleted from the index (issue 16's note has the trace).
// Until that is fixed recompression runs only offline, and this test runs
// only when asked: BACKSTOP_REPRO_RECOMPRESS_RACE=1.
func TestRecompressConcurrentWriters(t *testing.T) {
	if os.Getenv("BACKSTOP_REPRO_RECOMPRESS_RACE") != "1" {
		t.Skip("known bug, reproduced with BACKSTOP_REPRO_RECOMPRESS_RACE=1 (docs/decisions.md, Compression)")
	}
	t.Setenv("BACKSTOP_RC_CONCURRENT", "1")
	recompressCrash(t)
}

func recompressCrash(t *testing.T) {
	runs := 20
	if testing.Short() {
		runs = 4
	}
	dir := t.TempDir()
	acked, deleted := map[uint64]bool{}, map[uint64]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	ctx := context.Background()
	for run := range runs {
		take := func(l string) {
			var seed uint64
			if _, err := fmt.Sscanf(l, "ACK %d", &seed); err == nil {
				acked[seed] = true
			} else if _, err := fmt.Sscanf(l, "DELETING %d", &seed); err == nil {
				deleted[seed] = true
			} else if len(l) > 5 && l[:5] == "RCERR" {
				t.Errorf("run %d: housekeeping failed: %s", run, l)
			}
		}
		killChild(t, "TestRecompressCrashChild", "BACKSTOP_RC_CRASH_DIR="+dir, time.Duration(400+rng.IntN(1600))*time.Millisecond, take)
		e := openTest(t, dir, recompressCrashOptions())
		for seed := range acked {
			name := fmt.Sprint(seed)
			if deleted[seed] {
				if _, err := e.Stat(ctx, DefaultStore, name); err != nil {
					continue // deleted, or being deleted when killed
				}
			}
			if got := get(t, e, DefaultStore, name); !bytes.Equal(got, crashItem(seed)) {
				t.Fatalf("run %d: item %d damaged after a crash during recompression", run, seed)
			}
		}
		if st := e.Stats(); e.vols.Used() != st.StoredBytes {
			t.Errorf("run %d: volumes count %d bytes used, containers hold %d", run, e.vols.Used(), st.StoredBytes)
		}
		e.Close()
	}
	e := openTest(t, dir, recompressCrashOptions())
	defer e.Close()
	by := codecBytes(t, e)
	if by[container.Zstd] == 0 {
		t.Fatalf("no chunk was ever recompressed: %v", by)
	}
	rep, err := e.Housekeep(ctx, HousekeepingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanHousekeeping(ctx, DefaultHousekeepingThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Empty != 0 || plan.Rewrite != 0 || e.vols.Used() != e.Stats().StoredBytes {
		t.Fatalf("space left after the last housekeeping: plan %+v, volumes %d, containers %d", plan, e.vols.Used(), e.Stats().StoredBytes)
	}
	rep2, err := e.Verify(ctx, nil)
	if err != nil || len(rep2.Damage) > 0 {
		t.Fatalf("verify: %v %+v", err, rep2.Damage)
	}
	t.Logf("%d runs, %d items written, %d deleted; codecs %v; final housekeeping %+v", runs, len(acked), len(deleted), by, rep)
}

package cartridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/testclock"
)

// retentionEngine is an engine on clock whose store "vtl" keeps items
// for days.
func retentionEngine(t *testing.T, clock *testclock.Clock, days int) *chunkstore.Engine {
	t.Helper()
	o := chunkstore.DefaultOptions()
	o.Workers, o.Now = 2, clock.Now
	eng, err := chunkstore.Open(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if _, err := eng.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetStoreOptions("vtl", chunkstore.StoreOptions{ImmutableDays: days}); err != nil {
		t.Fatal(err)
	}
	return eng
}

// A cartridge of an immutable store behaves as WORM media while its data
// is under retention: appends only, no overwrite, no erase.
func TestRetainedCartridge(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	eng := retentionEngine(t, clock, 1)
	tp := mustOpen(t, eng, Options{ImmutableDays: 1, Now: clock.Now})
	writeFiles(t, tp, []int{2}, []int{512})
	if err := tp.Rewind(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"relabel: write at BOT", func() error { return tp.Write(ctx, []byte("VOL1")) }},
		{"filemark at BOT", func() error { return tp.WriteFilemarks(ctx, 1) }},
		{"erase", func() error { return tp.Erase(ctx) }},
	} {
		err := tc.op()
		if !errors.Is(err, ErrRetained) || !errors.Is(err, chunkstore.ErrImmutable) {
			t.Fatalf("%s: %v, want ErrRetained", tc.name, err)
		}
	}
	if tp.Map().Objects() != 3 {
		t.Fatalf("%d objects after the refusals, want 3", tp.Map().Objects())
	}
	if err := tp.SpaceEOD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("an append")); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := tp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	tp = mustOpen(t, eng, Options{ImmutableDays: 1, Now: clock.Now})
	if err := tp.Erase(ctx); err != nil {
		t.Fatalf("erase after the retention: %v", err)
	}
	if tp.Map().Objects() != 0 {
		t.Fatalf("%d objects after the erase", tp.Map().Objects())
	}
}

func TestLocked(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	eng := retentionEngine(t, clock, 1)
	tp := mustOpen(t, eng, Options{Now: clock.Now})
	writeFiles(t, tp, []int{1}, []int{512})
	if err := tp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		barcode string
		worm    bool
		days    int
		after   time.Duration
		want    error
	}{
		{"blank", "BLANK01L6", true, 1, 0, nil},
		{"WORM with data", "TAPE01L6", true, 0, 0, ErrWORM},
		{"WORM after the retention", "TAPE01L6", true, 1, 48 * time.Hour, ErrWORM},
		{"retained", "TAPE01L6", false, 1, 0, ErrRetained},
		{"retention ended", "TAPE01L6", false, 1, 25 * time.Hour, nil},
		{"no retention", "TAPE01L6", false, 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Locked(ctx, eng, "vtl", tc.barcode, tc.worm, tc.days, clock.Now().Add(tc.after))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("locked: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, chunkstore.ErrImmutable) {
				t.Fatalf("locked: %v, want %v and chunkstore.ErrImmutable", err, tc.want)
			}
		})
	}
}

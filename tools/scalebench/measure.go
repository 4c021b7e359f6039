package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// row is what one step measured.
type row struct {
	build         buildStats
	Items         int64   `json:"items"`
	Chunks        int64   `json:"chunks"`
	StoredBytes   int64   `json:"stored_bytes"`
	OpenMs        float64 `json:"open_ms"`
	OpenFilterMs  float64 `json:"open_filter_ms"` // of which: badger open and Bloom filter rebuild
	RSSMiB        float64 `json:"rss_mib"`
	RSSAnonMiB    float64 `json:"rss_anon_mib"` // of which anonymous (not badger's mapped tables)
	PutMs         float64 `json:"put_ms"`
	GetMs         float64 `json:"get_ms"`
	PageMs        float64 `json:"page_ms"`
	WholeMs       float64 `json:"whole_store_page_ms"`
	HousekeepSGiB float64 `json:"housekeep_s_per_gib"`
	VerifySGiB    float64 `json:"verify_s_per_gib"`
	IndexPerChunk float64 `json:"index_bytes_per_chunk"`
}

// pageSize is the web console's default item page (web/items.go).
const pageSize = 50

// measureStep opens dir and measures it, in this order so that each figure
// sees the engine as a user's request would: open, RSS at rest, small puts
// and gets, list pages, then the maintenance runs.
func measureStep(ctx context.Context, dir string, samples int) (row, error) {
	var r row
	start := time.Now()
	phases := newPhaseLog(start)
	o := engineOptions()
	o.Logger = slog.New(phases)
	e, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		return r, err
	}
	r.OpenMs = ms(time.Since(start))
	r.OpenFilterMs = phases.since("filter loaded")
	defer e.Close()
	runtime.GC()
	debug.FreeOSMemory()
	r.RSSMiB, _ = procStatus("VmRSS")
	r.RSSAnonMiB, _ = procStatus("RssAnon")
	st := e.Stats()
	r.Items, r.StoredBytes = st.Items, st.StoredBytes
	if r.PutMs, err = timePuts(ctx, e, samples); err != nil {
		return r, err
	}
	if r.GetMs, err = timeGets(ctx, e, r.Items, samples); err != nil {
		return r, err
	}
	if r.PageMs, err = median(samples, func() error { return firstPage(ctx, e) }); err != nil {
		return r, err
	}
	if r.WholeMs, err = median(3, func() error { return wholeStorePage(ctx, e) }); err != nil {
		return r, err
	}
	gib := float64(r.StoredBytes) / (1 << 30)
	hk, err := median(1, func() error {
		_, err := e.Housekeep(ctx, chunkstore.HousekeepingOptions{NoThrottle: true})
		return err
	})
	if err != nil {
		return r, err
	}
	r.HousekeepSGiB = hk / 1000 / gib
	vf, err := median(1, func() error {
		_, err := e.Verify(ctx, nil)
		return err
	})
	if err != nil {
		return r, err
	}
	r.VerifySGiB = vf / 1000 / gib
	items, err := e.List(ctx, chunkstore.DefaultStore, "")
	if err != nil {
		return r, err
	}
	for _, it := range items {
		r.Chunks += it.Chunks
	}
	if err := e.Close(); err != nil {
		return r, err
	}
	idx, err := diskUsage(filepath.Join(dir, "index"))
	if err != nil {
		return r, err
	}
	r.IndexPerChunk = float64(idx) / float64(max(r.Chunks, 1))
	return r, nil
}

// firstPage is what GET /api/v1/stores/:name/items does for the first
// page: the page's items, then the bytes each alone holds.
func firstPage(ctx context.Context, e *chunkstore.Engine) error {
	items, _, err := e.ListPage(ctx, chunkstore.DefaultStore, "", "", pageSize)
	if err != nil {
		return err
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	_, err = e.ItemUsage(ctx, chunkstore.DefaultStore, names)
	return err
}

// wholeStorePage is what the same request did before ListPage and
// ItemUsage: every item record, sorted, then Usage over every recipe.
func wholeStorePage(ctx context.Context, e *chunkstore.Engine) error {
	items, err := e.List(ctx, chunkstore.DefaultStore, "")
	if err != nil {
		return err
	}
	slices.SortFunc(items, func(a, b chunkstore.Item) int { return strings.Compare(a.Name, b.Name) })
	_, err = e.Usage(ctx, chunkstore.DefaultStore)
	return err
}

// timePuts writes samples new 4 KiB items, then deletes them.
func timePuts(ctx context.Context, e *chunkstore.Engine, samples int) (float64, error) {
	i := int64(-1)
	m, err := median(samples, func() error {
		i++
		_, err := putItem(ctx, e, fmt.Sprintf("probe/%04d", i), itemData(1<<40+i, 4<<10))
		return err
	})
	for j := int64(0); j <= i; j++ {
		if err := e.Delete(ctx, chunkstore.DefaultStore, fmt.Sprintf("probe/%04d", j)); err != nil {
			return m, err
		}
	}
	return m, err
}

// timeGets reads whole items chosen at random.
func timeGets(ctx context.Context, e *chunkstore.Engine, items int64, samples int) (float64, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	return median(samples, func() error {
		r, err := e.OpenItem(ctx, chunkstore.DefaultStore, itemName(rng.Int64N(items)))
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	})
}

// median runs fn n times and returns the median duration in ms.
func median(n int, fn func() error) (float64, error) {
	d := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		d = append(d, ms(time.Since(start)))
	}
	slices.Sort(d)
	return d[len(d)/2], nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// diskUsage is the space the files under dir take on disk (blocks, not
// sizes: badger preallocates its value log).
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return err
		}
		n += st.Blocks * 512
		return nil
	})
	return n, err
}

// procStatus reads a kB field of /proc/self/status, in MiB.
func procStatus(field string) (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		return kb / 1024, err
	}
	return 0, fmt.Errorf("/proc/self/status: no %s", field)
}

package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGrowth(t *testing.T) {
	xs := []float64{1e4, 1e5, 1e6}
	for _, tc := range []struct {
		ys   []float64
		want string
	}{
		{[]float64{1, 5, 5.2}, "constant"},
		{[]float64{1, 2, 3}, "logarithmic"},
		{[]float64{1, 10, 100}, "linear"},
		{[]float64{1, 10, 40}, "sub-linear"},
		{[]float64{1, 0, 1}, "n/a"},
	} {
		if got := growth(xs, tc.ys); !strings.HasPrefix(got, tc.want) {
			t.Errorf("growth %v: %s, want %s", tc.ys, got, tc.want)
		}
	}
}

func TestCounts(t *testing.T) {
	got, err := counts("1e3, 20000")
	if err != nil || len(got) != 2 || got[0] != 1000 || got[1] != 20000 {
		t.Fatalf("counts: %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "0", "1e3,,2"} {
		if _, err := counts(bad); err == nil {
			t.Errorf("counts(%q) accepted", bad)
		}
	}
}

// TestBuildMeasureReport grows a tiny store in two steps, measures each in
// this process and writes the report: every measure is filled in and every
// plot is a PNG.
func TestBuildMeasureReport(t *testing.T) {
	ctx := context.Background()
	dir, out := filepath.Join(t.TempDir(), "data"), t.TempDir()
	b, err := newBuilder(ctx, dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, step := range [][2]int64{{200, 20}, {600, 60}} {
		st, err := b.grow(ctx, step[0], step[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := b.close(); err != nil {
			t.Fatal(err)
		}
		r, err := measureStep(ctx, dir, 3)
		if err != nil {
			t.Fatal(err)
		}
		r.build = st
		if r.Items != step[1] || r.Chunks < step[0]/2 || r.Chunks > step[0]*2 {
			t.Fatalf("step %v: %d items, %d chunks", step, r.Items, r.Chunks)
		}
		for _, m := range measures() {
			if m.get(r) <= 0 {
				t.Fatalf("step %v: %s is %v", step, m.name, m.get(r))
			}
		}
		rows = append(rows, r)
		if err := b.reopen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.grow(ctx, 100, 10); err == nil {
		t.Fatal("a step that shrinks the store was accepted")
	}
	if err := report(out, rows); err != nil {
		t.Fatal(err)
	}
	for _, m := range measures() {
		if m.file == "" {
			continue
		}
		f, err := os.Open(filepath.Join(out, m.file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Fatalf("%s: %v", m.file, err)
		}
		f.Close()
	}
	md, err := os.ReadFile(filepath.Join(out, "scale-table.md"))
	if err != nil || !strings.Contains(string(md), "first list page") {
		t.Fatalf("table: %v\n%s", err, md)
	}
}

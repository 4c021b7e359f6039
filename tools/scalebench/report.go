package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// measure is one column of the report and one plot.
type measure struct {
	name, unit, file string
	get              func(r row) float64
}

func measures() []measure {
	return []measure{
		{"start-up (Open)", "ms", "scale-open.png", func(r row) float64 { return r.OpenMs }},
		{"of which badger open + Bloom filter rebuild", "ms", "", func(r row) float64 { return r.OpenFilterMs }},
		{"RSS at rest", "MiB", "scale-rss.png", func(r row) float64 { return r.RSSMiB }},
		{"of which anonymous (not mapped index files)", "MiB", "", func(r row) float64 { return r.RSSAnonMiB }},
		{"RSS while building", "MiB", "", func(r row) float64 { return r.build.IngestRSSMi }},
		{"small put (4 KiB)", "ms", "scale-put.png", func(r row) float64 { return r.PutMs }},
		{"small get", "ms", "scale-get.png", func(r row) float64 { return r.GetMs }},
		{"first list page + freed-if-deleted", "ms", "scale-page.png", func(r row) float64 { return r.PageMs }},
		{"same page, whole-store path (before)", "ms", "", func(r row) float64 { return r.WholeMs }},
		{"housekeeping", "s/GiB", "scale-housekeeping.png", func(r row) float64 { return r.HousekeepSGiB }},
		{"verify", "s/GiB", "scale-verify.png", func(r row) float64 { return r.VerifySGiB }},
		{"index on disk", "B/chunk", "scale-index.png", func(r row) float64 { return r.IndexPerChunk }},
	}
}

// growth names how y grows with x between the second point (10^5 chunks
// by default) and the last: the exponent b of y ~ x^b from their ratio.
// Under 0.1 per decade it is flat; under 0.35 logarithmic or close; from
// 0.8 linear.
func growth(xs, ys []float64) string {
	i := min(1, len(xs)-2)
	j := len(xs) - 1
	if i < 0 || ys[i] <= 0 || ys[j] <= 0 {
		return "n/a"
	}
	b := math.Log(ys[j]/ys[i]) / math.Log(xs[j]/xs[i])
	kind := "sub-linear"
	switch {
	case b < 0.1:
		kind = "constant"
	case b < 0.35:
		kind = "logarithmic"
	case b >= 0.8:
		kind = "linear"
	}
	return fmt.Sprintf("%s (x^%.2f)", kind, b)
}

// report writes scale.csv, scale-table.md and the plots into dir.
func report(dir string, rows []row) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ms := measures()
	xs := make([]float64, len(rows))
	for i, r := range rows {
		xs[i] = float64(r.Chunks)
	}
	if err := writeCSV(filepath.Join(dir, "scale.csv"), ms, rows); err != nil {
		return err
	}
	var md strings.Builder
	md.WriteString("| measure | unit |")
	for _, r := range rows {
		fmt.Fprintf(&md, " %d chunks, %d items |", r.Chunks, r.Items)
	}
	md.WriteString(" growth from the 2nd size |\n|---|---|")
	for range rows {
		md.WriteString("---:|")
	}
	md.WriteString("---|\n")
	for _, m := range ms {
		ys := make([]float64, len(rows))
		fmt.Fprintf(&md, "| %s | %s |", m.name, m.unit)
		for i, r := range rows {
			ys[i] = m.get(r)
			fmt.Fprintf(&md, " %s |", strconv.FormatFloat(ys[i], 'g', 4, 64))
		}
		fmt.Fprintf(&md, " %s |\n", growth(xs, ys))
		if m.file == "" {
			continue
		}
		ss := []series{{x: xs, y: ys, c: blue}}
		if m.file == "scale-page.png" {
			before := make([]float64, len(rows))
			for i, r := range rows {
				before[i] = r.WholeMs
			}
			ss = append(ss, series{x: xs, y: before, c: red})
		}
		if err := writePlot(filepath.Join(dir, m.file), ss); err != nil {
			return err
		}
	}
	fmt.Fprintf(&md, "\nStored GiB: ")
	for _, r := range rows {
		fmt.Fprintf(&md, "%.2f (built in %.0f s, items of %d B); ", float64(r.StoredBytes)/(1<<30), r.build.Seconds, r.build.ItemBytes)
	}
	md.WriteString("\n")
	return os.WriteFile(filepath.Join(dir, "scale-table.md"), []byte(md.String()), 0o644)
}

func writeCSV(path string, ms []measure, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"chunks", "items", "stored_bytes", "build_s"}
	for _, m := range ms {
		head = append(head, m.name+" ("+m.unit+")")
	}
	_ = w.Write(head)
	for _, r := range rows {
		rec := []string{strconv.FormatInt(r.Chunks, 10), strconv.FormatInt(r.Items, 10),
			strconv.FormatInt(r.StoredBytes, 10), strconv.FormatFloat(r.build.Seconds, 'f', 1, 64)}
		for _, m := range ms {
			rec = append(rec, strconv.FormatFloat(m.get(r), 'g', 6, 64))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

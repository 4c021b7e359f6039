package history

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkOpen opens a history whose default tiers are full to their
// bound: what serve pays at start. Run: go test -bench Open ./internal/history/
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	o := DefaultOptions(dir)
	step := []time.Duration{time.Minute, 15 * time.Minute, 2 * time.Hour, 24 * time.Hour}
	for i, t := range o.Tiers {
		keep := int(t.Keep / step[i])
		n := keep + keep/4
		buf := make([]byte, len(magic)+n*recordSize)
		copy(buf, magic)
		start := t0.Add(-time.Duration(n) * step[i])
		for j := range n {
			encode(buf[len(magic)+j*recordSize:], Point{Time: start.Add(time.Duration(j) * step[i]), StoredBytes: int64(j)})
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("tier-%d.hist", i)), buf, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		s, err := Open(o)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

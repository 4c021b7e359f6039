// Command benchdata writes deterministic synthetic backup data for the
// benchmarks: log-like text mixed with binary blocks (about 1.5:1
// with s2), and successive "generations" of it in which about 2% of
// the 1 MiB blocks change from one generation to the next, like nightly
// full backups of a slowly changing system.
//
//	benchdata -size 2G -seed 1 > unique.bin
//	benchdata -size 1G -seed 7 -gen 5 > gen-05.bin
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

const block = 1 << 20

func main() {
	size := flag.String("size", "1G", "bytes to write (K, M, G suffixes)")
	seed := flag.Uint64("seed", 1, "data set")
	gen := flag.Int("gen", 0, "generation: each changes about 2% of the blocks of the one before")
	change := flag.Int("change", 2, "percent of blocks each generation changes")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdata:", err)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 4<<20)
	if err := write(w, n, *seed, *gen, *change); err != nil {
		fmt.Fprintln(os.Stderr, "benchdata:", err)
		os.Exit(1)
	}
}

func write(w *bufio.Writer, n int64, seed uint64, gen, change int) error {
	buf := make([]byte, block)
	for i := int64(0); n > 0; i++ {
		// The block's version is how many generations up to gen touched it.
		version := 0
		for g := 1; g <= gen; g++ {
			if rand.New(rand.NewPCG(seed^uint64(g)<<32, uint64(i))).IntN(100) < change {
				version = g
			}
		}
		fill(buf, rand.New(rand.NewPCG(seed, uint64(i)<<16|uint64(version))))
		k := min(n, block)
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return w.Flush()
}

var (
	hosts    = []string{"db-01", "db-02", "web-01", "web-02", "web-03", "batch-7", "mail", "files"}
	services = []string{"postgres", "nginx", "cron", "sshd", "backupd", "app", "kernel"}
	verbs    = []string{"GET", "PUT", "POST", "DELETE"}
	paths    = []string{"/api/v1/items", "/api/v1/users", "/static/app.js", "/login", "/reports/daily", "/healthz"}
	statuses = []string{"200", "200", "200", "201", "404", "500"}
)

// fill writes one block: three quarters log lines, one quarter binary.
func fill(b []byte, r *rand.Rand) {
	i := 0
	for i < len(b) {
		if r.IntN(4) == 0 {
			k := min(len(b)-i, 512+r.IntN(8192))
			for j := 0; j < k; j += 8 {
				v := r.Uint64()
				for x := j; x < min(j+8, k); x++ {
					b[i+x] = byte(v)
					v >>= 8
				}
			}
			i += k
			continue
		}
		line := make([]byte, 0, 256)
		for lines := 1 + r.IntN(64); lines > 0 && i < len(b); lines-- {
			v := r.Uint64()
			line = append(line[:0], "2026-11-"...)
			line = strconv.AppendUint(line, 10+v%20, 10)
			line = append(line, 'T')
			line = strconv.AppendUint(line, 10+v>>8%14, 10)
			line = append(line, ':')
			line = strconv.AppendUint(line, 10+v>>16%50, 10)
			line = append(line, ':')
			line = strconv.AppendUint(line, 10+v>>24%50, 10)
			line = append(line, ' ')
			line = append(line, hosts[v>>32%uint64(len(hosts))]...)
			line = append(line, ' ')
			line = append(line, services[v>>36%uint64(len(services))]...)
			line = append(line, '[')
			line = strconv.AppendUint(line, v>>40%65536, 10)
			line = append(line, "]: "...)
			line = append(line, verbs[v>>56%uint64(len(verbs))]...)
			line = append(line, ' ')
			line = append(line, paths[v>>58%uint64(len(paths))]...)
			line = append(line, '/')
			w := r.Uint64()
			line = strconv.AppendUint(line, w>>40, 16)
			line = append(line, " status="...)
			line = append(line, statuses[w%uint64(len(statuses))]...)
			line = append(line, " bytes="...)
			line = strconv.AppendUint(line, w>>8%100000, 10)
			line = append(line, " ms="...)
			line = strconv.AppendUint(line, w>>24%900, 10)
			line = append(line, '\n')
			i += copy(b[i:], line)
		}
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	v, err := strconv.ParseInt(strings.TrimRight(s, "KMG"), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

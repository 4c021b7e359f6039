package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// vocabText is n bytes of words from one vocabulary in the order of seed:
// zstd's fastest level stores them in about 0.6 of s2's bytes.
func vocabText(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(1, 11))
	vocab := make([]string, 512)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("%x ", r.Uint64()>>r.IntN(48))
	}
	r = rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, 0, n+32)
	for len(b) < n {
		b = append(b, vocab[r.IntN(len(vocab))]...)
	}
	return b[:n]
}

// slowStdin hands out 64 KiB every pause, as a slow network would.
type slowStdin struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowStdin) Read(b []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(b[:min(len(b), 64<<10)])
}

// TestPutServerCompressesWithZstdWhenTheSourceIsSlow: put --server from a
// source that keeps the client waiting most of the time stores zstd
// records (about 0.6 of s2's bytes after the first 4 MiB window), against
// the same kind of source with --compression s2. A source that is always
// ready stays on s2 in catalyst's TestAutoCompressionFollowsTheSource,
// with a test clock: here, on a loaded machine, a read from the page cache
// may wait for a CPU, which the policy counts as waiting, so it is only
// logged.
func TestPutServerCompressesWithZstdWhenTheSourceIsSlow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := serveInProcess(t, dir)
	t.Setenv("BACKSTOP_PASSWORD", "catalyst-test-pw")
	remote := []string{"--server", addr, "--ca", filepath.Join(dir, "tls", "cert.pem")}
	const n = 12 << 20
	newOnDisk := regexp.MustCompile(`([0-9.]+) MiB new on disk`)
	// put stores data as item name and returns its new bytes on disk per
	// byte.
	put := func(name string, stdin io.Reader, args ...string) float64 {
		t.Helper()
		var out, errs bytes.Buffer
		code := run(append(append([]string{"put", name, "-"}, remote...), args...), stdin, &out, &errs)
		m := newOnDisk.FindStringSubmatch(out.String())
		if code != 0 || m == nil {
			t.Fatalf("put %s: %d %q %q", name, code, out.String(), errs.String())
		}
		mib, _ := strconv.ParseFloat(m[1], 64)
		return mib * (1 << 20) / n
	}
	src := filepath.Join(t.TempDir(), "fast.bin")
	if err := os.WriteFile(src, vocabText(1, n), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ready := put("fast", f)
	pause := 25 * time.Millisecond
	slow := put("slow", &slowStdin{r: bytes.NewReader(vocabText(2, n)), pause: pause})
	s2 := put("fixed", &slowStdin{r: bytes.NewReader(vocabText(3, n)), pause: pause}, "--compression", "s2")
	t.Logf("new bytes on disk per byte: slow source %.3f, slow with --compression s2 %.3f, ready source %.3f", slow, s2, ready)
	if slow > 0.85*s2 {
		t.Fatalf("a slow source stored %.3f of its bytes, with --compression s2 %.3f: zstd not used", slow, s2)
	}
}

package chunker

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/zeebo/blake3"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in testdata/")

// rabinTestPol is an irreducible polynomial of degree 53 other than the
// default, found with restic's DerivePolynomial from a splitmix64 stream.
const rabinTestPol = 0x34930f702b6453

// goldenCases lists the parameter sets whose boundaries over goldenInput are
// pinned in testdata/golden-<name>.txt. Changing an entry's Params
// changes its file; the boundary rule of a released Algorithm must not.
func goldenCases() []namedParams {
	gear := func(minSize, avg, maxSize int, seed uint64) Params {
		return Params{Algorithm: Gear, Min: minSize, Avg: avg, Max: maxSize, Seed: seed}
	}
	rabin := func(minSize, avg, maxSize int, seed uint64) Params {
		return Params{Algorithm: Rabin, Min: minSize, Avg: avg, Max: maxSize, Seed: seed}
	}
	const k = 1 << 10
	return []namedParams{
		{"default", DefaultParams()},
		{"gear-4k", gear(1*k, 4*k, 16*k, 0)},
		{"gear-16k", gear(4*k, 16*k, 64*k, 0)},
		{"gear-64k", gear(16*k, 64*k, 256*k, 0)},
		{"gear-256k", gear(64*k, 256*k, 1024*k, 0)},
		{"gear-seed", gear(16*k, 64*k, 256*k, 0x5eed5eed5eed5eed)},
		{"gear-odd", gear(1000, 8*k, 20000, 0)},
		{"rabin-4k", rabin(1*k, 4*k, 16*k, 0)},
		{"rabin-16k", rabin(4*k, 16*k, 64*k, 0)},
		{"rabin-64k", rabin(16*k, 64*k, 256*k, 0)},
		{"rabin-256k", rabin(64*k, 256*k, 1024*k, 0)},
		{"rabin-seed", rabin(16*k, 64*k, 256*k, rabinTestPol)},
	}
}

// goldenText renders chunks as the golden file format: one line per chunk,
// "length hexhash", the hash being the unkeyed BLAKE3-256 of the chunk.
func goldenText(chunks [][]byte) string {
	var sb strings.Builder
	for _, c := range chunks {
		sum := blake3.Sum256(c)
		fmt.Fprintf(&sb, "%d %s\n", len(c), hex.EncodeToString(sum[:]))
	}
	return sb.String()
}

// TestGolden pins the boundary rules. Run with -update to rewrite the files,
// and only for a deliberate change of DefaultParams or a new case.
func TestGolden(t *testing.T) {
	input := goldenInput()
	if len(input) != goldenInputSize {
		t.Fatalf("golden input has %d bytes, want %d", len(input), goldenInputSize)
	}
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			chunks := mustChunk(t, bytes.NewReader(input), tc.p)
			checkChunks(t, input, chunks, tc.p)
			got := goldenText(chunks)
			path := filepath.Join("testdata", "golden-"+tc.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			compareGolden(t, path, got, string(want))
		})
	}
}

// compareGolden reports the first line where got and want differ.
func compareGolden(t *testing.T, path, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s: line %d: got %q, want %q (%d vs %d chunks)",
				path, i+1, gl, wl, len(g)-1, len(w)-1)
		}
	}
}

// TestReadSizesDoNotMatter chunks a prefix of the golden input through
// readers that split it into reads of many sizes and checks that the
// boundaries are those of a single bytes.Reader. The readers with tiny reads
// get a shorter prefix, to keep the test fast under -race.
func TestReadSizesDoNotMatter(t *testing.T) {
	long, short := 3<<20, 1<<20
	if testing.Short() {
		long = short
	}
	golden := goldenInput()
	wraps := []struct {
		name string
		size int
		mk   func([]byte) io.Reader
	}{
		{"one-byte", short, func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
		{"short-17", short, func(b []byte) io.Reader {
			return &shortReader{r: bytes.NewReader(b), max: 17, state: 1}
		}},
		{"half", long, func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
		{"data-err", long, func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
		{"short-100k", long, func(b []byte) io.Reader {
			return &shortReader{r: bytes.NewReader(b), max: 100 << 10, state: 2}
		}},
	}
	for _, tc := range goldenCases() {
		for _, w := range wraps {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				input := golden[:w.size]
				want := lengths(mustChunk(t, bytes.NewReader(input), tc.p))
				chunks := mustChunk(t, w.mk(input), tc.p)
				checkChunks(t, input, chunks, tc.p)
				if got := lengths(chunks); !slices.Equal(got, want) {
					t.Fatalf("boundaries differ from a bytes.Reader's:\ngot  %v\nwant %v", got, want)
				}
			})
		}
	}
}

package chunker

import (
	"bytes"
	"io"
	"testing"
)

// Test data comes from splitmix64 streams (the generator the gear table uses,
// tested against the reference outputs in TestSplitmix64), so it is the same
// on every platform and Go release.

// namedParams is a parameter set with a test name.
type namedParams struct {
	name string
	p    Params
}

// randomBytes returns n pseudo-random bytes: the little-endian outputs of a
// splitmix64 stream started from seed.
func randomBytes(seed uint64, n int) []byte {
	out := make([]byte, n)
	state := seed
	for i := 0; i < n; i += 8 {
		v := splitmix64(&state)
		for j := 0; j < 8 && i+j < n; j++ {
			out[i+j] = byte(v >> (8 * j))
		}
	}
	return out
}

// goldenInputSize is the length of goldenInput.
const goldenInputSize = 8 << 20

// goldenInput returns the 8 MiB input of the golden vectors: random data with
// low-entropy segments (zeros, repeated text, words from a small vocabulary,
// a repeated random block, a run of one byte value) in between.
func goldenInput() []byte {
	const (
		kib = 1 << 10
		mib = 1 << 20
	)
	var buf bytes.Buffer
	buf.Grow(goldenInputSize)
	buf.Write(randomBytes(1, 1*mib+123))
	buf.Write(make([]byte, 300*kib+7))
	buf.Write(randomBytes(2, 700*kib))
	buf.Write(repeatedText(900*kib + 11))
	buf.Write(randomBytes(3, 1*mib+5))
	buf.Write(vocabularyText(4, 1*mib))
	block := randomBytes(5, 5000)
	for range 100 {
		buf.Write(block)
	}
	buf.Write(bytes.Repeat([]byte{0xa5}, 200*kib))
	buf.Write(randomBytes(6, goldenInputSize-buf.Len()))
	return buf.Bytes()
}

// repeatedText returns n bytes of one English sentence repeated.
func repeatedText(n int) []byte {
	s := []byte("Backstop keeps every version of every file, and stores each chunk once. ")
	return bytes.Repeat(s, n/len(s)+1)[:n]
}

// vocabularyText returns n bytes of words drawn pseudo-randomly from a small
// vocabulary: compressible text without a short period.
func vocabularyText(seed uint64, n int) []byte {
	words := []string{
		"the", "backup", "of", "a", "file", "is", "split", "into", "chunks",
		"and", "each", "chunk", "stored", "once", "when", "data", "changes",
		"only", "new", "are", "written", "\n",
	}
	out := make([]byte, 0, n+16)
	state := seed
	for len(out) < n {
		out = append(out, words[splitmix64(&state)%uint64(len(words))]...)
		out = append(out, ' ')
	}
	return out[:n]
}

// shortReader returns 1 to max bytes per Read, sizes drawn from a splitmix64
// stream, to check that read sizes do not move boundaries.
type shortReader struct {
	r     io.Reader
	max   int
	state uint64
}

func (s *shortReader) Read(p []byte) (int, error) {
	n := 1 + int(splitmix64(&s.state)%uint64(s.max))
	if len(p) > n {
		p = p[:n]
	}
	return s.r.Read(p)
}

// chunkAll reads every chunk of c and returns copies of them and the first
// error other than io.EOF.
func chunkAll(c Chunker) ([][]byte, error) {
	var chunks [][]byte
	for {
		b, err := c.Next()
		if err == io.EOF { // the contract promises io.EOF itself
			return chunks, nil
		}
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, bytes.Clone(b))
	}
}

// mustChunk chunks r with p and fails the test on any error.
func mustChunk(t testing.TB, r io.Reader, p Params) [][]byte {
	t.Helper()
	c, err := New(r, p)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	chunks, err := chunkAll(c)
	if err != nil {
		t.Fatalf("chunking with %+v: %v", p, err)
	}
	return chunks
}

// lengths returns the length of each chunk.
func lengths(chunks [][]byte) []int {
	out := make([]int, len(chunks))
	for i, c := range chunks {
		out[i] = len(c)
	}
	return out
}

// checkChunks fails the test unless chunks concatenate to data and all but
// the last are within [Min, Max] (the last within [1, Max]).
func checkChunks(t testing.TB, data []byte, chunks [][]byte, p Params) {
	t.Helper()
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
		t.Fatalf("chunks concatenate to %d bytes that differ from the %d input bytes",
			len(got), len(data))
	}
	for i, c := range chunks {
		lo := p.Min
		if i == len(chunks)-1 {
			lo = 1
		}
		if len(c) < lo || len(c) > p.Max {
			t.Fatalf("chunk %d of %d has length %d, outside [%d, %d]",
				i, len(chunks), len(c), lo, p.Max)
		}
	}
}

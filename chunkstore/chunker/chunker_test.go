package chunker

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	rchunker "github.com/restic/chunker"
	"github.com/zeebo/blake3"
)

// smallParams are the parameter sets of the edge-case tests.
func smallParams() []namedParams {
	return []namedParams{
		{"gear-default", DefaultParams()},
		{"gear-4k", Params{Algorithm: Gear, Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}},
		{"gear-tiny", Params{Algorithm: Gear, Min: 64, Avg: 1 << 10, Max: 1025, Seed: 7}},
		{"rabin-64k", Params{Algorithm: Rabin, Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}},
		{"rabin-4k", Params{Algorithm: Rabin, Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}},
	}
}

func TestSplitmix64(t *testing.T) {
	// Reference outputs of SplitMix64 from state 0 (Vigna's splitmix64.c).
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	var state uint64
	for i, w := range want {
		if got := splitmix64(&state); got != w {
			t.Fatalf("output %d = %#x, want %#x", i, got, w)
		}
	}
}

func TestGearTable(t *testing.T) {
	a, b := newGearTable(0), newGearTable(1)
	if a != defaultGearTable {
		t.Fatal("newGearTable(0) differs from defaultGearTable")
	}
	if a == b {
		t.Fatal("seeds 0 and 1 give the same table")
	}
}

// TestGearScan checks the unrolled scan against the plain loop.
func TestGearScan(t *testing.T) {
	tab := &defaultGearTable
	data := randomBytes(9, 4096)
	state := uint64(10)
	for _, width := range []int{1, 3, 8, 12, 25} {
		mask := ^uint64(0) << (64 - width)
		for n := 0; n <= 300; n++ {
			fp := splitmix64(&state)
			p := data[n : 2*n]
			gotK, gotFP := gearScan(tab, p, fp, mask)
			wantK, wantFP := 0, fp
			for i, b := range p {
				if wantFP = wantFP<<1 + tab[b]; wantFP&mask == 0 {
					wantK = i + 1
					break
				}
			}
			if gotK != wantK || gotFP != wantFP {
				t.Fatalf("width %d, n %d: got (%d, %#x), want (%d, %#x)",
					width, n, gotK, gotFP, wantK, wantFP)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	const k = 1 << 10
	ok := func(alg Algorithm, minSize, avg, maxSize int, seed uint64) Params {
		return Params{Algorithm: alg, Min: minSize, Avg: avg, Max: maxSize, Seed: seed}
	}
	tests := []struct {
		name    string
		p       Params
		wantErr string // substring; "" means valid
	}{
		{"default", DefaultParams(), ""},
		{"gear smallest", ok(Gear, 64, 1*k, 1*k+1, 0), ""},
		{"gear largest", ok(Gear, 8<<20-1, 8<<20, 64<<20, 1), ""},
		{"gear any seed", ok(Gear, 1*k, 4*k, 16*k, 0xffffffffffffffff), ""},
		{"rabin default pol", ok(Rabin, 1*k, 4*k, 16*k, 0), ""},
		{"rabin custom pol", ok(Rabin, 1*k, 4*k, 16*k, rabinTestPol), ""},
		{"rabin reducible pol", ok(Rabin, 1*k, 4*k, 16*k, 1<<53|1), "not an irreducible"},
		{"rabin low degree pol", ok(Rabin, 1*k, 4*k, 16*k, 0x11b), "not an irreducible"},
		{"unknown algorithm", ok("gear-v0", 1*k, 4*k, 16*k, 0), "unknown algorithm"},
		{"empty algorithm", ok("", 1*k, 4*k, 16*k, 0), "unknown algorithm"},
		{"avg not power of two", ok(Gear, 1*k, 3*k, 16*k, 0), "avg"},
		{"avg too small", ok(Gear, 64, 512, 16*k, 0), "avg"},
		{"avg too large", ok(Gear, 1*k, 16<<20, 32<<20, 0), "avg"},
		{"min too small", ok(Gear, 63, 4*k, 16*k, 0), "min"},
		{"min equals avg", ok(Gear, 4*k, 4*k, 16*k, 0), "min"},
		{"max equals avg", ok(Gear, 1*k, 4*k, 4*k, 0), "max"},
		{"max too large", ok(Gear, 1*k, 4*k, 64<<20+1, 0), "max"},
		{"zero", Params{}, "unknown algorithm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			_, newErr := New(strings.NewReader("x"), tc.p)
			if tc.wantErr == "" {
				if err != nil || newErr != nil {
					t.Fatalf("Validate() = %v, New() error = %v; want both nil", err, newErr)
				}
				return
			}
			if !errors.Is(err, ErrParams) || !errors.Is(newErr, ErrParams) {
				t.Fatalf("Validate() = %v, New() error = %v; want both to wrap ErrParams", err, newErr)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "chunker: ") || !strings.Contains(msg, tc.wantErr) {
				t.Fatalf("Validate() = %q, want prefix %q and %q", msg, "chunker: ", tc.wantErr)
			}
		})
	}
}

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	want := Params{Algorithm: Gear, Min: DefaultAvg / 4, Avg: DefaultAvg, Max: DefaultAvg * 4}
	if p != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", p, want)
	}
	pol := rchunker.Pol(defaultPol)
	if pol.Deg() != rabinDeg || !pol.Irreducible() {
		t.Fatalf("default Rabin polynomial %v is not irreducible of degree %d", pol, rabinDeg)
	}
}

// TestEdgeInputs covers inputs around the size limits.
func TestEdgeInputs(t *testing.T) {
	for _, pc := range smallParams() {
		p := pc.p
		inputs := []struct {
			name string
			data []byte
		}{
			{"empty", nil},
			{"one byte", []byte{42}},
			{"below min", randomBytes(11, p.Min-1)},
			{"exactly min", randomBytes(12, p.Min)},
			{"exactly max", randomBytes(13, p.Max)},
			{"max plus one", randomBytes(14, p.Max+1)},
			{"random 40 max", randomBytes(15, 40*p.Max)},
			{"text 10 max", repeatedText(10 * p.Max)},
		}
		for _, in := range inputs {
			t.Run(pc.name+"/"+in.name, func(t *testing.T) {
				chunks := mustChunk(t, bytes.NewReader(in.data), p)
				checkChunks(t, in.data, chunks, p)
				if len(in.data) > 0 && len(in.data) <= p.Min && len(chunks) != 1 {
					t.Fatalf("%d bytes gave %d chunks, want 1", len(in.data), len(chunks))
				}
			})
		}
		t.Run(pc.name+"/empty is EOF at once", func(t *testing.T) {
			c, err := New(bytes.NewReader(nil), p)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if b, err := c.Next(); err != io.EOF || b != nil {
					t.Fatalf("Next() = %d bytes, %v; want 0 bytes, io.EOF", len(b), err)
				}
			}
		})
	}
}

// TestZeros checks long zero runs: Gear cuts them at Max, Rabin (whose
// fingerprint of 64 zero bytes is zero) at Min.
func TestZeros(t *testing.T) {
	for _, pc := range smallParams() {
		t.Run(pc.name, func(t *testing.T) {
			p := pc.p
			data := make([]byte, 10*p.Max)
			chunks := mustChunk(t, bytes.NewReader(data), p)
			checkChunks(t, data, chunks, p)
			want := p.Max
			if p.Algorithm == Rabin {
				want = p.Min
			}
			for i, c := range chunks[:len(chunks)-1] {
				if len(c) != want {
					t.Fatalf("chunk %d has length %d, want %d", i, len(c), want)
				}
			}
			if n := (len(data) + want - 1) / want; len(chunks) != n {
				t.Fatalf("%d chunks, want %d", len(chunks), n)
			}
		})
	}
}

// TestGearByteRuns pins how the default table cuts runs of one byte value,
// as the package doc states.
func TestGearByteRuns(t *testing.T) {
	for _, avg := range []int{1 << 10, 2 << 10} {
		p := Params{Algorithm: Gear, Min: avg / 4, Avg: avg, Max: avg * 4}
		for c := range 256 {
			data := bytes.Repeat([]byte{byte(c)}, 3*p.Max)
			want := p.Max
			if avg == 1<<10 && c == 0x3a {
				want = p.Avg
			}
			for i, n := range lengths(mustChunk(t, bytes.NewReader(data), p)) {
				if n != want {
					t.Fatalf("avg %d, byte %#x: chunk %d has length %d, want %d",
						avg, c, i, n, want)
				}
			}
		}
	}
}

// errAfter returns a reader of data that then fails with err.
func errAfter(data []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(err))
}

func TestReadErrors(t *testing.T) {
	errBoom := errors.New("boom")
	for _, pc := range smallParams() {
		p := pc.p
		data := randomBytes(16, 12*p.Max)
		readers := []struct {
			name string
			r    io.Reader
			want error
		}{
			{"err at once", iotest.ErrReader(errBoom), errBoom},
			{"err after data", errAfter(data, errBoom), errBoom},
			{"err after short data", errAfter(data[:p.Min/2], errBoom), errBoom},
			{"timeout", iotest.TimeoutReader(bytes.NewReader(data)), iotest.ErrTimeout},
			{"timeout one byte", iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(data))), iotest.ErrTimeout},
		}
		for _, rc := range readers {
			t.Run(pc.name+"/"+rc.name, func(t *testing.T) {
				c, err := New(rc.r, p)
				if err != nil {
					t.Fatal(err)
				}
				chunks, err := chunkAll(c)
				if !errors.Is(err, rc.want) {
					t.Fatalf("got error %v after %d chunks, want %v", err, len(chunks), rc.want)
				}
				if got := bytes.Join(chunks, nil); !bytes.HasPrefix(data, got) {
					t.Fatal("chunks before the error are not a prefix of the input")
				}
				if _, err := c.Next(); !errors.Is(err, rc.want) {
					t.Fatalf("Next after the error = %v, want %v again", err, rc.want)
				}
			})
		}
	}
}

// badReader claims to have read n bytes without reading anything.
type badReader struct{ n int }

func (b badReader) Read(p []byte) (int, error) { return b.n, nil }

// TestGearBadReaders covers readers that break the io.Reader contract.
func TestGearBadReaders(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"no progress", badReader{0}, io.ErrNoProgress},
		{"negative count", badReader{-1}, errBadRead},
		{"count too large", badReader{1 << 30}, errBadRead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.r, DefaultParams())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Next(); !errors.Is(err, tc.want) {
				t.Fatalf("Next() error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestChunkCapacity checks that appending to a returned chunk cannot
// overwrite the bytes of the next one.
func TestChunkCapacity(t *testing.T) {
	for _, pc := range smallParams() {
		t.Run(pc.name, func(t *testing.T) {
			data := randomBytes(17, 4*pc.p.Max)
			c, err := New(bytes.NewReader(data), pc.p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if cap(b) != len(b) {
				t.Fatalf("chunk has len %d but cap %d", len(b), cap(b))
			}
		})
	}
}

// TestShiftResistance inserts 100 bytes at the front of random data and
// checks that at least 95% of the shifted data's bytes are in chunks that the
// original also has.
func TestShiftResistance(t *testing.T) {
	n := 32 << 20
	if testing.Short() {
		n = 8 << 20
	}
	orig := randomBytes(18, n)
	shifted := append(randomBytes(19, 100), orig...)
	const k = 1 << 10
	for _, pc := range []namedParams{
		{"gear-default", DefaultParams()},
		{"gear-16k", Params{Algorithm: Gear, Min: 4 * k, Avg: 16 * k, Max: 64 * k}},
		{"rabin-64k", Params{Algorithm: Rabin, Min: 16 * k, Avg: 64 * k, Max: 256 * k}},
	} {
		t.Run(pc.name, func(t *testing.T) {
			a := mustChunk(t, bytes.NewReader(orig), pc.p)
			known := make(map[[32]byte]bool, len(a))
			for _, c := range a {
				known[blake3.Sum256(c)] = true
			}
			b := mustChunk(t, bytes.NewReader(shifted), pc.p)
			shared := 0
			for _, c := range b {
				if known[blake3.Sum256(c)] {
					shared += len(c)
				}
			}
			frac := float64(shared) / float64(len(shifted))
			t.Logf("%d chunks, mean %.0f bytes; %.2f%% of shifted bytes shared",
				len(a), float64(n)/float64(len(a)), 100*frac)
			if frac < 0.95 {
				t.Fatalf("only %.2f%% of the shifted data is in known chunks, want >= 95%%", 100*frac)
			}
		})
	}
}

// TestGearMeanLength checks that the mean chunk length on random data is
// near Avg, as the package doc claims (about 1.15 * Avg).
func TestGearMeanLength(t *testing.T) {
	data := randomBytes(20, 16<<20)
	for _, avg := range []int{4 << 10, 16 << 10, 64 << 10} {
		p := Params{Algorithm: Gear, Min: avg / 4, Avg: avg, Max: avg * 4}
		chunks := mustChunk(t, bytes.NewReader(data), p)
		mean := float64(len(data)) / float64(len(chunks))
		atMax := 0
		for _, c := range chunks {
			if len(c) == p.Max {
				atMax++
			}
		}
		t.Logf("avg %d: %d chunks, mean %.0f (%.2f * avg), %d at max",
			avg, len(chunks), mean, mean/float64(avg), atMax)
		if mean < 0.95*float64(avg) || mean > 1.3*float64(avg) {
			t.Errorf("avg %d: mean chunk length %.0f is not within [0.95, 1.3] * avg", avg, mean)
		}
	}
}

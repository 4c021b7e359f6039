package chunker

import (
	"errors"
	"io"
)

const (
	// gearWindow is how many trailing bytes a gear fingerprint depends on:
	// each byte's table entry is shifted left once per later byte, so after
	// 64 more bytes it has left the 64-bit fingerprint.
	gearWindow = 64
	// gearTableKey is XORed with Params.Seed to seed the splitmix64 generator
	// that fills the gear table ("backstop" in ASCII). Part of gear-v1.
	gearTableKey = 0x6261636b73746f70
	// gearMinBuf is the smallest read buffer of a gear chunker.
	gearMinBuf = 1 << 20
	// maxEmptyReads is how many (0, nil) reads in a row count as no progress.
	maxEmptyReads = 100
)

var errBadRead = errors.New("chunker: reader returned an invalid count")

// defaultGearTable is the gear table of Seed 0. It is computed once and never
// written afterwards.
var defaultGearTable = newGearTable(0)

// splitmix64 advances *state and returns the next output of Steele, Lea and
// Flood's SplitMix64 generator.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newGearTable returns the gear table for seed: 256 consecutive splitmix64
// outputs from the state gearTableKey XOR seed, entry 0 first.
func newGearTable(seed uint64) [256]uint64 {
	var t [256]uint64
	state := gearTableKey ^ seed
	for i := range t {
		t[i] = splitmix64(&state)
	}
	return t
}

// gearMasks returns the strict mask (for chunk lengths below Avg) and the
// loose mask (from Avg on): the top log2(Avg)+2 and log2(Avg)-2 bits.
func gearMasks(avg int) (strict, loose uint64) {
	b := avgBits(avg)
	return ^uint64(0) << (64 - (b + 2)), ^uint64(0) << (64 - (b - 2))
}

// gearChunker is the Gear chunker. buf[start:end] holds read but not yet
// returned bytes.
type gearChunker struct {
	r                      io.Reader
	tab                    *[256]uint64
	buf                    []byte
	start, end             int
	minLen, avgLen, maxLen int
	strict, loose          uint64
	rerr                   error // first error from r, io.EOF at end of input
}

func newGear(r io.Reader, p Params) Chunker {
	tab := &defaultGearTable
	if p.Seed != 0 {
		t := newGearTable(p.Seed)
		tab = &t
	}
	strict, loose := gearMasks(p.Avg)
	return &gearChunker{
		r:      r,
		tab:    tab,
		buf:    make([]byte, max(4*p.Max, gearMinBuf)),
		minLen: p.Min,
		avgLen: p.Avg,
		maxLen: p.Max,
		strict: strict,
		loose:  loose,
	}
}

// Next implements Chunker. Once a read fails, Next returns that error on every
// call; bytes read before the failure but not yet returned are dropped.
func (g *gearChunker) Next() ([]byte, error) {
	if g.end-g.start < g.maxLen && g.rerr == nil {
		g.fill()
	}
	if g.rerr != nil && g.rerr != io.EOF {
		return nil, g.rerr
	}
	avail := g.end - g.start
	if avail == 0 {
		return nil, io.EOF
	}
	n := g.cut(g.buf[g.start : g.start+min(avail, g.maxLen)])
	c := g.buf[g.start : g.start+n : g.start+n]
	g.start += n
	return c, nil
}

// fill reads until at least Max bytes are buffered or the reader fails. It
// moves the buffered bytes to the front first if a Max-long chunk starting at
// g.start would not fit.
func (g *gearChunker) fill() {
	if len(g.buf)-g.start < g.maxLen {
		g.end = copy(g.buf, g.buf[g.start:g.end])
		g.start = 0
	}
	empty := 0
	for g.end-g.start < g.maxLen && g.rerr == nil {
		n, err := g.r.Read(g.buf[g.end:])
		if n < 0 || n > len(g.buf)-g.end {
			g.rerr = errBadRead
			return
		}
		g.end += n
		switch {
		case err != nil:
			g.rerr = err
		case n > 0:
			empty = 0
		default:
			if empty++; empty >= maxEmptyReads {
				g.rerr = io.ErrNoProgress
			}
		}
	}
}

// cut returns the length of the chunk at the start of data, which holds at
// most Max bytes and fewer only at the end of input. See the package doc for
// the rule.
func (g *gearChunker) cut(data []byte) int {
	n := len(data)
	if n <= g.minLen {
		return n
	}
	tab := g.tab
	// Warm up on the gearWindow-1 bytes before the first candidate byte, so
	// that every tested fingerprint covers a full window.
	var fp uint64
	for _, b := range data[g.minLen-gearWindow : g.minLen-1] {
		fp = fp<<1 + tab[b]
	}
	i := g.minLen - 1 // offset of the next byte to hash
	if normal := min(g.avgLen-1, n); i < normal {
		k, h := gearScan(tab, data[i:normal], fp, g.strict)
		if k > 0 {
			return i + k
		}
		i, fp = normal, h
	}
	if k, _ := gearScan(tab, data[i:], fp, g.loose); k > 0 {
		return i + k
	}
	return n
}

// gearScan hashes p into fp byte by byte and returns how many bytes it hashed
// when fp&mask first became zero, or 0 and the final fp if it never did.
//
// The loop computes fp two bytes ahead, fp<<2 + (t0<<1 + t1), so that the
// critical dependency chain is one shift and one add per two bytes; the
// fingerprint of the odd byte in between is computed off that chain.
func gearScan(tab *[256]uint64, p []byte, fp, mask uint64) (int, uint64) {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		q := p[i : i+8 : i+8]
		t0, t1 := tab[q[0]], tab[q[1]]
		a := fp<<1 + t0
		fp = fp<<2 + (t0<<1 + t1)
		if a&mask == 0 {
			return i + 1, a
		}
		if fp&mask == 0 {
			return i + 2, fp
		}
		t0, t1 = tab[q[2]], tab[q[3]]
		a = fp<<1 + t0
		fp = fp<<2 + (t0<<1 + t1)
		if a&mask == 0 {
			return i + 3, a
		}
		if fp&mask == 0 {
			return i + 4, fp
		}
		t0, t1 = tab[q[4]], tab[q[5]]
		a = fp<<1 + t0
		fp = fp<<2 + (t0<<1 + t1)
		if a&mask == 0 {
			return i + 5, a
		}
		if fp&mask == 0 {
			return i + 6, fp
		}
		t0, t1 = tab[q[6]], tab[q[7]]
		a = fp<<1 + t0
		fp = fp<<2 + (t0<<1 + t1)
		if a&mask == 0 {
			return i + 7, a
		}
		if fp&mask == 0 {
			return i + 8, fp
		}
	}
	for ; i < len(p); i++ {
		if fp = fp<<1 + tab[p[i]]; fp&mask == 0 {
			return i + 1, fp
		}
	}
	return 0, fp
}

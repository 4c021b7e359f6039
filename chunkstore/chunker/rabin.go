package chunker

import (
	"io"

	rchunker "github.com/restic/chunker"
)

// rabinChunker adapts github.com/restic/chunker. buf has capacity Max and
// holds each chunk in turn, since restic/chunker never returns a longer one.
type rabinChunker struct {
	c   *rchunker.Chunker
	buf []byte
	err error // sticky: io.EOF after the last chunk, or the read error
}

func newRabin(r io.Reader, p Params) Chunker {
	pol := defaultPol
	if p.Seed != 0 {
		pol = rchunker.Pol(p.Seed)
	}
	c := rchunker.NewWithBoundaries(r, pol, uint(p.Min), uint(p.Max))
	c.SetAverageBits(avgBits(p.Avg))
	return &rabinChunker{c: c, buf: make([]byte, 0, p.Max)}
}

// Next implements Chunker. Once a read fails, Next returns that error on every
// call.
func (r *rabinChunker) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	ch, err := r.c.Next(r.buf[:0])
	if err != nil {
		r.err = err
		return nil, err
	}
	return ch.Data[:len(ch.Data):len(ch.Data)], nil
}

package chunkstore

import "io"

// readahead reads its source in a goroutine of its own, a few blocks
// ahead, so that the chunker's goroutine spends its time chunking rather
// than in read system calls. It is what lets ingest of data already stored
// (where nothing but reading, chunking and hashing is left) use both cores.
type readahead struct {
	full chan []byte
	free chan []byte
	quit chan struct{}
	cur  []byte
	buf  []byte
	err  error
	errc chan error
}

const (
	readaheadBlock = 1 << 20
	readaheadDepth = 4
)

func newReadahead(r io.Reader) *readahead {
	ra := &readahead{
		full: make(chan []byte, readaheadDepth),
		free: make(chan []byte, readaheadDepth+1),
		quit: make(chan struct{}),
		errc: make(chan error, 1),
	}
	for range readaheadDepth + 1 {
		ra.free <- make([]byte, readaheadBlock)
	}
	go ra.fill(r)
	return ra
}

func (ra *readahead) fill(r io.Reader) {
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.quit:
			return
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			select {
			case ra.full <- buf[:n]:
			case <-ra.quit:
				return
			}
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if err != nil {
			ra.errc <- err
			return
		}
	}
}

func (ra *readahead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		if ra.err != nil {
			return 0, ra.err
		}
		b, ok := <-ra.full
		if !ok {
			ra.err = <-ra.errc
			return 0, ra.err
		}
		ra.buf, ra.cur = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// stop ends the read-ahead goroutine once it returns from its current
// read of the source.
func (ra *readahead) stop() {
	select {
	case <-ra.quit:
	default:
		close(ra.quit)
	}
}

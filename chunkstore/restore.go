package chunkstore

import (
	"fmt"
	"io"
	"sync"

	"github.com/backstop-appliance/backstop/dedup"
)

type rjob struct {
	fp    dedup.Fingerprint
	n     uint32
	skip  int64 // bytes of the chunk before the read offset
	data  []byte
	err   error
	ready chan struct{}
}

// WriteTo streams the item from the current offset to w, reading and
// checking chunks on several workers while it writes them in order.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	workers := r.e.opts.Workers
	jobs := make(chan *rjob, workers*2)
	order := make(chan *rjob, 64)
	quit := make(chan struct{})
	free := make(chan *rjob, 64+workers*2+1)
	for range cap(free) {
		free <- &rjob{ready: make(chan struct{}, 1)}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := r.e.newFetcher(r.dom)
			for j := range jobs {
				var data []byte
				data, j.err = f.fetch(j.fp, j.n)
				j.data = append(j.data[:0], data...)
				j.ready <- struct{}{}
			}
		}()
	}
	prodErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		prodErr <- r.produce(r.off, jobs, order, free, quit)
	}()

	var written int64
	var err error
	for j := range order {
		<-j.ready
		if err == nil && j.err != nil {
			err = r.damaged(j.err)
		}
		if err == nil {
			var k int
			k, err = w.Write(j.data[j.skip:])
			written += int64(k)
		}
		if err != nil {
			select {
			case <-quit:
			default:
				close(quit)
			}
		}
		free <- j
	}
	wg.Wait()
	if perr := <-prodErr; err == nil {
		err = perr
	}
	r.off += written
	r.e.stats.restored.Add(written)
	return written, err
}

// produce walks the recipe from off and queues one job per chunk.
func (r *Reader) produce(off int64, jobs, order chan<- *rjob, free <-chan *rjob, quit <-chan struct{}) error {
	for off < r.item.Size {
		start, seg, err := r.e.idx.Segment(r.id, off, nil)
		if err != nil {
			return fmt.Errorf("item %s/%s: recipe at %d: %w", r.item.Store, r.item.Name, off, r.e.translate(err))
		}
		progressed := false
		for _, en := range seg {
			end := start + int64(en.Len)
			if end <= off {
				start = end
				continue
			}
			var j *rjob
			select {
			case j = <-free:
			case <-quit:
				return nil
			}
			j.fp, j.n, j.skip = en.FP, en.Len, off-start
			jobs <- j
			order <- j
			start, off = end, end
			progressed = true
		}
		if !progressed {
			return fmt.Errorf("%w: item %s/%s recipe ends at %d, before its size %d", ErrCorrupt, r.item.Store, r.item.Name, start, r.item.Size)
		}
	}
	return nil
}

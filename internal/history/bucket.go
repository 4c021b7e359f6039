package history

import "time"

// bucket is the points a coarser tier is summing up.
type bucket struct {
	end     time.Time // of the bucket; zero when empty
	n       int
	last    Point
	in, out float64 // sums of the rates
}

// bucketEnd is the end of the step-long bucket, aligned on UTC
// midnight, that holds t.
func bucketEnd(t time.Time, step time.Duration) time.Time {
	return t.Truncate(step).Add(step)
}

// add puts p in the bucket. When p falls outside the bucket being
// filled, that bucket closes: add returns its point and true, and p
// starts the next one.
func (b *bucket) add(p Point, step time.Duration) (Point, bool) {
	var out Point
	closed := false
	if b.n > 0 && !p.Time.Before(b.end) {
		out, closed = b.point(), true
		*b = bucket{}
	}
	if b.n == 0 {
		b.end = bucketEnd(p.Time, step)
	}
	b.n++
	b.last = p
	b.in += p.IngestPerSec
	b.out += p.RestorePerSec
	return out, closed
}

// point sums up the bucket: its last levels and time, its mean rates.
func (b *bucket) point() Point {
	p := b.last
	p.IngestPerSec = b.in / float64(b.n)
	p.RestorePerSec = b.out / float64(b.n)
	return p
}

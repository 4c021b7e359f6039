package history

import (
	"math"
	"time"
)

// Range returns the points from from to to, oldest first, from the
// finest tier that keeps that long a span; the newest part, which that
// tier has not summed up yet, comes from the finer tiers.
func (s *Store) Range(from, to time.Time) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	span := to.Sub(from)
	k := len(s.tiers) - 1
	for i, t := range s.tiers {
		if t.Keep >= span {
			k = i
			break
		}
	}
	var out []Point
	var after time.Time // the finer tiers give only what comes after
	for ; k >= 0; k-- {
		t := s.tiers[k]
		before := len(out)
		for _, p := range t.pts {
			if p.Time.Before(from) || p.Time.Before(after) || p.Time.After(to) {
				continue
			}
			out = append(out, p)
		}
		if n := len(out); n > before && k > 0 {
			after = bucketEnd(out[n-1].Time, t.Step)
		}
	}
	return out
}

// Latest is the newest sample; false when there is none.
func (s *Store) Latest() (Point, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t0 := s.tiers[0]
	if len(t0.pts) == 0 {
		return Point{}, false
	}
	return t0.pts[len(t0.pts)-1], true
}

// Projection is when stored bytes reach the capacity, at the growth a
// linear fit finds.
type Projection struct {
	// FullAt is when the fitted line reaches CapacityBytes (the last
	// point's time if it already has).
	FullAt time.Time
	// BytesPerDay is the fitted growth of stored bytes.
	BytesPerDay float64
	// CapacityBytes is the last point's capacity.
	CapacityBytes int64
}

// Project fits stored bytes over pts (least squares) and projects when
// they reach the last point's capacity; false when there are fewer than
// two points over no time, no capacity, or stored bytes are not growing.
func Project(pts []Point) (Projection, bool) {
	if len(pts) < 2 {
		return Projection{}, false
	}
	last := pts[len(pts)-1]
	t0 := pts[0].Time
	var sx, sy float64
	for _, p := range pts {
		sx += p.Time.Sub(t0).Seconds()
		sy += float64(p.StoredBytes)
	}
	n := float64(len(pts))
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for _, p := range pts {
		dx := p.Time.Sub(t0).Seconds() - mx
		sxy += dx * (float64(p.StoredBytes) - my)
		sxx += dx * dx
	}
	if sxx == 0 || last.CapacityBytes <= 0 {
		return Projection{}, false
	}
	slope := sxy / sxx // bytes per second
	if slope <= 0 || math.IsNaN(slope) {
		return Projection{}, false
	}
	pr := Projection{BytesPerDay: slope * 86400, CapacityBytes: last.CapacityBytes, FullAt: last.Time}
	// The line reaches capacity at x: my + slope*(x-mx) = capacity.
	x := mx + (float64(last.CapacityBytes)-my)/slope
	at := t0.Add(time.Duration(math.Min(x, float64(math.MaxInt64/2)/1e9) * 1e9))
	if at.After(last.Time) {
		pr.FullAt = at
	}
	return pr, true
}

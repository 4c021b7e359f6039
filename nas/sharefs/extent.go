package sharefs

import "sort"

// span is the byte range [Start, End) of a file.
type span struct{ Start, End int64 }

// extents is a set of byte ranges, kept sorted, disjoint and merged: the
// parts of a file whose current bytes are in its staging file.
type extents []span

// add marks [a, b) as covered.
func (x *extents) add(a, b int64) {
	if a >= b {
		return
	}
	s := *x
	// first span that ends at or after a (touching spans merge)
	i := sort.Search(len(s), func(i int) bool { return s[i].End >= a })
	j := i
	for j < len(s) && s[j].Start <= b {
		a = min(a, s[j].Start)
		b = max(b, s[j].End)
		j++
	}
	out := make(extents, 0, len(s)-(j-i)+1)
	out = append(out, s[:i]...)
	out = append(out, span{a, b})
	out = append(out, s[j:]...)
	*x = out
}

// remove uncovers [a, b).
func (x *extents) remove(a, b int64) {
	if a >= b {
		return
	}
	s := *x
	out := make(extents, 0, len(s)+1)
	for _, e := range s {
		if e.End <= a || e.Start >= b {
			out = append(out, e)
			continue
		}
		if e.Start < a {
			out = append(out, span{e.Start, a})
		}
		if e.End > b {
			out = append(out, span{b, e.End})
		}
	}
	*x = out
}

// within returns the covered parts of [a, b), clipped to it, in order.
func (x extents) within(a, b int64) []span {
	i := sort.Search(len(x), func(i int) bool { return x[i].End > a })
	var out []span
	for ; i < len(x) && x[i].Start < b; i++ {
		out = append(out, span{max(x[i].Start, a), min(x[i].End, b)})
	}
	return out
}

// covering returns the span that contains off, if any.
func (x extents) covering(off int64) (span, bool) {
	i := sort.Search(len(x), func(i int) bool { return x[i].End > off })
	if i < len(x) && x[i].Start <= off {
		return x[i], true
	}
	return span{}, false
}

// anyBelow reports whether some covered byte lies before off.
func (x extents) anyBelow(off int64) bool { return len(x) > 0 && x[0].Start < off }

package sharefs

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestExtents(t *testing.T) {
	type op struct {
		add  bool
		a, b int64
	}
	tests := []struct {
		name string
		ops  []op
		want extents
	}{
		{"empty add", []op{{true, 5, 5}}, nil},
		{"one", []op{{true, 0, 10}}, extents{{0, 10}}},
		{"disjoint sorted", []op{{true, 20, 30}, {true, 0, 10}}, extents{{0, 10}, {20, 30}}},
		{"touching merge", []op{{true, 0, 10}, {true, 10, 20}}, extents{{0, 20}}},
		{"bridge", []op{{true, 0, 10}, {true, 20, 30}, {true, 5, 25}}, extents{{0, 30}}},
		{"inside", []op{{true, 0, 30}, {true, 5, 6}}, extents{{0, 30}}},
		{"remove middle", []op{{true, 0, 30}, {false, 10, 20}}, extents{{0, 10}, {20, 30}}},
		{"remove all", []op{{true, 0, 30}, {true, 40, 50}, {false, 0, 60}}, extents{}},
		{"remove edge", []op{{true, 0, 30}, {false, 25, 40}}, extents{{0, 25}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var x extents
			for _, o := range tt.ops {
				if o.add {
					x.add(o.a, o.b)
				} else {
					x.remove(o.a, o.b)
				}
			}
			if len(x) != len(tt.want) || (len(x) > 0 && !slices.Equal(x, tt.want)) {
				t.Fatalf("got %v, want %v", x, tt.want)
			}
		})
	}
}

// TestExtentsModel checks the extent map against a bitmap.
func TestExtentsModel(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(1, 2))
	var x extents
	var model [n]bool
	for step := 0; step < 5000; step++ {
		a := rng.Int64N(n)
		b := a + rng.Int64N(n-a+1)
		add := rng.IntN(3) > 0
		if add {
			x.add(a, b)
		} else {
			x.remove(a, b)
		}
		for i := a; i < b; i++ {
			model[i] = add
		}
		var got [n]bool
		for i, e := range x {
			if e.Start >= e.End || (i > 0 && x[i-1].End >= e.Start) {
				t.Fatalf("step %d: not sorted and merged: %v", step, x)
			}
			for j := e.Start; j < e.End; j++ {
				got[j] = true
			}
		}
		if got != model {
			t.Fatalf("step %d: extents %v differ from the model", step, x)
		}
		qa := rng.Int64N(n)
		qb := qa + rng.Int64N(n-qa+1)
		var cov int64
		for _, s := range x.within(qa, qb) {
			cov += s.End - s.Start
		}
		var want int64
		for j := qa; j < qb; j++ {
			if model[j] {
				want++
			}
		}
		if cov != want {
			t.Fatalf("step %d: within(%d,%d) covers %d, want %d", step, qa, qb, cov, want)
		}
		if sp, ok := x.covering(qa); ok != model[qa] || (ok && (sp.Start > qa || sp.End <= qa)) {
			t.Fatalf("step %d: covering(%d) = %v %v", step, qa, sp, ok)
		}
	}
}

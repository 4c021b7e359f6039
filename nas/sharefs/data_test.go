package sharefs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// op is one step on a file: write data at off, truncate to size, sync,
// or reopen (close every handle, restart the engine, open again).
type op struct {
	kind byte // 'w' write, 't' truncate, 's' sync, 'r' restart
	off  int64
	n    int
	seed uint64
}

func w(off, n int64, seed uint64) op { return op{kind: 'w', off: off, n: int(n), seed: seed} }
func tr(size int64) op               { return op{kind: 't', off: size} }

var (
	syncOp    = op{kind: 's'}
	restartOp = op{kind: 'r'}
)

// apply applies o to the model.
func (o op) apply(model []byte) []byte {
	switch o.kind {
	case 'w':
		end := o.off + int64(o.n)
		if end > int64(len(model)) {
			model = append(model, make([]byte, end-int64(len(model)))...)
		}
		copy(model[o.off:], randBytes(o.seed, o.n))
	case 't':
		if o.off <= int64(len(model)) {
			model = model[:o.off]
		} else {
			model = append(model, make([]byte, o.off-int64(len(model)))...)
		}
	}
	return model
}

func TestFileData(t *testing.T) {
	mib := int64(1 << 20)
	if testing.Short() {
		mib = 256 << 10 // still several chunks; make test-sharefs runs full size
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty", nil},
		{"sequential", []op{w(0, mib, 1), w(mib, mib, 2), w(2*mib, 12345, 3)}},
		{"sequential small pieces", []op{w(0, 100, 1), w(100, 1, 2), w(101, 4000, 3), w(4101, 7, 4)}},
		{"random", []op{w(5000, 100, 1), w(20, 30, 2), w(70000, 4096, 3), w(100, 5000, 4)}},
		{"out of order then in order", []op{w(4096, 4096, 1), w(12288, 4096, 2), w(0, 4096, 3), w(8192, 4096, 4)}},
		{"header rewrite after stream", []op{w(0, 3*mib, 1), w(0, 512, 2), w(3*mib, 1000, 3)}},
		{"overwrite middle", []op{w(0, 2*mib, 1), syncOp, w(mib, 100, 2)}},
		{"overwrite after restart", []op{w(0, 2*mib, 1), restartOp, w(700000, 9000, 2), w(0, 10, 3)}},
		{"append after restart", []op{w(0, 300000, 1), restartOp, w(300000, 300000, 2)}},
		{"rewrite from start", []op{w(0, mib, 1), restartOp, w(0, 1000, 2), w(1000, 1000, 3)}},
		{"truncate shrink", []op{w(0, mib, 1), tr(1000)}},
		{"truncate shrink streamed", []op{w(0, mib, 1), tr(5000), w(5000, 10, 2)}},
		{"truncate then extend reads zeros", []op{w(0, 100000, 1), syncOp, tr(10), tr(100000)}},
		{"extend is a hole", []op{tr(3 * mib), w(2*mib, 10, 1)}},
		{"write past end leaves hole", []op{w(0, 10, 1), w(mib, 10, 2)}},
		{"preallocate then sequential", []op{tr(2 * mib), w(0, mib, 1), w(mib, mib, 2)}},
		{"truncate to zero", []op{w(0, mib, 1), syncOp, tr(0)}},
		{"sync between writes", []op{w(0, 1000, 1), syncOp, w(1000, 1000, 2), syncOp, w(10, 10, 3), syncOp}},
		{"rewrite streamed bytes", []op{w(0, 200000, 1), w(100, 100, 2), w(200000, 100, 3), w(150000, 100000, 4)}},
	}
	for _, tt := range tests {
		for _, eachStep := range []bool{false, true} {
			name := tt.name
			if eachStep {
				name += " read each step"
			}
			t.Run(name, func(t *testing.T) { runOps(t, tt.ops, eachStep) })
		}
	}
}

// runOps applies ops to a file and to a model; with eachStep, a second
// handle reads the whole file after every op (which commits streams
// early), else only at the end.
func runOps(t *testing.T, ops []op, eachStep bool) {
	{
		{
			e := newEnv(t)
			f := e.create("f")
			var model []byte
			for i, o := range ops {
				switch o.kind {
				case 'w':
					if n, err := f.WriteAt(randBytes(o.seed, o.n), o.off); err != nil || n != o.n {
						t.Fatalf("op %d: write %d: %v", i, n, err)
					}
				case 't':
					if err := f.Truncate(o.off); err != nil {
						t.Fatalf("op %d: truncate: %v", i, err)
					}
				case 's':
					if err := f.Sync(); err != nil {
						t.Fatalf("op %d: sync: %v", i, err)
					}
				case 'r':
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
					e.restart()
					var err error
					if f, err = e.fs.Open(context.Background(), "f", vfs.OpenRead|vfs.OpenWrite); err != nil {
						t.Fatal(err)
					}
				}
				model = o.apply(model)
				if eachStep {
					e.checkFile("f", model)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			e.checkFile("f", model)
			e.restart()
			e.checkFile("f", model)
			info, err := e.fs.Stat(context.Background(), "f")
			if err != nil || info.Size != int64(len(model)) {
				t.Fatalf("stat: %+v %v", info, err)
			}
			// one item for a non-empty file, none for an empty one
			want := 1
			if len(model) == 0 {
				want = 0
			}
			if got := e.items(); len(got) != want {
				t.Fatalf("items %v, want %d", got, want)
			}
		}
	}
}

func TestReadAtEdges(t *testing.T) {
	e := newEnv(t)
	data := randBytes(1, 10000)
	e.writeFile("f", data)
	f, err := e.fs.Open(context.Background(), "f", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name    string
		off     int64
		n       int
		wantN   int
		wantEOF bool
	}{
		{"inside", 100, 100, 100, false},
		{"to the end exactly", 9900, 100, 100, false},
		{"across the end", 9950, 100, 50, true},
		{"at the end", 10000, 10, 0, true},
		{"past the end", 20000, 10, 0, true},
		{"empty buffer", 5, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.n)
			n, err := f.ReadAt(buf, tt.off)
			if n != tt.wantN || errors.Is(err, io.EOF) != tt.wantEOF || (err != nil && !errors.Is(err, io.EOF)) {
				t.Fatalf("ReadAt(%d, %d) = %d, %v", tt.n, tt.off, n, err)
			}
			if n > 0 && !bytes.Equal(buf[:n], data[tt.off:tt.off+int64(n)]) {
				t.Fatal("wrong bytes")
			}
		})
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); !errors.Is(err, vfs.ErrInvalid) {
		t.Fatalf("negative offset: %v", err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.ErrReadOnly) {
		t.Fatalf("write on a read handle: %v", err)
	}
}

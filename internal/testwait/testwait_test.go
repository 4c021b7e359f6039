package testwait

import (
	"fmt"
	"testing"
	"time"
)

// recorder is a TB whose Fatalf records instead of stopping the goroutine,
// so the failure path can be checked from a passing test.
type recorder struct{ fatal string }

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRecv(t *testing.T) {
	buffered := func(v int) chan int {
		ch := make(chan int, 1)
		ch <- v
		return ch
	}
	closed := func() chan int {
		ch := make(chan int)
		close(ch)
		return ch
	}
	later := func(v int) chan int {
		ch := make(chan int)
		go func() {
			time.Sleep(10 * time.Millisecond)
			ch <- v
		}()
		return ch
	}
	tests := []struct {
		name      string
		ch        chan int
		within    time.Duration
		want      int
		wantFatal string
	}{
		{"buffered value", buffered(7), time.Minute, 7, ""},
		{"value sent later", later(3), time.Minute, 3, ""},
		{"closed channel gives the zero value", closed(), time.Minute, 0, ""},
		{"nothing arrives", make(chan int), 20 * time.Millisecond, 0, "testwait: nothing received in 20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			got := RecvWithin(&r, tt.ch, tt.within)
			if got != tt.want || r.fatal != tt.wantFatal {
				t.Errorf("got %d, fatal %q; want %d, fatal %q", got, r.fatal, tt.want, tt.wantFatal)
			}
		})
	}
}

func TestRecvInfersReceiveOnly(t *testing.T) {
	done := make(chan struct{})
	close(done)
	var ro <-chan struct{} = done
	Recv(t, done) // a bidirectional channel
	Recv(t, ro)   // a receive-only one, as ctx.Done() returns
}

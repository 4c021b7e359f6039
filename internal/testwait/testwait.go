package testwait

import "time"

// Timeout is how long Recv waits. It is far longer than any single event a
// unit test waits for takes on a loaded machine with the race detector, and
// far shorter than go test's own -timeout.
const Timeout = time.Minute

// TB is the part of testing.TB that Recv uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Recv receives from ch as `<-ch` does (a closed channel gives the zero
// value at once), but fails the test if nothing arrives within Timeout.
func Recv[T any](t TB, ch <-chan T) T {
	t.Helper()
	return RecvWithin(t, ch, Timeout)
}

// RecvWithin is Recv with its own limit.
func RecvWithin[T any](t TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("testwait: nothing received in %v", d)
		var zero T
		return zero
	}
}

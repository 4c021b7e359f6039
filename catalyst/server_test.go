package catalyst_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/catalyst/client"
)

// TestShutdownCutsCalls: a put still running when Shutdown's context
// expires is cut, and Shutdown says so with ctx.Err().
func TestShutdownCutsCalls(t *testing.T) {
	f := setup(t)
	c := f.client(t, "op", "")
	pr, pw := io.Pipe()
	defer pw.Close()
	putErr := make(chan error, 1)
	go func() {
		_, err := c.Put(context.Background(), "default", "cut", pr, client.PutOptions{})
		putErr <- err
	}()
	go func() { pw.Write(testData(1, 256<<10)) }() // then the put waits for more
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.Traffic().ActiveStream == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the put did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a put running: %v, want context.DeadlineExceeded", err)
	}
	pw.Close() // the client commits what it has: the cut stream refuses
	select {
	case err := <-putErr:
		if err == nil {
			t.Error("the cut put succeeded")
		}
		if _, err := f.eng.Stat(context.Background(), "default", "cut"); err == nil {
			t.Error("the cut put stored an item")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the put did not end after Shutdown")
	}
}

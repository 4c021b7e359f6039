package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress redraws one status line on a terminal every half second until
// stopped; off a terminal it prints nothing.
type progress struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startProgress(w io.Writer, line func(elapsed time.Duration) string) *progress {
	p := &progress{stop: make(chan struct{})}
	if !isTerminal(w) {
		return p
	}
	start := time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", line(time.Since(start)))
			}
		}
	}()
	return p
}

func (p *progress) done() {
	close(p.stop)
	p.wg.Wait()
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return human(int64(float64(n)/d.Seconds())) + "/s"
}

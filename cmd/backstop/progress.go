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

// transferLine is put's progress line: with the total known (a file, or
// --size), how much of it, the rate and the time left; else what has
// passed and the rate. extra follows (new bytes, dedup so far).
func transferLine(done, total int64, elapsed time.Duration, extra string) string {
	if total <= 0 {
		return fmt.Sprintf("%s  %s  %s", human(done), rate(done, elapsed), extra)
	}
	pct := 100 * float64(done) / float64(total)
	left := "-"
	if done > 0 && done < total && elapsed > 0 {
		d := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		left = d.Round(time.Second).String()
	} else if done >= total {
		left = "0s"
	}
	return fmt.Sprintf("%s of %s (%.0f%%)  %s  %s left  %s", human(done), human(total), min(pct, 100), rate(done, elapsed), left, extra)
}

// inputSize is the size of what put reads: --size when given, else a
// regular file's size, else -1 (a pipe: unknown).
func inputSize(src io.Reader, sizeFlag int64) int64 {
	if sizeFlag >= 0 {
		return sizeFlag
	}
	if f, ok := src.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

package servetest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ErrNoVmRSS is VmRSS's error when a process's status has no VmRSS line
// (a zombie, or a kernel thread).
var ErrNoVmRSS = errors.New("servetest: no VmRSS")

// SampleInterval is how often SamplePeak reads VmRSS.
const SampleInterval = 50 * time.Millisecond

// VmRSS is the resident memory of process pid in bytes, from
// /proc/PID/status.
func VmRSS(pid int) (int64, error) {
	name := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q in %s: %w", v, name, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("%s: %w", name, ErrNoVmRSS)
}

// SamplePeak reads the VmRSS of process pid every SampleInterval until
// stop is called, and calls each (if not nil) with every reading, on the
// sampler's goroutine. stop ends the sampling, waits for it, and returns
// the largest reading; it may be called again, and returns the same.
// A reading that fails is reported with t.Errorf and ends the sampling.
func SamplePeak(t testing.TB, pid int, each func(rss int64)) (stop func() int64) {
	done, stopped := make(chan struct{}), make(chan struct{})
	var peak int64 // written by the sampler, read after stopped is closed
	go func() {
		defer close(stopped)
		for {
			v, err := VmRSS(pid)
			if err != nil {
				t.Errorf("sample VmRSS: %v", err)
				return
			}
			peak = max(peak, v)
			if each != nil {
				each(v)
			}
			select {
			case <-done:
				return
			case <-time.After(SampleInterval):
			}
		}
	}()
	var once sync.Once
	return func() int64 {
		once.Do(func() { close(done) })
		select {
		case <-stopped:
			return peak
		case <-time.After(10 * time.Second):
			t.Error("the RSS sampler did not stop")
			return 0
		}
	}
}

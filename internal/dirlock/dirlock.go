// Package dirlock keeps a second process out of a directory: an exclusive
// flock on a lock file in it, which also holds the owner's pid so that the
// next process can say who has it.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrLocked reports a directory another open lock holds; the error is a
// *HeldError that says which process holds it.
var ErrLocked = errors.New("dirlock: directory in use")

// HeldError names the directory and the process that holds its lock.
type HeldError struct {
	Dir, PID string
}

func (e *HeldError) Error() string { return e.Dir + " is held by process " + e.PID }

// Is makes errors.Is(err, ErrLocked) true.
func (e *HeldError) Is(target error) bool { return target == ErrLocked }

// Lock takes the lock file name in dir. The lock lasts until the returned
// file is closed or the process ends (a crash releases it too).
func Lock(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			pid := strings.TrimSpace(string(b))
			if pid == "" {
				pid = "(unknown)"
			}
			return nil, &HeldError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("dirlock: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

package dirlock

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	f, err := Lock(dir, "lock")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir, "lock")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	f.Close()
	f, err = Lock(dir, "lock")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	f.Close()
}

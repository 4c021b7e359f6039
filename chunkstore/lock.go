package chunkstore

import (
	"errors"
	"fmt"
	"os"

	"github.com/backstop-appliance/backstop/internal/dirlock"
)

// lockDir keeps a second process out of the data directory.
func lockDir(dir string) (*os.File, error) {
	f, err := dirlock.Lock(dir, "backstop.lock")
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("%w: %v (a running backstop serve?): stop it first", ErrLocked, held)
	}
	if err != nil {
		return nil, fmt.Errorf("chunkstore: %w", err)
	}
	return f, nil
}

package objstore

import (
	"context"
	"errors"
)

// ErrNotFound is returned by a Bucket for a key that does not exist.
var ErrNotFound = errors.New("objstore: object not found")

// Object is a listed object: its key and size.
type Object struct {
	Key  string
	Size int64
}

// Bucket is what the tier needs of an object store. S3 (s3.go) implements
// it; keys are full keys (the tier adds its prefix).
type Bucket interface {
	// Put stores data under key, replacing any object there.
	Put(ctx context.Context, key string, data []byte) error
	// GetRange reads len(p) bytes of key at off (a ranged GET).
	GetRange(ctx context.Context, key string, p []byte, off int64) error
	// Get reads the whole object.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns every object whose key starts with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
}

package dedup

import "errors"

// Errors that cross package and process boundaries: the engine returns them,
// the front ends map them to their protocols' errors, and the Catalyst
// client returns them again from the status the server sent, so callers on
// either side test them with errors.Is. Package chunkstore re-exports each
// under the same name.
var (
	ErrNotFound = errors.New("chunkstore: not found")
	ErrExists   = errors.New("chunkstore: already exists")
	ErrBusy     = errors.New("chunkstore: item is being written by another stream")
	ErrFull     = errors.New("chunkstore: no space left")
	ErrCorrupt  = errors.New("chunkstore: data damaged")
	ErrClosed   = errors.New("chunkstore: closed")
	ErrInvalid  = errors.New("chunkstore: invalid argument")
	ErrNotEmpty = errors.New("chunkstore: store is not empty")
	// ErrImmutable reports a change to an item (or store) that the store's
	// immutability period forbids, whoever asks.
	ErrImmutable = errors.New("chunkstore: item is immutable")
	// ErrFingerprint reports a chunk whose bytes do not hash to the
	// fingerprint (or length) the caller gave for it.
	ErrFingerprint = errors.New("chunkstore: chunk does not match its fingerprint")
	// ErrMissingChunk reports a commit whose recipe names a chunk the
	// store's domain does not hold and the caller never supplied.
	ErrMissingChunk = errors.New("chunkstore: recipe names a chunk the store does not hold")
)

package chunkstore

import (
	"path/filepath"

	"github.com/backstop-appliance/backstop/chunkstore/volume"
)

// ContainerStore is where an engine keeps its containers: the volume files
// of its data directory by default (package volume), or another place with
// the same addressing, such as an object-storage bucket behind a local
// staging area (package objstore, docs/cloud.md).
//
// A container is addressed by (volume, offset) and written once, whole,
// by Append; the engine records that address in its index. What the engine
// relies on, and every implementation must keep:
//
//   - Append places b after everything appended to the same volume so far
//     (a volume is containers back to back, walkable from 0); a failed
//     Append leaves nothing behind. It may return an error wrapping
//     dedup.ErrFull.
//   - After Sync(vol) returns, what was appended to vol survives a crash.
//   - ReadAt reads any byte range inside one appended container.
//   - Truncate drops everything at or past size (recovery of torn writes);
//     Punch gives back whole containers inside [off, off+n); Shrink may cut
//     a volume's emptied tail (reporting whether it did).
//   - Sizes is each volume's end; Used the bytes of live containers;
//     Capacity what they may hold; Allocated what they take where they are.
//
// The methods take no context: the engine's call sites hold locks and none
// cancels mid-container; an implementation doing network I/O bounds each
// operation with its own timeout.
type ContainerStore interface {
	Append(b []byte) (vol uint32, off int64, err error)
	Sync(vol uint32) error
	ReadAt(vol uint32, p []byte, off int64) error
	Truncate(vol uint32, size int64) error
	Punch(vol uint32, off, n int64) error
	Shrink(vol uint32, size, end int64) (bool, error)
	Sizes() []int64
	Used() int64
	Capacity() (int64, error)
	Allocated() (int64, error)
	Close() error
}

// openContainers opens the engine's container store: Options.Containers
// when set, else the volume files under dir/volumes.
func (e *Engine) openContainers() (ContainerStore, error) {
	if e.opts.Containers != nil {
		return e.opts.Containers(e.dir)
	}
	return volume.Open(filepath.Join(e.dir, "volumes"), volume.Options{MaxSize: e.opts.VolumeSize, Capacity: e.opts.Capacity, Reserve: e.opts.Reserve})
}

// Containers returns the engine's container store, for its owner to ask
// what an implementation reports beyond the interface (a cloud tier's
// upload health).
func (e *Engine) Containers() ContainerStore { return e.vols }

// Package objstore keeps an engine's containers in an object-storage bucket
// (S3 or compatible): a chunkstore.ContainerStore whose containers are one
// object each, written through a bounded local staging area and read
// through a bounded local read cache (docs/cloud.md).
//
// # Addressing
//
// The engine addresses containers by (volume, offset). The tier keeps that
// address space virtual: Append places a container at the end of volume
// 0's virtual extent (a new volume after MaxSize) and names its object
// PREFIX/containers/VVVV/OOOOOOOOOOOOOOOO (volume and offset in hex), so
// the bucket alone says where every container is: at Open the tier lists
// the prefix and rebuilds its extent table from the keys and sizes.
//
// # Write path and acknowledgment
//
// Append writes the container to a file of the staging directory
// (VVVV-OOOOOOOOOOOOOOOO.c) and queues it for upload; Sync fsyncs the
// staged files of the volume (and the directory) that are not uploaded
// yet. The engine commits its index only after Sync, so an item is
// acknowledged once its containers are durable locally (local-then-
// uploaded): "uploaded before acknowledged" is the other mode, not built
// yet (docs/cloud.md). Uploaders (Options.Uploaders) PUT staged files in
// the background, retrying with exponential back-off, and delete the
// staged copy once the PUT succeeded. When the staged bytes reach
// Options.StagingBytes, Append waits for uploads to free room (back-
// pressure) for at most Options.FullWait, then fails with dedup.ErrFull.
// Open queues every staged file again: a killed appliance resumes its
// uploads.
//
// # Read path
//
// A staged container is read from its file. Otherwise a read of a
// container's tail (its footer, as dedup's locality cache reads it) is one
// ranged GET; any other read fetches the whole object once into the read
// cache (Options.CacheBytes on disk, least recently used evicted), since a
// restore reads a container's chunks one after another and one GET costs
// less than one per chunk. The engine checks every chunk against its
// fingerprint, so a stale or damaged object is an error, never data.
package objstore

// Package chunkstore is the deduplicating engine: it stores items (named byte
// streams in stores) as recipes of content-defined chunks kept once per dedup
// domain, in containers appended to volume files, with their metadata in a
// badger index.
//
// The sub-packages are its parts: chunker cuts streams into chunks,
// container is the on-disk container format and its codecs, volume the
// volume files, index the badger keys (chunkstore/index/doc.go) and the Bloom
// filter. Nothing outside chunkstore imports index or volume.
//
// # Write path
//
// Engine.Create returns a Writer; Write feeds an io.Pipe read by the stream's
// pipeline. One goroutine runs the chunker and hands each chunk to the
// workers and, in stream order, to the sequencer. The workers compute the
// chunk's BLAKE3 fingerprint keyed by the domain's key and look it up: the
// locality cache (the footers of containers recently hit), then the index's
// Bloom filter, which answers "new" for most new chunks without a badger
// read, then badger itself; a badger hit loads the whole footer of that
// chunk's container into the locality cache. New chunks are compressed
// with the codec the stream's policy picks for each ("auto" by default: zstd
// while the stream waits for its source, s2 while it is CPU-bound,
// codecpolicy.go); a record that does not shrink by 1/32 is stored raw. The
// sequencer appends every chunk to the item's recipe and adds each new chunk
// to the stream's open container, after claiming it in the engine's
// in-flight table: a chunk another stream is carrying counts as a
// duplicate, and the writer keeps a copy of it until that stream's
// container lands, storing the copy itself if it does not
// (docs/decisions.md).
//
// A full container (about 4 MiB of stored body) is sealed and queued to the
// stream's flusher, with the recipe segments (1024 entries each) filled so
// far. The flusher takes whatever has queued, then, in this order:
//
//  1. appends the containers to the volume and fsyncs each volume it wrote;
//  2. commits in one badger transaction (badger runs with SyncWrites) the
//     chunk locations, the container records and the recipe segments of the
//     group, plus, on the stream's first flush, a 'p' mark saying the item is
//     being written;
//  3. only then makes the containers visible (the container table) and lands
//     the in-flight claims, so other streams and readers find the chunks.
//
// Writer.Commit closes the pipe, waits for the last container to go through
// those steps, and commits the item record with the last recipe segments in
// one synced transaction that also removes the 'p' mark (and, for a replace,
// marks the old item's recipe deleted). The item exists, and may be
// acknowledged, only when Commit returns: by then every chunk of its recipe
// is in a container that was fsynced before the index entry pointing at it
// was committed, and the recipe and the item record are committed too, so
// the item survives a crash at any later instant. Abort, or any error, drops
// the recipe; chunks already written stay, for dedup, until housekeeping.
//
// # Splice
//
// Writer.Splice appends a range of another item of the same store
// (through an open Reader, whose pin keeps the recipe) without its data:
// the source's chunks wholly inside the range are appended to the recipe
// as entries, and the partial chunks at the edges are written as bytes.
// The pipeline reads a sequence of phases: the pipe of the bytes written
// so far ends (the chunker cuts its last chunk there), a marker carrying
// the entries goes through the sequencer in stream order (appendEntry,
// so housekeeping's mark and fence see them as they see dedup hits), and
// the chunker restarts on a new pipe. Splice returns once the entries are
// in the recipe, so the source's pin covers them until then.
//
// # Read path
//
// Engine.OpenItem finds the item and pins its id under the commit lock, so no
// delete or replace runs in between. While a Reader holds the pin, Delete and
// replace remove the item's record but keep its recipe (dropped at the last
// Reader.Close), and housekeeping's mark counts the recipes of pinned items
// as live: the chunks an open reader will still fetch are never reclaimed
// under it.
//
// Reader.ReadAt finds the recipe segment holding an offset with one reverse
// badger seek and the chunk in it by binary search, looks the chunk up
// (locality cache, then the index), reads its stored record with one pread,
// decodes it and checks its keyed fingerprint against the recipe before
// returning a byte. A mismatch is ErrCorrupt naming the item, never wrong
// data. Housekeeping may have moved the chunk and punched its old place
// since the lookup, so a failed check first asks the index again and reads
// the new copy if the location changed; only a second failure is damage.
// Reader.WriteTo fetches and checks chunks on all workers and writes them in
// order.
//
// # Recovery at open
//
// Open takes the directory lock, loads the container table from the index,
// then walks each volume from the end of the last container the index knows:
// a whole, checksummed container found there was written but its index
// commit never happened, and is indexed again from its footer (so a retried
// backup dedups against it; if nothing uses it, the next housekeeping run
// drops it); the first torn or unreadable container cuts the volume there.
// Every range of a volume that no container record covers is punched (space a
// crash kept housekeeping from freeing). Finally the recipes of items marked
// 'p' (being written, never committed) or 'x' (deleted or replaced, recipe
// not yet removed) are removed.
//
// # Housekeeping
//
// Engine.Housekeep gives back the space of chunks no live recipe uses; one run at a
// time, never beside verify (ErrMaintenance).
//
//   - Mark: a Bloom filter, the live set, gets every chunk of every recipe
//     not marked deleted, of pinned items, and of what writers hold in memory
//     and the index does not have yet.
//   - Fence: from the moment the mark starts, every dedup hit a writer gets
//     is added to the live set. Dedup lookups hold the fence lock shared; the
//     mark takes it exclusively to switch the live set on, then waits for the
//     lookups made before that to reach their writers' recipes.
//   - Plan: containers with nothing live, then those whose live share of the
//     body is below the threshold (DefaultHousekeepingThreshold, 0.8), are candidates.
//   - Sweep, in batches of at most 64 MiB: live chunks are copied as stored
//     into new containers, which are appended and fsynced.
//   - Commit: holding the fence lock exclusively, one badger transaction
//     points the moved chunks at their new copies (only where the index still
//     points at the old one) and deletes the dead chunks and the old
//     container records. A candidate one of whose dead chunks entered the
//     live set meanwhile is kept for the next run.
//   - Punch: only after that commit are the old containers' byte ranges
//     punched (fallocate PUNCH_HOLE); at the end of the run a volume whose
//     tail is free is truncated.
//
// A crash mid-run loses nothing: copies appended but not committed are
// orphans that recovery indexes or punches, and ranges a commit freed but a
// crash kept from being punched are punched at the next open.
//
// # Recompression
//
// With HousekeepingOptions.Recompress, the plan also picks containers
// whose live chunks are mostly s2, or that no reader read from for
// ColdAfter, up to that many bytes; the sweep copies their live chunks
// forward like any rewritten container's, decoding each (the container's
// checksum was checked when its body was read) and encoding it again with
// zstd at the run's level, keeping the old record when that is not
// smaller. Nothing else differs, so neither does the crash-safety
// argument: the new containers are appended and fsynced before the one
// index commit that points each moved chunk at its new copy, with its new
// codec and length, and only where the index still points at the old
// copy; the old container is punched only after that commit. Killed
// before the commit, the new containers are orphans that recovery indexes
// or punches and that the next run drops, and the old copies are still
// the ones the index names; killed after it, the index names only the new
// copies, and the old ranges, unrecorded, are punched at the next open. A
// reader that looked a chunk up before the commit and reads after the
// punch fails its fingerprint check and asks the index again (Read path).
// The last-read day stamps and recompression levels (index 'a' keys) only
// decide what is picked: a lost or stale one costs CPU, never data.
//
// # Encryption at rest
//
// A domain created with DomainOptions.Encrypt seals its containers
// (crypt.go, container/crypt.go): each container gets a fresh random
// AES-256 data key, wrapped with AES-256-GCM by the domain's encryption
// key into a 64-byte key block at the start of the body (container
// version 2); each record is compressed first, then sealed with
// AES-256-GCM under the data key, the nonce being its body offset and the
// additional data its fingerprint, raw length and codec. A record is
// still read with one pread (the data key, read once per container, is
// cached). Footers stay plain: the index beside them holds the same
// fingerprints. The encryption key lives in a key file (keys/ in the
// data directory, or a path outside it), never in the index; a domain
// whose key is missing or wrong opens unusable (ErrKeyMissing,
// ErrKeyWrong) while the rest of the data directory works. Housekeeping
// and recompression open each live record and the new container's
// builder seals it again under its own data key; replication reads
// records opened, and the target seals them with its own domain's key.
//
// # Invariants
//
//   - A container is fsynced before any index entry points into it.
//   - A chunk is visible to dedup and to readers only once the index commit
//     that records its container has returned.
//   - An item record is committed after every container its recipe uses, in
//     the same transaction as its last recipe segments; an acknowledged item
//     therefore survives any crash.
//   - Every byte returned by a Reader has been checked against its keyed
//     fingerprint; damage is an error, never data.
//   - Housekeeping never frees a chunk that a live or pinned recipe, a
//     writer's in-memory recipe, or a dedup hit during the run references,
//     and frees bytes only after the index no longer points at them.
//   - Equal data in two domains has different fingerprints and never shares
//     a chunk.
package chunkstore

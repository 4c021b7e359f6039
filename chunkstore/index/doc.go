// Package index keeps chunkstore's metadata in badger: where every chunk is,
// the containers, the dedup domains and stores, and the items with their
// recipes. It also keeps the in-memory filter that answers "new chunk"
// without a badger read. Badger's errors never leave this package.
//
// # Keys
//
// Every key starts with one byte that says what it holds. Integers in keys
// are big endian, so that keys sort by them; integers in values are little
// endian.
//
//	'c' fp[32]                chunk: container u64, offset u32, stored u32, raw u32, codec u8
//	'k' id u64                container: volume u32, offset u64, size u64, body u32, count u32,
//	                          domain u32, created unix-ns i64, verified unix-ns i64
//	'd' id u32                dedup domain, JSON (name, key, chunker parameters)
//	's' id u32                store, JSON (name, domain)
//	'n' store u32, name       item, JSON (id, size, chunk count, times, metadata)
//	'r' item u64, offset u64  recipe segment starting at that byte offset of the item
//	'p' item u64              item being written: its recipe is removed on open;
//	                          value: its store u32 (empty before reference sets)
//	'x' item u64              deleted or replaced item whose recipe is still to remove;
//	                          value: its store u32 (empty before reference sets)
//	'R' store u32, fp[32], item u64
//	                          reference: the recipe of that item of the store names
//	                          the chunk (once per item); empty value. Item 0: a chunk an
//	                          import of the store was sent but did not commit; value:
//	                          container u64 of the copy, counts while 'c' points there
//	'm' "refs"                the reference sets are complete (built at open once)
//	'q' name                  badger sequences for item and container ids
//
// # Reference sets
//
// The 'R' keys of a recipe segment are written in the batch that writes the
// segment and deleted by DropRecipe with it (the 'p' or 'x' mark, deleted
// last, says which store), so they are never ahead of or behind the
// recipes. A key counts only while its item has neither mark: from the
// commit that writes the item record to the one that deletes it.
// Referenced answers "does a live item of this store name this chunk?",
// which importers ask instead of the whole domain (docs/security.md).
// Each costs about 30 bytes of index on disk (measured: 59 bytes a chunk
// for two items naming the same chunks).
//
// # Recipe segments
//
// A segment is a uvarint count followed by count entries of a 32-byte
// fingerprint and a uvarint raw chunk length. A segment holds at most
// SegmentLen entries; its key carries the item offset of its first byte, so
// a reader finds the segment holding any offset with one reverse seek.
//
// # Filter
//
// A scalable Bloom filter: layers of 10 bits per chunk and 7 probes (about
// 1% false positives), a new layer of twice the capacity added when the last
// fills. Probes come straight from the fingerprint bits, which are uniform.
// It costs 1.25 bytes per chunk, and is rebuilt from the 'c' keys on open.
package index

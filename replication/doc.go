// Package replication copies stores from one Backstop appliance to another
// without rehydrating them: the source sends an item's recipe, the target
// answers which chunks its domain lacks, and the source sends those as
// stored (compressed), which the target checks and commits item by item.
//
// # Lifecycle
//
// A Service is both sides. New loads its state; Start(ctx) listens on
// Options.Addr for sources (internal/netsvc's accept loop) and starts the
// mappings' loops (StartLoops, when Options.ManualLoops leaves them to
// the caller); Shutdown(ctx) ends the sessions, whose imports abort, and
// the loops, waits for them all and saves the replicas' figures.
//
// # Domains
//
// Fingerprints are BLAKE3 keyed by the dedup domain. A target can only say
// which fingerprints it lacks if its replica store is in a domain with the
// source domain's key and chunker parameters: the hello of a session
// carries them (over mutually authenticated TLS) and the target puts a new
// replica store in the domain that holds that key, making it
// ("replica-<hash>") if need be. That domain is apart from the target's
// own domains, whose keys differ, so nothing is shared or learned across
// them. Two sources whose domains share a key (an administrator created
// the second from the first's exported key) land in the same replica
// domain, and the second sends only what the first has not (fan-in).
//
// # Trust
//
// Each appliance has one certificate (the web server's). A target trusts a
// source by the SHA-256 of its certificate (Service.AddSource), a source
// checks the target's certificate against the fingerprint in the mapping.
// The target checks the source's certificate during the TLS handshake, so
// an unpaired client never has a frame read; the first frame must be the
// hello, small and within a deadline, and each frame type has its own size
// cap after it (Limits, admit.go).
// A replica store is bound to the one source that created it; it is
// read-only to everything else (chunkstore replica stores) until promoted.
//
// # Wire format
//
// TLS 1.3, the source is the client. Frames: type u8, body length u32 big
// endian, body. JSON bodies unless said otherwise.
//
//	1 hello    source→target  {version, source, source_store, store, domain_name, domain_key, chunker}
//	2 ok       target→source  empty, or JSON ({size} after a commit)
//	3 err      target→source  {code, message}; code: denied, readonly, full, invalid, busy, data, internal
//	4 list     source→target  {}                      answered by listed
//	5 listed   target→source  [{name, size, digest}]  every item of the replica store
//	6 begin    source→target  {name, size, meta}      starts an import (replaces the item at commit)
//	7 recipe   source→target  binary: count u32, count × (fingerprint [32], raw length u32)
//	8 missing  target→source  binary: count u32, count × index u32 into the recipe frame
//	9 chunks   source→target  binary: chunks, each fingerprint [32], codec u8, raw u32, stored u32, bytes
//	10 commit  source→target  {digest, meta}          answered by ok or err
//	11 delete  source→target  {name}                  answered by ok (also when the item is absent)
//
// Chunks frames are not answered: a chunk that fails its check fails the
// import, and the next recipe or the commit is answered with err. An item's
// digest is BLAKE3 of its recipe entries (fingerprint, u32 little-endian
// length) then 0xff and its sorted metadata (key, 0, value, 0), 16 bytes in
// hex: the commit carries it and the target refuses a mismatch; listings
// compare it to find what differs.
//
// # On disk
//
// DIR/replication/config.json holds the settings, trusted sources, mappings
// and replicas; DIR/replication/journal/MAPPING.json is a mapping's
// journal: every replicated item's size, modification time and digest,
// and the mapping's totals. Both are written atomically (a synced temporary
// file renamed over the old one). A pass after a failure first compares
// the source with the target's listing, so a journal that is behind (a
// crash between a commit and its save) costs a comparison, not a resend.
//
// # Seeds
//
// A seed directory (Export, ImportSeed) holds seed.json (domain, store,
// items with their metadata and recipe lengths), recipes.bin (every item's
// recipe entries, 36 bytes each, in the order of seed.json) and
// chunks-NNNN.bin (chunks in the chunks frame format, each chunk once).
package replication

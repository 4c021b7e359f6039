// Package dedup is the vocabulary every part of Backstop shares: the
// fingerprint of a chunk, a recipe entry, a dedup domain and the chunking
// parameters it pins, an item, a store's settings and figures, and the
// sentinel errors that travel between the engine, the front ends and the
// Catalyst client.
//
// It holds types, constants, pure validation and nothing else: no state, no
// I/O, no goroutines. It must never import anything but the standard
// library, so that any package (the engine, a protocol front end, the client
// SDK that backup applications link) can name these types without pulling in
// badger, the volumes or the appliance. A type that needs a dependency or
// keeps state belongs to the package that owns it, not here.
//
// # Encodings
//
// The JSON tags of Domain and ChunkerParams are part of the index's on-disk
// format ('d' keys, see package chunkstore/index), and those of Item,
// StoreInfo and Stats are what the REST API and `backstop ... --json` print:
// none may change. A Fingerprint is 32 raw bytes wherever it is encoded.
//
// # Error messages
//
// The sentinel errors keep the "chunkstore:" and "chunker:" prefixes they had
// before they moved here, because users and scripts see those messages;
// chunkstore and chunker re-export them under their old names.
package dedup

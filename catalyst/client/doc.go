// Package client is the Go client of Backstop's Catalyst protocol: what a
// backup application links to store and restore items on an appliance,
// deduplicating on its own side when the store's transfer policy is low
// bandwidth. See package catalyst for the protocol.
//
// Import it as github.com/backstop-appliance/backstop/catalyst/client. The
// types it returns (Item, StoreInfo, Stats, ListOptions) and the errors it
// returns are package github.com/backstop-appliance/backstop/dedup's:
// test them with errors.Is(err, dedup.ErrNotFound) and the like (the
// engine's chunkstore.ErrNotFound is the same value), and
// catalystpb.ErrPermission, ErrAuth and ErrProtocol for the protocol's own.
//
// # Dependencies
//
// The client links no server code. It may import gRPC and protobuf,
// catalyst/catalystpb (the generated code and the conversions and error
// mapping both sides share), dedup (the shared vocabulary, standard library
// only), chunkstore/chunker (it chunks locally) and chunkstore/container
// (only for its compressor; a format package without the engine). It must
// never import, even indirectly, the engine (chunkstore), the index or the
// volumes, badger, anything under the module's internal/, the server
// package catalyst, gin or prometheus. TestDependencies enforces it.
package client

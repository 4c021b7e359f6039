// Package catalystpb is the Catalyst protocol's contract as Go code: the
// generated code of catalyst.proto (catalyst.pb.go, catalyst_grpc.pb.go;
// regenerate them with go generate, see docs/catalyst.md for the tools and
// their versions), and, hand-written beside it, what the server and the
// client SDK share: the mapping between errors and gRPC statuses
// (status.go), the conversions between messages and package dedup's types
// (convert.go) and the Basic credentials (auth.go).
//
// It imports only gRPC, protobuf and package dedup, never the engine, so
// that catalyst/client links no server code.
package catalystpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative catalyst.proto

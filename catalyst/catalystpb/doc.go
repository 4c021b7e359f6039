// Package catalystpb is the generated Go code of catalyst.proto, the
// Catalyst protocol's contract. Regenerate it with go generate (see
// package catalyst for the tools and their versions).
package catalystpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative catalyst.proto

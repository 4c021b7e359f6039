// Package catalyst is Backstop's client-side dedup protocol: a gRPC
// service (the contract is catalystpb/catalyst.proto) through which backup
// software stores and restores items, sending over the network only the
// chunks the appliance lacks (low bandwidth) or every byte (high
// bandwidth), as the store's transfer policy says.
//
// # Wire contract
//
// TLS with the appliance's certificate; every call carries
// "authorization: Basic base64(user:password)" of an appliance user. A
// store's client list (empty: every user) says who may use it; writes
// (put, rm, copy) need the operator role.
//
// A low bandwidth put:
//
//	client                                  server
//	GetStore(store)                     ->  chunker params, domain key, policy
//	Put stream: begin{store,name,...}   ->  ready
//	entries{seq, fps, lens}  (repeated) ->  missing{seq, indexes}   (in order)
//	chunk{fp, codec, raw_len, data}     ->  (decompressed, fingerprint recomputed)
//	commit{size}                        ->  committed{item, received bytes}
//
// The client pipelines: it sends entries ahead while missing answers come
// back, and sends each asked-for chunk compressed (s2 or zstd, or raw; the
// client's "auto" picks zstd while the put waits for its source).
// The server refuses a chunk whose bytes do not hash to its fingerprint
// (the stream fails, no item is stored), answers "missing" only from the
// store's own dedup domain, and refuses a commit whose recipe names a chunk
// never supplied. A stream that ends without commit (a cut connection)
// stores no item, but the chunks it received are flushed to containers:
// a retried put finds them present and does not send them again.
//
// A high bandwidth put is begin, data{bytes}..., commit: the server
// chunks.
//
// Get streams an item (or a byte range) back: the first message carries
// the item, the others data; every chunk is checked against its
// fingerprint on the server before it is sent.
//
// # Regenerating the Go code
//
//	apt-get install -y protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
//	go generate ./catalyst/catalystpb
package catalyst

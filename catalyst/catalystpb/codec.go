package catalystpb

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// NewBufferPool is the pool of message buffers of one client connection
// or one server. gRPC's default pool has tiers of 256 B, 4, 16 and 32 KiB
// and 1 MiB and zeroes a buffer's whole capacity on every Get, so each
// chunk message of a low bandwidth put (a compressed chunk: ~45 KiB for
// 64 KiB chunks) took a 1 MiB buffer and paid for clearing 1 MiB, twice
// on each end (marshalled or received, then joined from its frames):
// 15% of the client's CPU and 8% of the server's in a put of new data
// (docs/performance.md). With a tier at every power of two up to the
// largest chunk, a message clears at most twice its size.
func NewBufferPool() mem.BufferPool {
	return mem.NewTieredBufferPool(256, 4<<10, 16<<10, 32<<10, 64<<10, 128<<10, 256<<10, 512<<10, 1<<20)
}

// pooledCodec is the protobuf codec with its buffers from pool: gRPC's own
// takes them from the process-wide default pool. Its name is "proto",
// so the wire is what any gRPC peer sends and expects.
type pooledCodec struct{ pool mem.BufferPool }

// Name implements encoding.CodecV2.
func (pooledCodec) Name() string { return "proto" }

// Marshal implements encoding.CodecV2.
func (c pooledCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("catalystpb: cannot marshal %T: not a protobuf message", v)
	}
	size := proto.Size(m)
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := c.pool.Get(size)
	if _, err := (proto.MarshalOptions{}).MarshalAppend((*buf)[:0], m); err != nil {
		c.pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}

// Unmarshal implements encoding.CodecV2. The message gets copies of its
// bytes fields: the buffer goes back to the pool.
func (c pooledCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("catalystpb: cannot unmarshal into %T: not a protobuf message", v)
	}
	buf := data.MaterializeToBuffer(c.pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

// DialOptions are the client's options for its buffers: one pool for
// the transport and the codec.
func DialOptions() []grpc.DialOption {
	pool := NewBufferPool()
	return []grpc.DialOption{
		experimental.WithBufferPool(pool),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(pooledCodec{pool: pool})),
	}
}

// ServerOptions are the server's options for its buffers.
func ServerOptions() []grpc.ServerOption {
	pool := NewBufferPool()
	return []grpc.ServerOption{experimental.BufferPool(pool), grpc.ForceServerCodecV2(pooledCodec{pool: pool})}
}

package catalystpb

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// countingPool records the sizes asked of a pool and how many buffers
// came back.
type countingPool struct {
	mem.BufferPool
	gets []int
	puts int
}

func (p *countingPool) Get(n int) *[]byte { p.gets = append(p.gets, n); return p.BufferPool.Get(n) }
func (p *countingPool) Put(b *[]byte)     { p.puts++; p.BufferPool.Put(b) }

// A chunk message takes a buffer of about its own size, not gRPC's 1 MiB
// tier (which is cleared whole on every Get).
func TestBufferPoolFitsChunkMessages(t *testing.T) {
	pool := NewBufferPool()
	for _, n := range []int{20 << 10, 45 << 10, 64<<10 + 60, 200 << 10, 256<<10 + 60} {
		b := pool.Get(n)
		if len(*b) != n || cap(*b) > 2*n {
			t.Errorf("Get(%d): len %d cap %d, want len %d and cap at most %d", n, len(*b), cap(*b), n, 2*n)
		}
		pool.Put(b)
	}
}

// The codec's bytes are protobuf's, its buffers come from its pool and go
// back to it, and a message received in several pieces (HTTP/2 frames)
// decodes whole.
func TestPooledCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 45<<10)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	msg := &PutRequest{Msg: &PutRequest_Chunk{Chunk: &Chunk{Fp: bytes.Repeat([]byte{7}, 32), Codec: Codec_CODEC_S2, RawLen: 65536, Data: data}}}
	pool := &countingPool{BufferPool: NewBufferPool()}
	c := pooledCodec{pool: pool}
	if c.Name() != "proto" {
		t.Fatalf("name %q: the wire must stay gRPC's proto codec", c.Name())
	}

	out, err := c.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	got := out.Materialize()
	if !bytes.Equal(got, want) {
		t.Fatalf("marshalled %d bytes differ from proto.Marshal's %d", len(got), len(want))
	}
	if len(pool.gets) != 1 || pool.gets[0] != len(want) {
		t.Fatalf("marshal asked the pool for %v, want one buffer of %d", pool.gets, len(want))
	}
	out.Free()
	if pool.puts != 1 {
		t.Fatalf("%d buffers back in the pool after Free, want 1", pool.puts)
	}

	// Three pieces, as frames of 16 KiB would bring it.
	var in mem.BufferSlice
	for off := 0; off < len(want); off += 16 << 10 {
		in = append(in, mem.SliceBuffer(want[off:min(off+16<<10, len(want))]))
	}
	var back PutRequest
	if err := c.Unmarshal(in, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, msg) {
		t.Fatal("the message read back differs")
	}
	if len(pool.gets) != 2 || pool.gets[1] != len(want) || pool.puts != 2 {
		t.Fatalf("unmarshal: pool gets %v, puts %d; want a buffer of %d taken and returned", pool.gets, pool.puts, len(want))
	}
	// The decoded bytes are the message's own, not the pooled buffer's.
	b := pool.Get(len(want))
	for i := range *b {
		(*b)[i] = 0
	}
	if !bytes.Equal(back.GetChunk().GetData(), data) {
		t.Fatal("the decoded chunk aliases the pooled buffer")
	}

	if _, err := c.Marshal("not a message"); err == nil {
		t.Fatal("marshalled a string")
	}
	if err := c.Unmarshal(in, new(int)); err == nil {
		t.Fatal("unmarshalled into an int")
	}
}

package catalyst

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/zeebo/blake3"
	"google.golang.org/protobuf/proto"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
)

// FuzzPutRequest decodes a put stream's message as the server does: the
// protobuf (as gRPC hands it over), then the entries or the chunk. What
// decodes must say what the message said: as many entries as lengths,
// each with its own fingerprint bytes; a chunk with the codec and raw
// length it was sent with, or an error.
func FuzzPutRequest(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var req catalystpb.PutRequest
		if proto.Unmarshal(in, &req) != nil {
			return
		}
		switch m := req.Msg.(type) {
		case *catalystpb.PutRequest_Entries:
			ents, err := decodeEntries(m.Entries, nil)
			if err != nil {
				return
			}
			lens, fps := m.Entries.GetLens(), m.Entries.GetFps()
			if len(ents) != len(lens) || len(ents) > maxEntries {
				t.Fatalf("%d entries from %d lengths", len(ents), len(lens))
			}
			for i, en := range ents {
				if en.Len != lens[i] || !bytes.Equal(en.FP[:], fps[32*i:32*i+32]) {
					t.Fatalf("entry %d: %x/%d, sent %x/%d", i, en.FP, en.Len, fps[32*i:32*i+32], lens[i])
				}
			}
		case *catalystpb.PutRequest_Chunk:
			c, err := decodeChunk(m.Chunk)
			if err != nil {
				return
			}
			if int64(c.codec) != int64(m.Chunk.GetCodec()) || int64(c.raw) != int64(m.Chunk.GetRawLen()) ||
				!bytes.Equal(c.fp[:], m.Chunk.GetFp()) || len(c.data) != len(m.Chunk.GetData()) {
				t.Fatalf("chunk decoded as codec %d raw %d, sent codec %d raw %d", c.codec, c.raw, m.Chunk.GetCodec(), m.Chunk.GetRawLen())
			}
		case *catalystpb.PutRequest_Begin:
			m.Begin.GetMeta()
		}
	})
}

// TestWriteFuzzSeeds writes the messages of a low bandwidth put of real
// data (chunked, keyed fingerprints, compressed as the client does) to
// testdata/fuzz/FuzzPutRequest. Run with BACKSTOP_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BACKSTOP_FUZZ_SEEDS") == "" {
		t.Skip("BACKSTOP_FUZZ_SEEDS not set")
	}
	params := chunker.Params{Algorithm: chunker.Gear, Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 24<<10)
	for i := range data {
		if i%2048 < 1024 {
			data[i] = byte(r.Uint32())
		} else {
			data[i] = "backstop "[i%9]
		}
	}
	ch, err := chunker.New(bytes.NewReader(data), params)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	comp, err := container.NewCompressor(container.S2)
	if err != nil {
		t.Fatal(err)
	}
	var ents catalystpb.Entries
	var chunks []*catalystpb.Chunk
	for {
		piece, err := ch.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kh, _ := blake3.NewKeyed(key)
		kh.Write(piece)
		fp := kh.Sum(nil)
		ents.Fps = append(ents.Fps, fp...)
		ents.Lens = append(ents.Lens, uint32(len(piece)))
		stored, codec := comp.Compress(nil, piece)
		chunks = append(chunks, &catalystpb.Chunk{Fp: fp, Codec: catalystpb.Codec(codec), RawLen: uint32(len(piece)), Data: bytes.Clone(stored)})
	}
	ents.Seq = 1
	seeds := map[string]*catalystpb.PutRequest{
		"begin": {Msg: &catalystpb.PutRequest_Begin{Begin: &catalystpb.PutBegin{Store: "default", Name: "backup/2026-12-07.tar",
			Replace: true, Meta: map[string]string{"client": "fuzz"}, Transfer: catalystpb.Transfer_TRANSFER_LOW}}},
		"entries": {Msg: &catalystpb.PutRequest_Entries{Entries: &ents}},
		"commit":  {Msg: &catalystpb.PutRequest_Commit{Commit: &catalystpb.PutCommit{Size: 24 << 10}}},
		"data":    {Msg: &catalystpb.PutRequest_Data{Data: []byte("high bandwidth bytes")}},
	}
	for i, c := range chunks[:min(len(chunks), 2)] {
		seeds["chunk"+strconv.Itoa(i)] = &catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Chunk{Chunk: c}}
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzPutRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

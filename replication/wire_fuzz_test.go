package replication

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// FuzzFrames feeds a byte stream to the target's frame reader with a
// session's limits (the hello's cap first, then each type's) and decodes
// every frame as the session would. No input may make it panic, buffer a
// frame over its cap, or decode to something that encodes differently.
func FuzzFrames(f *testing.F) {
	f.Add(append(frameHeader(msgHello, 2), "{}"...))
	f.Add(frameHeader(msgChunks, maxFrame))
	lim := DefaultLimits()
	params := chunker.DefaultParams()
	f.Fuzz(func(t *testing.T, in []byte) {
		// newFrameConn's 2 x 256 KiB buffers would slow every run.
		fc := &frameConn{r: bufio.NewReader(bytes.NewReader(in)), w: bufio.NewWriterSize(io.Discard, 16)}
		var biggest int
		fc.grown = func(n int) { biggest = max(biggest, n) }
		fc.limit = lim.beforeHello
		caps := lim.session(params)
		for i := 0; ; i++ {
			typ, body, err := fc.recv()
			if err != nil {
				break
			}
			limit := lim.MaxHello
			if i > 0 {
				limit = caps(typ)
			}
			if len(body) > limit || biggest > limit && i == 0 {
				t.Fatalf("frame %d of type %d: %d bytes over its cap %d", i, typ, len(body), limit)
			}
			decodeFrame(t, typ, body)
			fc.limit = caps
		}
		if biggest > lim.MaxFrame {
			t.Fatalf("a frame buffer of %d bytes", biggest)
		}
	})
}

// decodeFrame decodes body as the target (or, for missing and listed,
// the source) does, and checks that binary bodies round-trip.
func decodeFrame(t *testing.T, typ byte, body []byte) {
	switch typ {
	case msgHello:
		var h hello
		json.Unmarshal(body, &h)
	case msgBegin, msgDelete:
		var b begin
		json.Unmarshal(body, &b)
	case msgCommit:
		var c struct {
			Digest string            `json:"digest"`
			Meta   map[string]string `json:"meta"`
		}
		json.Unmarshal(body, &c)
	case msgListed:
		var l []listedItem
		json.Unmarshal(body, &l)
	case msgErr:
		var re RemoteError
		json.Unmarshal(body, &re)
	case msgRecipe, msgMissing, msgChunks:
		checkChunkList(t, typ, body)
	}
}

// checkChunkList decodes a recipe, missing or chunks body and checks that
// what decodes encodes to the same bytes.
func checkChunkList(t *testing.T, typ byte, body []byte) {
	switch typ {
	case msgRecipe:
		ents, err := decodeRecipe(nil, body)
		if err != nil {
			return
		}
		if again := encodeRecipe(nil, ents); !bytes.Equal(again, body) {
			t.Fatalf("recipe of %d entries re-encodes to %d bytes, not %d", len(ents), len(again), len(body))
		}
	case msgMissing:
		idx, err := decodeIndexes(body, chunkstore.SegmentLen)
		if err != nil {
			return
		}
		for _, i := range idx {
			if i < 0 || i >= chunkstore.SegmentLen {
				t.Fatalf("missing index %d out of range", i)
			}
		}
		if again := encodeIndexes(nil, idx); !bytes.Equal(again, body) {
			t.Fatalf("missing frame re-encodes differently")
		}
	case msgChunks:
		var again []byte
		err := eachChunk(body, func(fp dedup.Fingerprint, codec container.Codec, data []byte, raw int) error {
			if raw < 0 || len(data) > len(body) {
				t.Fatalf("chunk of %d raw, %d stored bytes in a %d-byte frame", raw, len(data), len(body))
			}
			again = appendChunk(again, fp, codec, raw, data)
			return nil
		})
		if err == nil && !bytes.Equal(again, body) {
			t.Fatalf("chunks frame re-encodes differently")
		}
	}
}

// FuzzChunkList decodes one body as a recipe, a missing and a chunks
// frame (the binary lists of the wire format).
func FuzzChunkList(f *testing.F) {
	f.Add(encodeRecipe(nil, []dedup.RecipeEntry{{Len: 1}}))
	f.Add(encodeIndexes(nil, []int{0, 3}))
	f.Add(appendChunk(nil, dedup.Fingerprint{1}, container.S2, 3, []byte("abc")))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range []byte{msgRecipe, msgMissing, msgChunks} {
			checkChunkList(t, typ, body)
		}
	})
}

// TestWriteFuzzSeeds captures the frames of a real replication pass into
// testdata/fuzz (FuzzFrames: each session's stream; FuzzChunkList: the
// binary bodies). Run with BACKSTOP_FUZZ_SEEDS=1 to refresh them.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BACKSTOP_FUZZ_SEEDS") == "" {
		t.Skip("BACKSTOP_FUZZ_SEEDS not set")
	}
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	var mu sync.Mutex
	var stream []byte
	lists := map[byte][][]byte{}
	tap := func(typ byte, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		stream = append(append(stream, frameHeader(typ, uint32(len(body)))...), body...)
		if typ == msgRecipe || typ == msgChunks {
			lists[typ] = append(lists[typ], bytes.Clone(body))
		}
	}
	b.svc.gate.tap.Store(&tap)
	a.put("default", "small", testData(3, 10<<10))
	a.put("default", "meta", testData(4, 6<<10))
	a.mapTo(b, "m", "default", "copy", "")
	if err := a.svc.Sync(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	// The second pass sends a delete.
	if err := a.eng.Delete(t.Context(), "default", "meta"); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	writeSeed(t, "FuzzFrames", "pass", stream)
	for typ, bodies := range lists {
		for i, body := range bodies[:min(len(bodies), 2)] {
			writeSeed(t, "FuzzChunkList", fmt.Sprintf("type%d-%d", typ, i), body)
		}
	}
	writeSeed(t, "FuzzChunkList", "missing", encodeIndexes(nil, []int{0, 2, 5}))
}

// writeSeed writes b as a corpus entry of fuzz target target.
func writeSeed(t *testing.T, target, name string, b []byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s/%s: %d bytes", target, name, len(b))
}

package replication

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// Frame types (see doc.go).
const (
	msgHello   byte = 1
	msgOK      byte = 2
	msgErr     byte = 3
	msgList    byte = 4
	msgListed  byte = 5
	msgBegin   byte = 6
	msgRecipe  byte = 7
	msgMissing byte = 8
	msgChunks  byte = 9
	msgCommit  byte = 10
	msgDelete  byte = 11
)

// protocolVersion is sent in hello; a target refuses another.
const protocolVersion = 1

// maxFrame bounds a frame body: a chunks frame holds up to chunksFrame
// bytes of chunk data plus one largest chunk. It is Limits.MaxFrame's
// default; the target caps each frame type lower (Limits).
const maxFrame = 64 << 20

// chunkHeader is the size of a chunk's header in a chunks frame.
const chunkHeader = 41

// recipeFrameMax is the largest recipe frame a source sends: a count and
// one recipe segment (the engine's segments hold at most SegmentLen).
const recipeFrameMax = 4 + 36*chunkstore.SegmentLen

// chunksFrame is the chunk data the source packs into one frame. The
// target acts on whole frames, so a cut link loses at most one frame of
// what it carried.
const chunksFrame = 128 << 10

// Error codes of an err frame.
const (
	codeDenied   = "denied"   // the source's certificate is not trusted
	codeReadOnly = "readonly" // the target store is not a replica bound to this source
	codeFull     = "full"     // the target has no space left
	codeInvalid  = "invalid"  // a malformed or out-of-order request
	codeBusy     = "busy"     // the item is being written by another stream
	codeData     = "data"     // a chunk failed its fingerprint check
	codeInternal = "internal"
)

// ErrRemote is a failure the other appliance reported.
var ErrRemote = errors.New("replication: refused by the target")

// RemoteError is an err frame.
type RemoteError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *RemoteError) Error() string {
	return "replication: target: " + e.Message + " (" + e.Code + ")"
}

// Is makes errors.Is(err, ErrRemote) true, and errors.Is with the
// engine's error the code stands for (chunkstore.ErrFull for full,
// ErrBusy for busy), as on the target.
func (e *RemoteError) Is(target error) bool {
	switch e.Code {
	case codeFull:
		return target == ErrRemote || target == dedup.ErrFull
	case codeBusy:
		return target == ErrRemote || target == dedup.ErrBusy
	}
	return target == ErrRemote
}

// hello opens a session: which store of the target to write, in which
// dedup domain.
type hello struct {
	Version     int            `json:"version"`
	Source      string         `json:"source"` // the source's mapping name, for the target's records
	SourceStore string         `json:"source_store"`
	Store       string         `json:"store"` // target store
	DomainName  string         `json:"domain_name"`
	DomainKey   []byte         `json:"domain_key"`
	Chunker     chunker.Params `json:"chunker"`
}

// listedItem is one item of a listed frame.
type listedItem struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

// begin starts an item.
type begin struct {
	Name   string            `json:"name"`
	Size   int64             `json:"size"`
	Meta   map[string]string `json:"meta,omitempty"`
	Digest string            `json:"digest"`
}

// committed answers a commit.
type committed struct {
	Size int64 `json:"size"`
}

// ErrFrameSize is a frame longer than its type allows: the connection
// ends, since what follows its header cannot be trusted to be a frame.
var ErrFrameSize = errors.New("replication: frame too large")

// frameConn reads and writes frames. limit caps each received frame's body
// by its type before any of it is read or buffered; the frame buffer grows
// to the largest frame accepted, so limit bounds the connection's memory.
type frameConn struct {
	r     *bufio.Reader
	w     *bufio.Writer
	hdr   [5]byte
	buf   []byte
	limit func(typ byte) int
	// grown, when set, counts the bytes of frame buffer allocated.
	grown func(n int)
}

// frameBufSize is each direction's buffer of a frameConn.
const frameBufSize = 256 << 10

func newFrameConn(rw io.ReadWriter) *frameConn {
	return &frameConn{r: bufio.NewReaderSize(rw, frameBufSize), w: bufio.NewWriterSize(rw, frameBufSize),
		limit: func(byte) int { return maxFrame }}
}

// send writes one frame; flush sends it on.
func (c *frameConn) send(typ byte, body []byte) error {
	c.hdr[0] = typ
	binary.BigEndian.PutUint32(c.hdr[1:], uint32(len(body)))
	if _, err := c.w.Write(c.hdr[:]); err != nil {
		return err
	}
	_, err := c.w.Write(body)
	return err
}

func (c *frameConn) sendJSON(typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.send(typ, b)
}

func (c *frameConn) flush() error { return c.w.Flush() }

// recv reads one frame; body is valid until the next recv.
func (c *frameConn) recv() (byte, []byte, error) {
	if _, err := io.ReadFull(c.r, c.hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(c.hdr[1:])
	if limit := c.limit(c.hdr[0]); int64(n) > int64(limit) {
		return 0, nil, fmt.Errorf("%w: type %d of %d bytes (at most %d)", ErrFrameSize, c.hdr[0], n, limit)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
		if c.grown != nil {
			c.grown(int(n))
		}
	}
	body := c.buf[:n]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return c.hdr[0], body, nil
}

// call sends a request and reads the answer: ok, its body into out (when
// not nil), or an err frame as a *RemoteError.
func (c *frameConn) call(typ byte, in any, want byte, out any) error {
	var err error
	if b, ok := in.([]byte); ok {
		err = c.send(typ, b)
	} else {
		err = c.sendJSON(typ, in)
	}
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		return err
	}
	return c.answer(want, out)
}

func (c *frameConn) answer(want byte, out any) error {
	typ, body, err := c.recv()
	if err != nil {
		return err
	}
	switch typ {
	case want:
		if out == nil {
			return nil
		}
		if p, ok := out.(*[]byte); ok {
			*p = body
			return nil
		}
		return json.Unmarshal(body, out)
	case msgErr:
		var re RemoteError
		if err := json.Unmarshal(body, &re); err != nil {
			return fmt.Errorf("replication: malformed err frame: %w", err)
		}
		return &re
	}
	return fmt.Errorf("replication: frame type %d where %d was due", typ, want)
}

// A recipe frame is a u32 count and count entries of a fingerprint and a
// u32 raw length; a missing frame is a u32 count and count u32 indexes.

func encodeRecipe(dst []byte, entries []dedup.RecipeEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(len(entries)))
	for _, en := range entries {
		dst = append(dst, en.FP[:]...)
		dst = binary.BigEndian.AppendUint32(dst, en.Len)
	}
	return dst
}

func decodeRecipe(dst []dedup.RecipeEntry, b []byte) ([]dedup.RecipeEntry, error) {
	if len(b) < 4 {
		return nil, errors.New("short recipe frame")
	}
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if len(b) != n*36 {
		return nil, fmt.Errorf("recipe frame of %d entries has %d bytes", n, len(b))
	}
	dst = dst[:0]
	for i := 0; i < n; i++ {
		var en dedup.RecipeEntry
		copy(en.FP[:], b[i*36:])
		en.Len = binary.BigEndian.Uint32(b[i*36+32:])
		dst = append(dst, en)
	}
	return dst, nil
}

func encodeIndexes(dst []byte, idx []int) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(len(idx)))
	for _, i := range idx {
		dst = binary.BigEndian.AppendUint32(dst, uint32(i))
	}
	return dst
}

func decodeIndexes(b []byte, limit int) ([]int, error) {
	if len(b) < 4 {
		return nil, errors.New("short missing frame")
	}
	n := int(binary.BigEndian.Uint32(b))
	if len(b) != 4+4*n {
		return nil, fmt.Errorf("missing frame of %d indexes has %d bytes", n, len(b))
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
		if out[i] >= limit {
			return nil, fmt.Errorf("missing index %d of a %d-entry recipe", out[i], limit)
		}
	}
	return out, nil
}

// A chunks frame is chunks one after the other: fingerprint, codec u8,
// raw length u32, stored length u32, stored bytes.

func appendChunk(dst []byte, fp dedup.Fingerprint, codec container.Codec, raw int, data []byte) []byte {
	dst = append(dst, fp[:]...)
	dst = append(dst, byte(codec))
	dst = binary.BigEndian.AppendUint32(dst, uint32(raw))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	return append(dst, data...)
}

// eachChunk calls fn for every chunk of a chunks frame.
func eachChunk(b []byte, fn func(fp dedup.Fingerprint, codec container.Codec, data []byte, raw int) error) error {
	for len(b) > 0 {
		if len(b) < chunkHeader {
			return errors.New("short chunk header")
		}
		var fp dedup.Fingerprint
		copy(fp[:], b)
		codec := container.Codec(b[32])
		raw := int(binary.BigEndian.Uint32(b[33:]))
		n := int(binary.BigEndian.Uint32(b[37:]))
		b = b[chunkHeader:]
		if n > len(b) {
			return fmt.Errorf("chunk of %d bytes in %d left", n, len(b))
		}
		if err := fn(fp, codec, b[:n], raw); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/backstop-appliance/backstop/dedup"
)

// Sizes of the fixed parts of a container.
const (
	HeaderSize  = 32
	EntrySize   = 48
	TrailerSize = 8
	// Version is a plain container's; VersionSealed an encrypted one's,
	// whose body starts with the key block and whose records are sealed
	// (crypt.go).
	Version       = 1
	VersionSealed = 2
	// MaxBody bounds the body of a container, so that a damaged header
	// cannot make a reader allocate gigabytes.
	MaxBody = 64 << 20
	// MaxCount bounds the number of records in a container.
	MaxCount = MaxBody / 64
)

var magic = [4]byte{'B', 'K', 'S', 'C'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a container that fails its checks.
var ErrCorrupt = errors.New("container: corrupt")

// Header is the fixed-size start of a container.
type Header struct {
	ID     uint64
	Domain uint32
	Count  uint32
	Body   uint32
	// Sealed: version 2, the body starts with a KeyBlockSize key block
	// and every record is sealed with the container's data key.
	Sealed bool
}

// Size is the length of the whole container.
func (h Header) Size() int64 {
	return HeaderSize + int64(h.Body) + int64(h.Count)*EntrySize + TrailerSize
}

// FooterOffset is where the footer starts, from the start of the container.
func (h Header) FooterOffset() int64 { return HeaderSize + int64(h.Body) }

// FooterSize is the length of the footer and trailer together.
func (h Header) FooterSize() int64 { return int64(h.Count)*EntrySize + TrailerSize }

// Entry describes one chunk record.
type Entry struct {
	FP     dedup.Fingerprint
	Offset uint32 // within the body
	Stored uint32
	Raw    uint32
	Codec  Codec
}

// ParseHeader decodes and checks a header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: short header (%d bytes)", ErrCorrupt, len(b))
	}
	if [4]byte(b[0:4]) != magic {
		return Header{}, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[0:4])
	}
	if b[4] != Version && b[4] != VersionSealed {
		return Header{}, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[4])
	}
	if got, want := crc32.Checksum(b[:28], castagnoli), binary.LittleEndian.Uint32(b[28:]); got != want {
		return Header{}, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	h := Header{
		ID:     binary.LittleEndian.Uint64(b[8:]),
		Domain: binary.LittleEndian.Uint32(b[16:]),
		Count:  binary.LittleEndian.Uint32(b[20:]),
		Body:   binary.LittleEndian.Uint32(b[24:]),
		Sealed: b[4] == VersionSealed,
	}
	if h.Sealed && h.Body < KeyBlockSize {
		return Header{}, fmt.Errorf("%w: sealed container without a key block", ErrCorrupt)
	}
	if h.Body > MaxBody || h.Count > MaxCount {
		return Header{}, fmt.Errorf("%w: implausible size (%d records, %d bytes)", ErrCorrupt, h.Count, h.Body)
	}
	return h, nil
}

func putHeader(b []byte, h Header) {
	copy(b[0:4], magic[:])
	b[4] = Version
	if h.Sealed {
		b[4] = VersionSealed
	}
	b[5], b[6], b[7] = 0, 0, 0
	binary.LittleEndian.PutUint64(b[8:], h.ID)
	binary.LittleEndian.PutUint32(b[16:], h.Domain)
	binary.LittleEndian.PutUint32(b[20:], h.Count)
	binary.LittleEndian.PutUint32(b[24:], h.Body)
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
}

func putEntry(b []byte, e Entry) {
	copy(b[0:32], e.FP[:])
	binary.LittleEndian.PutUint32(b[32:], e.Offset)
	binary.LittleEndian.PutUint32(b[36:], e.Stored)
	binary.LittleEndian.PutUint32(b[40:], e.Raw)
	b[44] = byte(e.Codec)
	b[45], b[46], b[47] = 0, 0, 0
}

// ParseFooter decodes the footer and trailer of a container whose header is
// h. It checks the footer checksum and that every record lies in the body;
// it cannot check the body, which it does not see.
func ParseFooter(h Header, b []byte) ([]Entry, error) {
	if int64(len(b)) != h.FooterSize() {
		return nil, fmt.Errorf("%w: footer is %d bytes, want %d", ErrCorrupt, len(b), h.FooterSize())
	}
	n := int(h.Count) * EntrySize
	if got, want := crc32.Checksum(b[:n], castagnoli), binary.LittleEndian.Uint32(b[n:]); got != want {
		return nil, fmt.Errorf("%w: footer checksum mismatch", ErrCorrupt)
	}
	entries := make([]Entry, h.Count)
	for i := range entries {
		p := b[i*EntrySize:]
		e := Entry{
			FP:     dedup.Fingerprint(p[0:32]),
			Offset: binary.LittleEndian.Uint32(p[32:]),
			Stored: binary.LittleEndian.Uint32(p[36:]),
			Raw:    binary.LittleEndian.Uint32(p[40:]),
			Codec:  Codec(p[44]),
		}
		if uint64(e.Offset)+uint64(e.Stored) > uint64(h.Body) || !e.Codec.valid() ||
			(h.Sealed && (e.Offset < KeyBlockSize || e.Stored < TagSize)) {
			return nil, fmt.Errorf("%w: record %d out of bounds or bad codec", ErrCorrupt, i)
		}
		entries[i] = e
	}
	return entries, nil
}

// Parse decodes a whole container and checks all its checksums.
func Parse(b []byte) (Header, []Entry, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, nil, err
	}
	if int64(len(b)) != h.Size() {
		return h, nil, fmt.Errorf("%w: container is %d bytes, header says %d", ErrCorrupt, len(b), h.Size())
	}
	if err := CheckSum(b); err != nil {
		return h, nil, err
	}
	entries, err := ParseFooter(h, b[h.FooterOffset():])
	return h, entries, err
}

// CheckSum checks the whole-container checksum of b, a container of the
// length its header gives.
func CheckSum(b []byte) error {
	if len(b) < HeaderSize+TrailerSize {
		return fmt.Errorf("%w: %d bytes is too short for a container", ErrCorrupt, len(b))
	}
	end := len(b) - 4
	if got, want := crc32.Checksum(b[:end], castagnoli), binary.LittleEndian.Uint32(b[end:]); got != want {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return nil
}

// Builder accumulates the records of one container. It is not safe for
// concurrent use.
type Builder struct {
	buf     []byte
	entries []Entry
	limit   int
	kek     *KEK     // nil: plain containers
	dk      *DataKey // this container's, when kek is set
}

// NewBuilder returns a builder whose containers hold about limit bytes of
// body: Full reports true once the body reaches it.
func NewBuilder(limit int) *Builder { return NewSealingBuilder(limit, nil) }

// NewSealingBuilder returns a builder whose containers are sealed with a
// fresh data key each, wrapped by kek; with a nil kek it is NewBuilder.
func NewSealingBuilder(limit int, kek *KEK) *Builder {
	b := &Builder{limit: limit, kek: kek}
	b.Reset()
	return b
}

// Reset empties the builder for the next container (with a new data key
// when it seals).
func (b *Builder) Reset() {
	if b.buf == nil {
		// Grown on demand: a stream that stores a few bytes should not
		// hold a whole container's worth of memory.
		b.buf = make([]byte, HeaderSize, HeaderSize+min(b.limit, 64<<10))
	}
	b.buf = b.buf[:HeaderSize]
	b.entries = b.entries[:0]
	if b.kek != nil {
		dk, err := NewDataKey()
		if err != nil {
			panic(err) // AES-256 with a 32-byte key cannot fail
		}
		b.dk = dk
		b.buf = append(b.buf, make([]byte, KeyBlockSize)...)
	}
}

// Add appends a record and returns its offset in the body. A sealing
// builder seals stored (TagSize more bytes in the body; Entries says how
// many).
func (b *Builder) Add(fp dedup.Fingerprint, stored []byte, raw int, codec Codec) uint32 {
	off := uint32(len(b.buf) - HeaderSize)
	if b.dk != nil {
		b.buf = b.dk.SealRecord(b.buf, stored, off, fp, uint32(raw), codec)
	} else {
		b.buf = append(b.buf, stored...)
	}
	n := uint32(len(b.buf)-HeaderSize) - off
	b.entries = append(b.entries, Entry{FP: fp, Offset: off, Stored: n, Raw: uint32(raw), Codec: codec})
	return off
}

// Len is the body length so far (also after Seal).
func (b *Builder) Len() int {
	if len(b.entries) == 0 {
		if b.dk != nil {
			return KeyBlockSize
		}
		return 0
	}
	last := b.entries[len(b.entries)-1]
	return int(last.Offset + last.Stored)
}

// Count is the number of records so far.
func (b *Builder) Count() int { return len(b.entries) }

// Full reports whether the body has reached the builder's limit.
func (b *Builder) Full() bool { return b.Len() >= b.limit }

// Entries are the records added so far; valid until Reset.
func (b *Builder) Entries() []Entry { return b.entries }

// Seal finishes the container and returns its bytes, valid until Reset.
func (b *Builder) Seal(id uint64, domain uint32) []byte {
	h := Header{ID: id, Domain: domain, Count: uint32(len(b.entries)), Body: uint32(b.Len()), Sealed: b.dk != nil}
	if b.dk != nil {
		b.kek.Wrap(b.buf[HeaderSize:], b.dk, id, domain)
	}
	footer := len(b.buf)
	for _, e := range b.entries {
		var p [EntrySize]byte
		putEntry(p[:], e)
		b.buf = append(b.buf, p[:]...)
	}
	b.buf = binary.LittleEndian.AppendUint32(b.buf, crc32.Checksum(b.buf[footer:], castagnoli))
	putHeader(b.buf, h)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, crc32.Checksum(b.buf, castagnoli))
	return b.buf
}

package container

import (
	"fmt"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec says how a record is stored.
type Codec uint8

// Codecs. A record is stored raw whenever compressing it would not save at
// least 1/32 of its size.
const (
	Raw  Codec = 0
	S2   Codec = 1
	Zstd Codec = 2
)

func (c Codec) valid() bool { return c <= Zstd }

func (c Codec) String() string {
	switch c {
	case Raw:
		return "raw"
	case S2:
		return "s2"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// ParseCodec maps a name ("none", "s2", "zstd") to a codec. The adaptive
// policy ("auto") is the engine's, not a codec.
func ParseCodec(name string) (Codec, error) {
	switch name {
	case "none", "raw":
		return Raw, nil
	case "s2":
		return S2, nil
	case "zstd":
		return Zstd, nil
	}
	return Raw, fmt.Errorf("container: unknown compression %q (want none, s2 or zstd)", name)
}

// Zstd levels a compressor can use. All decode with the same decoder, so a
// record's codec is Zstd whatever the level: the level is a choice of the
// writer (inline: fastest; cold data: stronger), not part of the format.
const (
	LevelFastest = int(zstd.SpeedFastest)
	LevelDefault = int(zstd.SpeedDefault)
	LevelBetter  = int(zstd.SpeedBetterCompression)
	LevelBest    = int(zstd.SpeedBestCompression)
)

// ParseLevel maps a zstd level name ("fastest", "default", "better",
// "best") to a level.
func ParseLevel(name string) (int, error) {
	switch name {
	case "fastest":
		return LevelFastest, nil
	case "default":
		return LevelDefault, nil
	case "better":
		return LevelBetter, nil
	case "best":
		return LevelBest, nil
	}
	return 0, fmt.Errorf("container: unknown zstd level %q (want fastest, default, better or best)", name)
}

// LevelName is the name ParseLevel takes for level.
func LevelName(level int) string { return zstd.EncoderLevel(level).String() }

// Compressor compresses records with one codec. It is not safe for
// concurrent use: give each worker its own.
type Compressor struct {
	codec Codec
	zenc  *zstd.Encoder
}

// NewCompressor returns a compressor for codec (zstd at its fastest level).
func NewCompressor(codec Codec) (*Compressor, error) {
	return NewCompressorLevel(codec, LevelFastest)
}

// NewCompressorLevel returns a compressor for codec; level is the zstd
// level (LevelFastest to LevelBest) and matters only for Zstd.
func NewCompressorLevel(codec Codec, level int) (*Compressor, error) {
	c := &Compressor{codec: codec}
	if codec == Zstd {
		if level < LevelFastest || level > LevelBest {
			return nil, fmt.Errorf("container: zstd level %d (want %d to %d)", level, LevelFastest, LevelBest)
		}
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevel(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("container: zstd encoder: %w", err)
		}
		c.zenc = enc
	}
	return c, nil
}

// Compress encodes src into dst's spare capacity and returns the stored
// bytes and their codec: src itself and Raw when compression does not help.
func (c *Compressor) Compress(dst, src []byte) ([]byte, Codec) {
	var out []byte
	switch c.codec {
	case S2:
		out = s2.Encode(dst[:cap(dst)], src)
	case Zstd:
		out = c.zenc.EncodeAll(src, dst[:0])
	default:
		return src, Raw
	}
	if len(out) >= len(src)-len(src)/32 {
		return src, Raw
	}
	return out, c.codec
}

// Decompressor decodes records; it is safe for concurrent use.
type Decompressor struct {
	zdec *zstd.Decoder
}

// NewDecompressor returns a decompressor for every codec.
func NewDecompressor() (*Decompressor, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(MaxBody), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, fmt.Errorf("container: zstd decoder: %w", err)
	}
	return &Decompressor{zdec: dec}, nil
}

// Close releases the decoder's goroutines.
func (d *Decompressor) Close() { d.zdec.Close() }

// Decompress decodes a record of raw bytes into dst's capacity and returns
// the decoded bytes. For Raw records it returns stored itself.
func (d *Decompressor) Decompress(dst, stored []byte, codec Codec, raw int) ([]byte, error) {
	var out []byte
	var err error
	switch codec {
	case Raw:
		out = stored
	case S2:
		if n, derr := s2.DecodedLen(stored); derr != nil || n != raw {
			return nil, fmt.Errorf("%w: s2 record length %d, want %d (%v)", ErrCorrupt, n, raw, derr)
		}
		if cap(dst) < raw {
			dst = make([]byte, raw)
		}
		out, err = s2.Decode(dst[:cap(dst)], stored)
	case Zstd:
		// The decoder stops at raw bytes (WithDecodeAllCapLimit): a
		// record that claims a small chunk but inflates to more, which a
		// hostile Catalyst client can send, costs no more than raw.
		if cap(dst) < raw {
			dst = make([]byte, raw)
		}
		out, err = d.zdec.DecodeAll(stored, dst[:0:raw])
	default:
		return nil, fmt.Errorf("%w: unknown codec %d", ErrCorrupt, codec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decode %s record: %v", ErrCorrupt, codec, err)
	}
	if len(out) != raw {
		return nil, fmt.Errorf("%w: %s record decodes to %d bytes, want %d", ErrCorrupt, codec, len(out), raw)
	}
	return out, nil
}

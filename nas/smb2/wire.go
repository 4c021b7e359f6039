package smb2

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
)

var le = binary.LittleEndian

// Commands ([MS-SMB2] 2.2.1).
const (
	cmdNegotiate      = 0x00
	cmdSessionSetup   = 0x01
	cmdLogoff         = 0x02
	cmdTreeConnect    = 0x03
	cmdTreeDisconnect = 0x04
	cmdCreate         = 0x05
	cmdClose          = 0x06
	cmdFlush          = 0x07
	cmdRead           = 0x08
	cmdWrite          = 0x09
	cmdLock           = 0x0A
	cmdIoctl          = 0x0B
	cmdCancel         = 0x0C
	cmdEcho           = 0x0D
	cmdQueryDirectory = 0x0E
	cmdChangeNotify   = 0x0F
	cmdQueryInfo      = 0x10
	cmdSetInfo        = 0x11
	cmdOplockBreak    = 0x12
	numCommands       = 0x13
)

// Header flags.
const (
	flagResponse = 0x00000001
	flagAsync    = 0x00000002
	flagRelated  = 0x00000004
	flagSigned   = 0x00000008
)

// Dialects.
const (
	dialect202  = 0x0202
	dialect210  = 0x0210
	dialect300  = 0x0300
	dialect302  = 0x0302
	dialect311  = 0x0311
	dialectWild = 0x02FF
)

const (
	headerSize    = 64
	transformSize = 52
	protoSMB2     = 0x424D53FE // "\xFESMB" read little-endian
	protoTransfm  = 0x424D53FD // "\xFDSMB"
	protoSMB1     = 0x424D53FF // "\xFFSMB"
)

// header is the 64-byte SMB2 header ([MS-SMB2] 2.2.1.2).
type header struct {
	CreditCharge uint16
	Status       Status // ChannelSequence in 3.x requests, ignored
	Command      uint16
	Credit       uint16 // CreditRequest / CreditResponse
	Flags        uint32
	NextCommand  uint32
	MessageID    uint64
	AsyncID      uint64 // with flagAsync
	TreeID       uint32 // without flagAsync
	SessionID    uint64
	Signature    [16]byte
}

// parseHeader decodes the header at the start of b; ok is false when b
// is short or not an SMB2 header.
func parseHeader(b []byte) (h header, ok bool) {
	if len(b) < headerSize || le.Uint32(b) != protoSMB2 || le.Uint16(b[4:]) != headerSize {
		return h, false
	}
	h.CreditCharge = le.Uint16(b[6:])
	h.Status = Status(le.Uint32(b[8:]))
	h.Command = le.Uint16(b[12:])
	h.Credit = le.Uint16(b[14:])
	h.Flags = le.Uint32(b[16:])
	h.NextCommand = le.Uint32(b[20:])
	h.MessageID = le.Uint64(b[24:])
	if h.Flags&flagAsync != 0 {
		h.AsyncID = le.Uint64(b[32:])
	} else {
		h.TreeID = le.Uint32(b[36:])
	}
	h.SessionID = le.Uint64(b[40:])
	copy(h.Signature[:], b[48:64])
	return h, true
}

// put encodes h into b[:64].
func (h *header) put(b []byte) {
	le.PutUint32(b, protoSMB2)
	le.PutUint16(b[4:], headerSize)
	le.PutUint16(b[6:], h.CreditCharge)
	le.PutUint32(b[8:], uint32(h.Status))
	le.PutUint16(b[12:], h.Command)
	le.PutUint16(b[14:], h.Credit)
	le.PutUint32(b[16:], h.Flags)
	le.PutUint32(b[20:], h.NextCommand)
	le.PutUint64(b[24:], h.MessageID)
	if h.Flags&flagAsync != 0 {
		le.PutUint64(b[32:], h.AsyncID)
	} else {
		le.PutUint32(b[32:], 0)
		le.PutUint32(b[36:], h.TreeID)
	}
	le.PutUint64(b[40:], h.SessionID)
	copy(b[48:64], h.Signature[:])
}

// fileID is an SMB2_FILEID: persistent and volatile halves.
type fileID struct{ Persistent, Volatile uint64 }

var relatedFileID = fileID{^uint64(0), ^uint64(0)}

func getFileID(b []byte) fileID {
	return fileID{le.Uint64(b), le.Uint64(b[8:])}
}

func putFileID(b []byte, id fileID) {
	le.PutUint64(b, id.Persistent)
	le.PutUint64(b[8:], id.Volatile)
}

// buf is an append-only little-endian encoder.
type buf struct{ b []byte }

func (w *buf) u8(v uint8)     { w.b = append(w.b, v) }
func (w *buf) u16(v uint16)   { w.b = le.AppendUint16(w.b, v) }
func (w *buf) u32(v uint32)   { w.b = le.AppendUint32(w.b, v) }
func (w *buf) u64(v uint64)   { w.b = le.AppendUint64(w.b, v) }
func (w *buf) bytes(p []byte) { w.b = append(w.b, p...) }
func (w *buf) zero(n int)     { w.b = append(w.b, make([]byte, n)...) }
func (w *buf) time(t time.Time) {
	w.u64(filetime(t))
}

// align pads with zeros to a multiple of n.
func (w *buf) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

// FILETIME: 100ns intervals since 1601-01-01 UTC, as a signed 64-bit
// count; 1601 is 11644473600 seconds before the Unix epoch.
const (
	filetimeEpoch   = 11644473600
	filetimePerSec  = 10_000_000
	filetimeMaxUnit = 1<<63 - 1
)

// filetime converts to a FILETIME (0 for the zero time). The arithmetic
// is in seconds so that every time the format holds (1601 to 30828)
// converts, not only those time.Duration reaches (1678 to 2262); times
// outside the format are clamped to its ends.
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix() + filetimeEpoch
	switch {
	case sec < 0:
		return 0
	case sec >= filetimeMaxUnit/filetimePerSec:
		if sec > filetimeMaxUnit/filetimePerSec {
			return filetimeMaxUnit
		}
		v := uint64(sec)*filetimePerSec + uint64(t.Nanosecond()/100)
		return min(v, filetimeMaxUnit)
	}
	return uint64(sec)*filetimePerSec + uint64(t.Nanosecond()/100)
}

// fromFiletime converts a FILETIME in the format's range (0 to 2^63-1)
// back to a time, exactly.
func fromFiletime(v uint64) time.Time {
	v &= filetimeMaxUnit
	sec := int64(v/filetimePerSec) - filetimeEpoch
	return time.Unix(sec, int64(v%filetimePerSec)*100).UTC()
}

// utf16le encodes s as UTF-16LE.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(b[2*i:], c)
	}
	return b
}

// fromUTF16le decodes UTF-16LE (an odd trailing byte is dropped).
func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// field returns body[off-64 : off-64+n] for an offset counted from the
// start of the SMB2 header, or false when it does not fit in msg.
func field(msg []byte, off, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	end := uint64(off) + uint64(n)
	if off < headerSize || end > uint64(len(msg)) {
		return nil, false
	}
	return msg[off:end], true
}

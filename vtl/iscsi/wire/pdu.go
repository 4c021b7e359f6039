package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Opcodes (RFC 7143 11.1.1). Initiator opcodes first, then target ones.
const (
	OpNopOut       = 0x00
	OpSCSICommand  = 0x01
	OpTaskMgmt     = 0x02
	OpLoginReq     = 0x03
	OpTextReq      = 0x04
	OpDataOut      = 0x05
	OpLogoutReq    = 0x06
	OpSNACK        = 0x10
	OpNopIn        = 0x20
	OpSCSIResponse = 0x21
	OpTaskMgmtResp = 0x22
	OpLoginResp    = 0x23
	OpTextResp     = 0x24
	OpDataIn       = 0x25
	OpLogoutResp   = 0x26
	OpR2T          = 0x31
	OpAsync        = 0x32
	OpReject       = 0x3f
)

// Flag bits in byte 1.
const (
	FlagFinal     = 0x80
	FlagContinue  = 0x40 // login/text: more data follows
	FlagTransit   = 0x80 // login
	FlagRead      = 0x40 // SCSI command
	FlagWrite     = 0x20 // SCSI command
	FlagAck       = 0x40 // Data-In
	FlagOverflow  = 0x04 // Data-In, SCSI response: residual overflow
	FlagUnderflow = 0x02 // Data-In, SCSI response: residual underflow
	FlagStatus    = 0x01 // Data-In: status included
)

// Reserved is the "no tag" value of task tags.
const Reserved = 0xffffffff

// BHSLen is the size of the Basic Header Segment.
const BHSLen = 48

// MaxDataSegment is the largest DataSegmentLength the format allows.
const MaxDataSegment = 1<<24 - 1

// Errors of ReadPDU.
var (
	ErrHeaderDigest = errors.New("iscsi: header digest mismatch")
	ErrDataDigest   = errors.New("iscsi: data digest mismatch")
	ErrTooLong      = errors.New("iscsi: data segment longer than negotiated")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C is the iSCSI digest of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// PDU is one iSCSI PDU. The BHS is kept as bytes; accessors name the
// fields that sit at the same place in every PDU, and opcode-specific
// fields are read with the Uint32/SetUint32 helpers at their offsets.
type PDU struct {
	BHS  [BHSLen]byte
	AHS  []byte
	Data []byte
}

// Opcode is the PDU's opcode without the immediate bit.
func (p *PDU) Opcode() byte { return p.BHS[0] & 0x3f }

// Immediate reports the I bit.
func (p *PDU) Immediate() bool { return p.BHS[0]&0x40 != 0 }

// SetOpcode sets the opcode and the immediate bit.
func (p *PDU) SetOpcode(op byte, immediate bool) {
	p.BHS[0] = op & 0x3f
	if immediate {
		p.BHS[0] |= 0x40
	}
}

// Flags is byte 1.
func (p *PDU) Flags() byte { return p.BHS[1] }

// ITT is the Initiator Task Tag.
func (p *PDU) ITT() uint32 { return p.Uint32(16) }

// LUN is the raw 8-byte LUN field.
func (p *PDU) LUN() uint64 { return binary.BigEndian.Uint64(p.BHS[8:16]) }

// SetLUN sets the raw 8-byte LUN field.
func (p *PDU) SetLUN(v uint64) { binary.BigEndian.PutUint64(p.BHS[8:16], v) }

// Uint32 reads the big-endian word at off.
func (p *PDU) Uint32(off int) uint32 { return binary.BigEndian.Uint32(p.BHS[off:]) }

// SetUint32 writes the big-endian word at off.
func (p *PDU) SetUint32(off int, v uint32) { binary.BigEndian.PutUint32(p.BHS[off:], v) }

// DataSegmentLength is the length announced in the BHS.
func (p *PDU) DataSegmentLength() int {
	return int(p.BHS[5])<<16 | int(p.BHS[6])<<8 | int(p.BHS[7])
}

// Digests says which digests a connection uses.
type Digests struct{ Header, Data bool }

// ReadPDU reads one PDU. maxData bounds the data segment (the
// MaxRecvDataSegmentLength this side declared); a longer one is
// ErrTooLong. A data digest error is returned with the PDU, whose header
// is sound, so that the caller can reject it; any other error leaves the
// stream unusable.
func ReadPDU(r io.Reader, d Digests, maxData int) (*PDU, error) {
	p := &PDU{}
	if _, err := io.ReadFull(r, p.BHS[:]); err != nil {
		return nil, err
	}
	ahsLen := int(p.BHS[4]) * 4
	if ahsLen > 0 {
		p.AHS = make([]byte, ahsLen)
		if _, err := io.ReadFull(r, p.AHS); err != nil {
			return nil, unexpected(err)
		}
	}
	if d.Header {
		var dg [4]byte
		if _, err := io.ReadFull(r, dg[:]); err != nil {
			return nil, unexpected(err)
		}
		c := crc32.Update(CRC32C(p.BHS[:]), castagnoli, p.AHS)
		if binary.LittleEndian.Uint32(dg[:]) != c {
			return nil, ErrHeaderDigest
		}
	}
	n := p.DataSegmentLength()
	if n > maxData {
		return p, fmt.Errorf("%w: %d > %d", ErrTooLong, n, maxData)
	}
	if n == 0 {
		return p, nil
	}
	padded := (n + 3) &^ 3
	buf := make([]byte, padded)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, unexpected(err)
	}
	p.Data = buf[:n]
	if d.Data {
		var dg [4]byte
		if _, err := io.ReadFull(r, dg[:]); err != nil {
			return nil, unexpected(err)
		}
		if binary.LittleEndian.Uint32(dg[:]) != CRC32C(buf) {
			return p, ErrDataDigest
		}
	}
	return p, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Append encodes p (setting its TotalAHSLength and DataSegmentLength) at
// the end of buf and returns the result.
func (p *PDU) Append(buf []byte, d Digests) []byte {
	p.BHS[4] = byte(len(p.AHS) / 4)
	n := len(p.Data)
	p.BHS[5], p.BHS[6], p.BHS[7] = byte(n>>16), byte(n>>8), byte(n)
	start := len(buf)
	buf = append(buf, p.BHS[:]...)
	buf = append(buf, p.AHS...)
	if d.Header {
		buf = binary.LittleEndian.AppendUint32(buf, CRC32C(buf[start:]))
	}
	if n == 0 {
		return buf
	}
	ds := len(buf)
	buf = append(buf, p.Data...)
	for (len(buf)-ds)%4 != 0 {
		buf = append(buf, 0)
	}
	if d.Data {
		buf = binary.LittleEndian.AppendUint32(buf, CRC32C(buf[ds:]))
	}
	return buf
}

// WritePDU writes p in one Write call.
func WritePDU(w io.Writer, p *PDU, d Digests) error {
	_, err := w.Write(p.Append(make([]byte, 0, BHSLen+len(p.AHS)+len(p.Data)+12), d))
	return err
}

// EncodeLUN turns a LUN number into the 8-byte SAM LUN field: peripheral
// device addressing below 256, flat space addressing below 16384, the
// number itself (already a LUN structure) above.
func EncodeLUN(lun uint64) uint64 {
	switch {
	case lun < 256:
		return lun << 48
	case lun < 1<<14:
		return (0x4000 | lun) << 48
	}
	return lun
}

// DecodeLUN is the inverse of EncodeLUN for single-level LUNs: it returns
// the LUN number of peripheral and flat space addressing, and the raw
// field for anything else.
func DecodeLUN(field uint64) uint64 {
	if field&0x0000ffffffffffff != 0 {
		return field
	}
	top := field >> 48
	switch top >> 14 {
	case 0: // peripheral device addressing: bus 0 only
		if top>>8 == 0 {
			return top & 0xff
		}
	case 1: // flat space
		return top & 0x3fff
	}
	return field
}

// CRC32CUpdate continues a CRC32C over more bytes.
func CRC32CUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }

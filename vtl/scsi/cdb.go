package scsi

import "encoding/binary"

// Operation codes of the commands implemented by this package and the
// devices (SPC-4, SSC-4, SMC-3).
const (
	OpTestUnitReady        = 0x00
	OpRewind               = 0x01
	OpRequestSense         = 0x03
	OpReadBlockLimits      = 0x05
	OpInitElementStatus    = 0x07
	OpRead6                = 0x08
	OpWrite6               = 0x0a
	OpWriteFilemarks6      = 0x10
	OpSpace6               = 0x11
	OpInquiry              = 0x12
	OpModeSelect6          = 0x15
	OpReserve6             = 0x16
	OpRelease6             = 0x17
	OpErase6               = 0x19
	OpModeSense6           = 0x1a
	OpLoadUnload           = 0x1b
	OpPreventAllow         = 0x1e
	OpOpenCloseIE          = 0x1b // SMC: OPEN/CLOSE IMPORT/EXPORT ELEMENT shares 1Bh
	OpPositionToElement    = 0x2b
	OpLocate10             = 0x2b
	OpReadPosition         = 0x34
	OpSynchronizeCache     = 0x35
	OpInitElementRange     = 0x37
	OpReportDensity        = 0x44
	OpLogSelect            = 0x4c
	OpLogSense             = 0x4d
	OpModeSelect10         = 0x55
	OpReserve10            = 0x56
	OpRelease10            = 0x57
	OpModeSense10          = 0x5a
	OpPersistentReserveIn  = 0x5e
	OpPersistentReserveOut = 0x5f
	OpReadAttribute        = 0x8c
	OpWriteAttribute       = 0x8d
	OpLocate16             = 0x92
	OpReportLUNs           = 0xa0
	OpMoveMedium           = 0xa5
	OpReadElementStatus    = 0xb8
)

// CDBLen is the length of a CDB by its operation code's group (SPC-4
// 4.2.5.1); 0 for the variable-length and vendor-specific groups.
func CDBLen(op byte) int {
	switch op >> 5 {
	case 0:
		return 6
	case 1, 2:
		return 10
	case 4:
		return 16
	case 5:
		return 12
	}
	return 0
}

// CDB is a command descriptor block whose length was checked against its
// group: the accessors never index out of range.
type CDB []byte

// ParseCDB checks b's length against its operation code's group and the
// control byte (NACA and the obsolete LINK bit are not supported). It
// returns the CDB cut to its length.
func ParseCDB(b []byte) (CDB, error) {
	if len(b) == 0 {
		return nil, InvalidField(0, -1)
	}
	n := CDBLen(b[0])
	if n == 0 {
		return nil, NewSense(KeyIllegalRequest, CodeInvalidOpcode)
	}
	if len(b) < n {
		return nil, InvalidField(0, -1)
	}
	c := CDB(b[:n])
	if ctl := c[n-1]; ctl&0x04 != 0 {
		return nil, InvalidField(n-1, 2)
	} else if ctl&0x01 != 0 {
		return nil, InvalidField(n-1, 0)
	}
	return c, nil
}

// Op is the operation code.
func (c CDB) Op() byte { return c[0] }

// U16 reads a big-endian 16-bit field at i.
func (c CDB) U16(i int) uint32 { return uint32(binary.BigEndian.Uint16(c[i:])) }

// U24 reads a big-endian 24-bit field at i.
func (c CDB) U24(i int) uint32 { return uint32(c[i])<<16 | uint32(c[i+1])<<8 | uint32(c[i+2]) }

// U32 reads a big-endian 32-bit field at i.
func (c CDB) U32(i int) uint32 { return binary.BigEndian.Uint32(c[i:]) }

// U64 reads a big-endian 64-bit field at i.
func (c CDB) U64(i int) uint64 { return binary.BigEndian.Uint64(c[i:]) }

// S24 reads a big-endian two's-complement 24-bit field at i (SPACE counts).
func (c CDB) S24(i int) int32 {
	v := int32(c.U24(i))
	if v&0x800000 != 0 {
		v -= 1 << 24
	}
	return v
}

// Reserved checks that the bits in mask of byte i are zero, returning
// INVALID FIELD IN CDB at the highest set bit otherwise.
func (c CDB) Reserved(i int, mask byte) error {
	if v := c[i] & mask; v != 0 {
		for bit := 7; bit >= 0; bit-- {
			if v&(1<<bit) != 0 {
				return InvalidField(i, bit)
			}
		}
	}
	return nil
}

// Trim cuts Data-In to an allocation length.
func Trim(b []byte, alloc uint32) []byte {
	if uint32(len(b)) > alloc {
		return b[:alloc]
	}
	return b
}

// PadASCII left-aligns s in n bytes padded with spaces (SPC-4 4.4.1).
func PadASCII(s string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	copy(b, s)
	return b
}

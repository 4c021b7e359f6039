package scsi

import (
	"encoding/binary"
	"fmt"
)

// SenseKey is the sense key of fixed-format sense data (SPC-4 table 48).
type SenseKey byte

// Sense keys.
const (
	KeyNoSense        SenseKey = 0x0
	KeyRecoveredError SenseKey = 0x1
	KeyNotReady       SenseKey = 0x2
	KeyMediumError    SenseKey = 0x3
	KeyHardwareError  SenseKey = 0x4
	KeyIllegalRequest SenseKey = 0x5
	KeyUnitAttention  SenseKey = 0x6
	KeyDataProtect    SenseKey = 0x7
	KeyBlankCheck     SenseKey = 0x8
	KeyAbortedCommand SenseKey = 0xb
	KeyVolumeOverflow SenseKey = 0xd
)

// Code is an additional sense code and qualifier, ASC<<8 | ASCQ.
type Code uint16

// Additional sense codes used by the devices (SPC-4 annex D).
const (
	CodeNoAdditional           Code = 0x0000
	CodeFilemark               Code = 0x0001
	CodeEndOfPartition         Code = 0x0002 // END-OF-PARTITION/MEDIUM DETECTED
	CodeBeginningOfPartition   Code = 0x0004
	CodeEndOfData              Code = 0x0005
	CodeNotReadyCause          Code = 0x0400 // LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE
	CodeBecomingReady          Code = 0x0401
	CodeWriteError             Code = 0x0c00
	CodeUnrecoveredRead        Code = 0x1100
	CodeParamListLength        Code = 0x1a00 // PARAMETER LIST LENGTH ERROR
	CodeInvalidOpcode          Code = 0x2000
	CodeLBAOutOfRange          Code = 0x2100 // LOGICAL BLOCK ADDRESS OUT OF RANGE
	CodeInvalidElement         Code = 0x2101 // INVALID ELEMENT ADDRESS
	CodeInvalidFieldCDB        Code = 0x2400
	CodeLUNotSupported         Code = 0x2500
	CodeInvalidFieldParam      Code = 0x2600
	CodeParamNotSupported      Code = 0x2601
	CodeInvalidReleasePR       Code = 0x2604 // INVALID RELEASE OF PERSISTENT RESERVATION
	CodeWriteProtected         Code = 0x2700
	CodeNotReadyToReady        Code = 0x2800 // MEDIUM MAY HAVE CHANGED
	CodeImportExportAccessed   Code = 0x2801
	CodePowerOnReset           Code = 0x2900
	CodeBusDeviceReset         Code = 0x2903
	CodeNexusLoss              Code = 0x2907
	CodeModeParamsChanged      Code = 0x2a01
	CodeReservationsPreempted  Code = 0x2a03
	CodeReservationsReleased   Code = 0x2a04
	CodeRegistrationsPreempted Code = 0x2a05
	CodeCommandsCleared        Code = 0x2f00
	CodeIncompatibleMedium     Code = 0x3000
	CodeCannotWriteMedium      Code = 0x3002 // CANNOT WRITE MEDIUM - INCOMPATIBLE FORMAT
	CodeMediumFormatCorrupted  Code = 0x3100
	CodeSequentialPosError     Code = 0x3b00
	CodeDestinationFull        Code = 0x3b0d
	CodeSourceEmpty            Code = 0x3b0e
	CodeMagazineRemoved        Code = 0x3b12
	CodeSavingNotSupported     Code = 0x3900
	CodeMediumNotPresent       Code = 0x3a00
	CodeInternalFailure        Code = 0x4400
	CodeOverwriteAttempted     Code = 0x5000 // WRITE APPEND ERROR
	CodeMediumRemovalPrevented Code = 0x5302
	CodeMediumLoadEjectFailed  Code = 0x5300
	CodeWORMOverwrite          Code = 0x300c // WORM MEDIUM - OVERWRITE ATTEMPTED
)

// FieldPointer is the sense-key specific field pointer (SPC-4 4.5.2.4.2)
// of an ILLEGAL REQUEST: the byte (and bit) at fault in the CDB or in the
// parameter list.
type FieldPointer struct {
	CDB  bool // C/D: the field is in the CDB, else in the parameter data
	Byte uint16
	Bit  int8 // -1: no bit pointer
}

// SenseError is a SCSI failure as the fixed-format sense data describes
// it. It is an error so that handlers return it like any other.
type SenseError struct {
	Key  SenseKey
	ASC  byte
	ASCQ byte
	// Filemark, EOM and ILI are the tape flags of byte 2.
	Filemark, EOM, ILI bool
	// Info is the information field, valid when InfoValid (a residual, a
	// LBA, an element address).
	Info      uint32
	InfoValid bool
	Field     *FieldPointer
}

// NewSense is a sense error with key and additional sense code.
func NewSense(key SenseKey, c Code) *SenseError {
	return &SenseError{Key: key, ASC: byte(c >> 8), ASCQ: byte(c)}
}

// Code returns ASC<<8 | ASCQ.
func (e *SenseError) Code() Code { return Code(e.ASC)<<8 | Code(e.ASCQ) }

// Error describes the sense.
func (e *SenseError) Error() string {
	s := fmt.Sprintf("scsi: sense key %#x asc/ascq %02x/%02x", byte(e.Key), e.ASC, e.ASCQ)
	if e.Field != nil {
		where := "parameter"
		if e.Field.CDB {
			where = "cdb"
		}
		s += fmt.Sprintf(" at %s byte %d", where, e.Field.Byte)
		if e.Field.Bit >= 0 {
			s += fmt.Sprintf(" bit %d", e.Field.Bit)
		}
	}
	return s
}

// InvalidField is ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at byte
// (and bit, or -1) of the CDB.
func InvalidField(byteIdx, bit int) *SenseError {
	e := NewSense(KeyIllegalRequest, CodeInvalidFieldCDB)
	e.Field = &FieldPointer{CDB: true, Byte: uint16(byteIdx), Bit: int8(bit)}
	return e
}

// InvalidParam is ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST
// pointing at byte (and bit, or -1) of the parameter data.
func InvalidParam(byteIdx, bit int) *SenseError {
	e := NewSense(KeyIllegalRequest, CodeInvalidFieldParam)
	e.Field = &FieldPointer{Byte: uint16(byteIdx), Bit: int8(bit)}
	return e
}

// SenseLen is the length of the fixed-format sense data built here.
const SenseLen = 18

// Bytes encodes the fixed-format sense data (response code 70h).
func (e *SenseError) Bytes() []byte {
	b := make([]byte, SenseLen)
	b[0] = 0x70
	if e.InfoValid {
		b[0] |= 0x80
		binary.BigEndian.PutUint32(b[3:7], e.Info)
	}
	b[2] = byte(e.Key) & 0x0f
	if e.Filemark {
		b[2] |= 0x80
	}
	if e.EOM {
		b[2] |= 0x40
	}
	if e.ILI {
		b[2] |= 0x20
	}
	b[7] = SenseLen - 8
	b[12], b[13] = e.ASC, e.ASCQ
	if f := e.Field; f != nil {
		b[15] = 0x80
		if f.CDB {
			b[15] |= 0x40
		}
		if f.Bit >= 0 {
			b[15] |= 0x08 | byte(f.Bit&7)
		}
		binary.BigEndian.PutUint16(b[16:18], f.Byte)
	}
	return b
}

// ParseSense decodes fixed-format sense data; it is the inverse of Bytes
// for the fields SenseError holds.
func ParseSense(b []byte) (*SenseError, error) {
	if len(b) < 14 || b[0]&0x7e != 0x70 {
		return nil, fmt.Errorf("scsi: not fixed-format sense data")
	}
	e := &SenseError{Key: SenseKey(b[2] & 0x0f), ASC: b[12], ASCQ: b[13],
		Filemark: b[2]&0x80 != 0, EOM: b[2]&0x40 != 0, ILI: b[2]&0x20 != 0}
	if b[0]&0x80 != 0 {
		e.InfoValid, e.Info = true, binary.BigEndian.Uint32(b[3:7])
	}
	if len(b) >= 18 && b[15]&0x80 != 0 {
		f := &FieldPointer{CDB: b[15]&0x40 != 0, Byte: binary.BigEndian.Uint16(b[16:18]), Bit: -1}
		if b[15]&0x08 != 0 {
			f.Bit = int8(b[15] & 7)
		}
		e.Field = f
	}
	return e, nil
}

// CheckCondition is the response carrying sense e.
func CheckCondition(e *SenseError) Response {
	return Response{Status: StatusCheckCondition, Sense: e.Bytes()}
}

// Package wire holds the iSCSI (RFC 7143) wire format that the target in
// vtl/iscsi and the test initiator in vtl/iscsi/initiator share: PDUs,
// CRC32C digests, login/text key=value data and the CHAP arithmetic.
//
// # PDU
//
// Every PDU is a 48-byte Basic Header Segment (BHS), then AHSTotalLength*4
// bytes of Additional Header Segments, then a 4-byte header digest when
// HeaderDigest=CRC32C was negotiated, then DataSegmentLength bytes of data
// padded with zeros to a multiple of 4, then a 4-byte data digest over the
// padded data when DataDigest=CRC32C was negotiated and the data segment
// is not empty.
//
//	byte 0     .I oooooo   immediate bit, opcode
//	byte 1     F ...       final bit and opcode-specific flags
//	bytes 2-3              opcode-specific
//	byte 4                 TotalAHSLength (4-byte words)
//	bytes 5-7              DataSegmentLength (big endian)
//	bytes 8-15             LUN or opcode-specific (ISID+TSIH in login)
//	bytes 16-19            Initiator Task Tag
//	bytes 20-47            opcode-specific (CmdSN, StatSN, ...)
//
// Digests are CRC32C (Castagnoli), sent little endian, as the RFC's
// examples and every implementation do.
//
// # Text data
//
// Login and Text PDUs carry key=value pairs, each terminated by a NUL
// byte. Values are at most 255 bytes except binary values (hex "0x..." or
// base64 "0b..."), which CHAP uses. A pair may be split over several PDUs
// by the Continue bit; the receiver joins the data before parsing.
package wire

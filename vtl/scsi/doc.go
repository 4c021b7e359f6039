// The package comment is in device.go (the contract with the transport).
// What this file adds is the wire formats the package builds.
//
// # Sense data
//
// Fixed format, response code 70h, 18 bytes (SPC-4 4.5.3):
//
//	0     VALID(7) | 70h          VALID: the information field holds a value
//	2     FILEMARK(7) EOM(6) ILI(5) | sense key
//	3-6   information (big-endian; a signed residual for tape commands)
//	7     additional length = 10
//	12-13 ASC, ASCQ
//	15-17 sense-key specific: SKSV(7) C/D(6) BPV(3) bit pointer(2-0),
//	      field pointer (16 bits): the CDB (C/D=1) or parameter byte at fault
//
// A SenseError is built with the key, the code (ASC<<8|ASCQ) and, for
// ILLEGAL REQUEST, the field pointer (InvalidField, InvalidParam); its
// Bytes method encodes it and ParseSense reads it back.
//
// # CDB checks
//
// ParseCDB checks the length of a CDB against its operation code's group
// (6, 10, 12 or 16 bytes; groups 3, 6 and 7 are refused as INVALID
// COMMAND OPERATION CODE) and refuses the control byte's NACA and LINK
// bits (INVALID FIELD IN CDB pointing at the control byte). A device's
// dispatch table, merged over the SPC commands of Unit, maps operation
// codes to handlers; a command not in it is INVALID COMMAND OPERATION
// CODE.
//
// # Order of checks in Unit.Execute
//
//  1. operation code in the table, CDB length and control byte;
//  2. a pending unit attention of the nexus (except INQUIRY, REQUEST
//     SENSE), reported and cleared;
//  3. reservation conflicts (RESERVE(6/10) and persistent reservations;
//     APTPL is not supported, registrations live until the process ends);
//  4. the handler, under the unit's lock.
package scsi

// Package changer is a medium changer (SMC-3): storage slots, mail slots
// (import/export elements) and the drives of a library, with one robot.
//
// # Element addresses
//
//	0000h          medium transport (the robot)
//	0100h + i      drive i (data transfer element), LUN i+1 of the target
//	0200h + i      mail slot i
//	0400h + i      storage slot i
//
// The element address assignment mode page (1Dh) reports them. Moving a
// cartridge into a drive loads it there (the drive reports NOT READY TO
// READY CHANGE); moving it out commits what was written and is refused
// with MEDIUM REMOVAL PREVENTED while the drive's host prevents removal.
// PREVENT ALLOW MEDIUM REMOVAL on the changer locks the mail slots
// against the operator (Import, Export, OPEN IMPORT/EXPORT ELEMENT).
//
// # READ ELEMENT STATUS
//
// Pages in the order transport, drives, mail slots, storage; each
// descriptor is 12 bytes, then 36 bytes of primary volume tag (the
// barcode, space padded, then reserved and sequence bytes) with VOLTAG,
// then for drives with DVCID an ASCII identification descriptor holding
// the drive's serial number. SVALID and the source address name the
// storage slot a cartridge in a drive or mail slot came from.
package changer

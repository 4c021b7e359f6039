// Package tape is a tape drive (SSC-4) over cartridges kept by package
// cartridge: it decodes the SSC commands, keeps the drive's modes (block
// size, buffered mode, compression) and reports what real LTO drives
// report.
//
// # Identity
//
// By default an HP LTO drive: vendor "HP", product "Ultrium N-SCSI" for
// generation N (the strings HP's SCSI drives return and that backup
// software keys on: HP recommends matching the first eight product bytes,
// "Ultrium "). Other emulations (IBM "ULT3580-TDn") override them.
//
// # Sense data of tape conditions
//
//	filemark read or spaced over   NO SENSE, FILEMARK, 00/01, information = residual
//	record longer/shorter (READ)   NO SENSE, ILI, 00/00, information = requested - actual
//	end of data                    BLANK CHECK, 00/05, information = residual
//	beginning of partition         NO SENSE, EOM, 00/04, information = residual
//	early warning (WRITE)          NO SENSE, EOM, 00/02, the data was written
//	end of medium (WRITE)          VOLUME OVERFLOW, EOM, 00/02, nothing written
//	write protected                DATA PROTECT, 27/00
//	WORM overwrite                 DATA PROTECT, 30/0C
//	overwrite or ERASE of data     DATA PROTECT, 30/0C (WORM MEDIUM -
//	  under retention                OVERWRITE ATTEMPTED, SPC-4 table of
//	                                 ASC/ASCQ): an immutable library's
//	                                 cartridges behave as WORM media
//	no cartridge / unloaded        NOT READY, 3A/00
//	record map damaged             MEDIUM ERROR, 31/00
//
// Residuals are two's complement (negative for backward SPACE).
//
// # Mode and log pages
//
// Block descriptor (density code, block length: 0 is variable-block
// mode), device-specific byte (WP, buffered mode 0/1), pages 0Fh data
// compression, 10h device configuration, 11h medium partition (one
// partition), 1Ch informational exceptions. Log pages 02h/03h error
// counters, 0Ch sequential access, 2Eh TapeAlert (cleared when read), 31h
// HP tape capacity.
package tape

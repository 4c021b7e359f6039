// Package cartridge keeps a tape cartridge as a chunkstore item: the
// records written to the tape, one after the other, chunked and
// deduplicated like any other data, followed by a record map that says
// where each record and filemark is.
//
// # Items
//
// A cartridge is one or more segments, items named BARCODE/NNNNNNNN (a
// sequence number). Each segment holds a stretch of the data stream, then
// a trailer:
//
//	data     records' bytes, concatenated (filemarks take no bytes)
//	payload  the record map of the whole cartridge (below), then the
//	         segment table: uvarint count, per segment uvarint(seq),
//	         uvarint(data bytes)
//	footer   24 bytes: payload length (u32), data length (u64), CRC-32C
//	         of the payload (u32), magic "BSTAPE\x00\x02"; big-endian
//
// The segment with the highest number is the truth: its table lists the
// segments that make up the data stream, in order, itself last. Loading
// reads its footer and payload (two ReadAt calls), checks that every
// listed segment exists and holds its data, and deletes segments the
// table does not name (left by a crash between a commit and the
// cleanup). No items is a blank cartridge.
//
// # Record map
//
//	version   byte, 1
//	runs      uvarint count, then per run:
//	            uvarint(count<<1 | filemark)
//	            uvarint(size)            records only, 1..2^24
//
// A run is consecutive records of one size, or consecutive filemarks: a
// backup written with a fixed record size has one run per file and one
// per filemark, so the map of a full cartridge is a few bytes per file.
// In memory each run also has its first object number and byte offset, so
// LOCATE and SPACE are binary searches, never a read of the data.
//
// # Writing and what "acknowledged" means
//
// A write session is a new segment. Segments wholly before the write
// position stay; of the one the position falls in, the kept part is
// streamed again into the new segment (its chunks are duplicates, so it
// stores next to nothing); segments after it are deleted once the new one
// is committed. Appending at the end of data therefore copies nothing, and
// overwriting mid-tape copies at most one segment. Tape.begin is the one
// place that knows this.
//
// A record is acknowledged (survives a crash of the appliance) once the
// version holding it is committed: on WRITE FILEMARKS (a count of 0 is a
// flush), REWIND, SPACE, LOCATE, READ, ERASE, UNLOAD and removal by the
// changer, after CommitBytes (1 GiB) or CommitInterval (30 s) of streaming,
// and after every WRITE when the host selected unbuffered mode (buffered
// mode 0 in the mode parameter header). In buffered mode 1, the default of
// real drives and of Linux st, GOOD status on WRITE means the record is in
// the drive's buffer, as on a real drive: READ POSITION reports the
// objects and bytes buffered. A session killed mid-write leaves the
// cartridge as its last committed version.
//
// A WORM cartridge, and one whose store has an immutability period while
// its newest segment is younger than that period, refuses writes and
// ERASE before the end of data (ErrWORM, ErrRetained); Locked says
// whether its items may be deleted (retention.go).
//
// Capacity counts record bytes. Writing past Capacity - EarlyWarning still
// succeeds but reports early warning; a record that would not fit is
// refused whole (end of medium).
package cartridge

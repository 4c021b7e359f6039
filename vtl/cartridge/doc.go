// Package cartridge keeps a tape cartridge as a chunkstore item: the
// records written to the tape, one after the other, chunked and
// deduplicated like any other data, followed by a record map that says
// where each record and filemark is.
//
// # Item format
//
//	data     the records' bytes, concatenated (filemarks take no bytes)
//	map      the record map (below)
//	footer   24 bytes: map length (u32), data length (u64), CRC-32C of
//	         the map (u32), magic "BSTAPE\x00\x01"; big-endian
//
// A missing item is a blank cartridge. The footer is read with one ReadAt
// at the end of the item, then the map; the data length and map length
// must add up to the item's size.
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
// The item is immutable once committed, so writing at a position opens a
// new version of the item: the kept prefix of the data (everything before
// the position) is streamed again through a new chunkstore Writer (its
// chunks are all duplicates, so this stores next to nothing), then the new
// records follow. Tape.begin is the one place that knows this; when the
// engine can start an item from a prefix of another's recipe, only it
// changes.
//
// A record is acknowledged (survives a crash of the appliance) once the
// version holding it is committed: on WRITE FILEMARKS (a count of 0 is a
// flush), REWIND, SPACE, LOCATE, READ, ERASE, UNLOAD and removal by the
// changer, after CommitBytes (1 GiB) or CommitInterval (30 s) of streaming
// once the buffered bytes are at least a quarter of the committed ones (so
// that the next append's copy of the committed data costs at most four
// times what was written), and after every WRITE when the host selected unbuffered mode (buffered
// mode 0 in the mode parameter header). In buffered mode 1, the default of
// real drives and of Linux st, GOOD status on WRITE means the record is in
// the drive's buffer, as on a real drive: READ POSITION reports the
// objects and bytes buffered. A session killed mid-write leaves the
// cartridge as its last committed version.
//
// Capacity counts record bytes. Writing past Capacity - EarlyWarning still
// succeeds but reports early warning; a record that would not fit is
// refused whole (end of medium).
package cartridge

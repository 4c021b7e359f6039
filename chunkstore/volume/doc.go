// Package volume manages the volume files that hold chunkstore's containers.
//
// # Layout
//
// A data directory's capacity is a set of files volumes/0000.vol,
// volumes/0001.vol, ..., each at most Options.MaxSize bytes (1 TiB by
// default), like the 1 TB virtual disks of a hardware appliance. Files are
// append-only: containers are written at the end of the newest volume that
// has room, one at a time under a lock so that a volume never has holes. A
// new volume is started when a container does not fit in the last one.
//
// A volume holds nothing but containers back to back (see package
// container); it has no header of its own, so any volume can be walked from
// offset 0. What is written past the last container the index knows of is
// either a container whose index commit did not happen before a crash or a
// torn write; chunkstore decides which on open.
//
// # Capacity
//
// The volumes may hold what they use plus the file system's free space
// less Options.Reserve (kept free for badger, which writes through mmap).
// Append reads the free space (statfs) before every container and fails
// with ErrFull rather than eat into the reserve, so the capacity follows
// the disk: it grows with the file system or as other programs free space
// and shrinks as they take it, without reopening. A configured
// Options.Capacity only lowers it.
package volume

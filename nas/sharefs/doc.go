// Package sharefs is the share filesystem over chunkstore: a vfs.FS per
// SMB share whose files are chunkstore items, and the Manager that keeps
// the appliance's shares (nas.ShareSource for the SMB server).
//
// # Files and items
//
// Each share has its own chunkstore store, "nas.NAME", in the share's
// dedup domain. A file's bytes are one item of that store named by the
// file's ID and a version, both lower-case hex: "1f.3" is version 3 of
// file 0x1f. Paths never appear in item names, so renaming a file or a
// directory of any size changes metadata only. A new version is
// committed as a new item; the inode is switched to it in one metadata
// transaction; only then is the previous item deleted. An empty file has
// no item (version 0).
//
// # Metadata database
//
// A badger database in DIR/nas/shares/NAME/meta. Commits are synced at a
// file's Sync and Close and before any item they stop referencing is
// deleted; namespace changes alone ride on the next sync.
// Keys and values (integers big-endian):
//
//	"s"                    superblock: format(1)=1 | next file ID(8) |
//	                       created unix ns(8) | volume serial(4)
//	"i" | id(8)            inode: format(1)=1 | flags(1, 1=directory) |
//	                       parent id(8) | size(8) | item version(8) |
//	                       attributes(4, MS-FSCC) | birth(8) | access(8) |
//	                       write(8) | change(8) (unix ns) | name (rest);
//	                       format 2, written only when a time is outside
//	                       unix ns (before 1678, after 2262; SMB times
//	                       reach 1601 to 30828): the same with each time
//	                       as unix seconds(8) | ns(4)
//	"d" | parent(8) | name entry: the child's id(8)
//	"o" | id(8)            orphan: removed while open; deleted at the
//	                       last close or at the next Open
//	"l" | id(8) | parent(8) | NAME
//	                       a further name of file id (a hard link) besides
//	                       its inode's parent and name; the inode's flags
//	                       have 2 set while it has one
//	"m"                    mode(1): 1 = case-insensitive names (absent: 0)
//	"f" | parent(8) | NAME the child's id(8), NAME upper-cased: the
//	                       lookup key of a case-insensitive filesystem
//
// The root directory is ID 1. Directory listings are prefix scans of
// "d"|parent, so they come sorted by name (bytewise). Names are
// case-preserving; a filesystem created case-insensitive (every share's,
// as Windows clients expect) looks them up through the "f" keys.
//
// # Writes: streamed, staged, folded
//
// A write that starts at offset 0, or at the end of the file, opens a
// chunkstore Writer for the next version and is streamed into it as it
// arrives: no copy of the bytes is kept. Writes that continue the stream
// go on into it. Any other write (random, out of order, a rewrite of
// bytes already streamed) is staged: written at its own offset into a
// sparse staging file in DIR/nas/staging/NAME, with an extent map of the
// ranges it holds. Staged bytes that the stream reaches are moved into
// it, so slightly out-of-order sequential writes still stream.
//
// Sync, Close, a read of bytes still in the stream, and a truncate below
// the stream fold: the stream is continued (or a new Writer started)
// with the file's bytes from the staging file where it holds them, the
// committed version below that, and zeros in holes, then committed. The
// engine cannot yet build an item reusing ranges of another item's
// recipe, so unchanged bytes are streamed through again; they dedup, so
// the stored cost is the changed chunks only. fold is the one function
// to change once the engine can.
//
// # Crashes
//
// Nothing written since the last Sync or Close is acknowledged. After a
// crash the previous committed version of every file is intact: Open
// empties the staging directory, deletes orphans, and deletes every item
// of the store that no inode points at (commits that never got recorded,
// previous versions not yet deleted) except those under their store's
// retention, which a later Open deletes; the engine itself reclaims
// Writers that never committed.
//
// # Retention
//
// On a store with an immutability period, a file whose committed version
// is younger than the period (counted from the item's commit) cannot be
// written, truncated, deleted or replaced by a rename, and reports the
// read-only attribute (retention.go). A share that cannot open is kept by
// the Manager as degraded, never fatal (Manager.Degraded).
//
// # Shares
//
// DIR/nas/shares.json, written atomically (temporary file, fsync,
// rename, fsync of the directory):
//
//	{"version": 1, "shares": [{"name", "comment", "domain", "store",
//	  "quota_bytes", "encrypt_data", "sign_required", "default_access",
//	  "users": {"user": "read-write"|"read-only"|"none"}, "created"}]}
//
// Share names are store names short enough for the "nas." prefix and are
// looked up case-insensitively. The share "backup" is created when
// shares.json does not exist yet.
package sharefs

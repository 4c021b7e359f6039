// Package vfs is the contract between the SMB server (nas/smb2) and the
// filesystems it serves: the share filesystem over chunkstore
// (nas/sharefs) and an in-memory one for protocol tests (MemFS).
//
// Paths are slash-separated, relative to the share root, without a
// leading slash ("" is the root), already checked by the protocol layer
// (no "..", no empty or reserved components). Names are case-preserving;
// lookups are case-sensitive unless the FS says otherwise in FSInfo.
package vfs

import (
	"context"
	"errors"
	"time"
)

// Errors an FS returns, wrapped or bare; the SMB layer maps them to NT
// status codes with errors.Is.
var (
	ErrNotExist    = errors.New("vfs: no such file or directory")
	ErrExist       = errors.New("vfs: already exists")
	ErrNotDir      = errors.New("vfs: not a directory")
	ErrIsDir       = errors.New("vfs: is a directory")
	ErrNotEmpty    = errors.New("vfs: directory not empty")
	ErrReadOnly    = errors.New("vfs: read-only")
	ErrNoSpace     = errors.New("vfs: no space (disk full or quota)")
	ErrInvalid     = errors.New("vfs: invalid argument")
	ErrClosed      = errors.New("vfs: file closed")
	ErrUnsupported = errors.New("vfs: not supported")
	// ErrImmutable: the file is under retention (its store's
	// immutability period): it cannot be written, truncated, replaced or
	// deleted until the period ends. The SMB layer answers
	// STATUS_ACCESS_DENIED, as Windows does for a read-only file.
	ErrImmutable = errors.New("vfs: file is immutable")
	// ErrUnavailable: the filesystem cannot be served (a share that
	// could not open is degraded). The SMB layer answers
	// STATUS_DEVICE_NOT_READY.
	ErrUnavailable = errors.New("vfs: filesystem unavailable")
)

// File attributes, the MS-FSCC values, kept by the FS as given.
const (
	AttrReadOnly  = 0x01
	AttrHidden    = 0x02
	AttrSystem    = 0x04
	AttrDirectory = 0x10
	AttrArchive   = 0x20
	AttrNormal    = 0x80
	AttrSparse    = 0x200
)

// Info describes a file or directory.
type Info struct {
	Name       string // last path component ("" for the root)
	ID         uint64 // stable while the file exists, across renames; never 0
	IsDir      bool
	Size       int64 // end of file
	AllocSize  int64 // bytes allocated (may be the size rounded up)
	Attributes uint32
	Links      uint32 // names of the file (hard links); 0 is read as 1
	Birth      time.Time
	Access     time.Time
	Write      time.Time // last data write
	Change     time.Time // last data or metadata change
}

// SetAttr changes metadata; zero fields are left alone.
type SetAttr struct {
	Attributes *uint32
	Birth      *time.Time
	Access     *time.Time
	Write      *time.Time
	Change     *time.Time
}

// OpenFlag says how to open.
type OpenFlag int

const (
	OpenRead     OpenFlag = 1 << iota // read access
	OpenWrite                         // write access
	OpenCreate                        // create if missing
	OpenExcl                          // with OpenCreate: fail with ErrExist if present
	OpenTruncate                      // truncate to 0 (overwrite, supersede)
	OpenDir                           // must be a directory (create one with OpenCreate)
	OpenFile                          // must not be a directory
)

// FSInfo is what the filesystem reports about itself.
type FSInfo struct {
	TotalBytes      int64
	FreeBytes       int64
	CaseInsensitive bool
	Label           string
	SerialNumber    uint32
	Created         time.Time
}

// FS is one share's filesystem. Safe for concurrent use.
type FS interface {
	// Open opens (and with OpenCreate maybe creates) a file or directory.
	Open(ctx context.Context, path string, flag OpenFlag) (File, error)
	Stat(ctx context.Context, path string) (Info, error)
	// ReadDir lists a directory, sorted by name, without "." and "..".
	ReadDir(ctx context.Context, path string) ([]Info, error)
	// Rename moves a file or directory; with replace false an existing
	// destination is ErrExist. Open Files follow their file.
	Rename(ctx context.Context, from, to string, replace bool) error
	// Remove deletes a file or an empty directory. Open Files of it stay
	// usable until closed (POSIX semantics); the SMB layer implements
	// delete-on-close and pending deletes itself.
	Remove(ctx context.Context, path string) error
	SetAttr(ctx context.Context, path string, set SetAttr) error
	StatFS(ctx context.Context) (FSInfo, error)
}

// File is an open file or directory. Several Files may be open on the
// same file at once: a reader sees every write made through any of them
// (written data is readable at once, even before Sync). ReadAt at or past
// the end returns io.EOF; holes read as zeros.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Truncate(size int64) error
	// Sync makes what was written durable (chunked and committed).
	Sync() error
	Stat() (Info, error)
	SetAttr(set SetAttr) error
	// Close syncs and releases; after the last Close of a file, its data
	// is durable.
	Close() error
}

// TimeKeeper is implemented by Files whose caller can take over the
// automatic updates of the write and change times. After KeepTimes,
// WriteAt and Truncate through that File leave the file's times alone;
// the caller sets them with SetAttr. The SMB server does, to apply
// MS-FSA's rules (times noted at the first write of an open and at its
// close, per-open suspension, explicit times that stick).
type TimeKeeper interface {
	KeepTimes()
}

// Linker is implemented by an FS that gives a file more than one name
// (hard links). Link adds the name to as a new name of the file at from,
// which must not be a directory (ErrIsDir) and to must not exist
// (ErrExist). Every name reads and writes the same data; Remove of one
// name leaves the others.
type Linker interface {
	Link(ctx context.Context, from, to string) error
}

// Cloner is a File that can take a range of another File's bytes without
// copying them: block cloning and server-side copy. It is optional; the
// SMB layer copies through ReadAt and WriteAt when a File lacks it or
// answers ErrUnsupported.
type Cloner interface {
	// CloneRange makes bytes [dstOff, dstOff+n) of this file (open for
	// writing) those of [srcOff, srcOff+n) of src (open for reading) as
	// they are now, growing this file when the range ends past its end.
	// A range past the end of src is ErrInvalid; a src of another
	// filesystem ErrUnsupported.
	CloneRange(ctx context.Context, src File, srcOff, dstOff, n int64) error
}

// IDResolver is implemented by an FS that finds a file by its ID. The NFS
// server's file handles carry IDs (they survive renames and restarts,
// paths do not) and resolve them on every request.
type IDResolver interface {
	// PathOf returns the path of the file or directory with that ID
	// ("" for the root), or ErrNotExist when no file has it (anymore).
	PathOf(ctx context.Context, id uint64) (string, error)
}

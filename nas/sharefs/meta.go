package sharefs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Keys of the metadata database (see doc.go).
const (
	prefixInode  = 'i'
	prefixDirent = 'd'
	prefixOrphan = 'o'
	prefixFolded = 'f'
	prefixLink   = 'l'
	keyMode      = "m"
	modeFoldCase = 1
	keySuper     = "s"
	inodeFormat  = 1 // times in unix ns (1678 to 2262)
	inodeWide    = 2 // times in unix seconds(8) | ns(4): any time SMB carries
	superFormat  = 1
	rootID       = 1
	flagDir      = 1
	flagLinked   = 2 // a file with more than one name
)

// inode is one file or directory as stored.
type inode struct {
	ID      uint64
	Dir     bool
	Parent  uint64 // 0 for the root
	Name    string
	Size    int64  // committed size: the length of item Version
	Version uint64 // item version holding the data; 0: no item (empty)
	Linked  bool   // the file has names besides Parent/Name ("l" keys, link.go)
	Attrs   uint32
	Birth   time.Time
	Access  time.Time
	Write   time.Time
	Change  time.Time
}

const (
	inodeFixed     = 1 + 1 + 8 + 8 + 8 + 4 + 4*8
	inodeWideFixed = 1 + 1 + 8 + 8 + 8 + 4 + 4*12
)

// Unix nanoseconds in an int64 reach from 1677-09-21 to 2262-04-11.
var (
	minNanoTime = time.Unix(0, -1<<63)
	maxNanoTime = time.Unix(0, 1<<63-1)
)

// fitsNano reports whether t is held by an int64 of unix nanoseconds.
func fitsNano(t time.Time) bool {
	return !t.Before(minNanoTime) && !t.After(maxNanoTime)
}

// encode writes format 1 when every time fits in unix nanoseconds, as
// nearly all do, and format 2 when one does not (a FILETIME reaches from
// 1601 to 30828; backup software restores such times).
func (n *inode) encode() []byte {
	times := []time.Time{n.Birth, n.Access, n.Write, n.Change}
	format, fixed := byte(inodeFormat), inodeFixed
	for _, t := range times {
		if !fitsNano(t) {
			format, fixed = inodeWide, inodeWideFixed
		}
	}
	b := make([]byte, fixed, fixed+len(n.Name))
	b[0] = format
	if n.Dir {
		b[1] = flagDir
	}
	if n.Linked {
		b[1] |= flagLinked
	}
	binary.BigEndian.PutUint64(b[2:], n.Parent)
	binary.BigEndian.PutUint64(b[10:], uint64(n.Size))
	binary.BigEndian.PutUint64(b[18:], n.Version)
	binary.BigEndian.PutUint32(b[26:], n.Attrs)
	for i, t := range times {
		if format == inodeFormat {
			binary.BigEndian.PutUint64(b[30+8*i:], uint64(t.UnixNano()))
			continue
		}
		binary.BigEndian.PutUint64(b[30+12*i:], uint64(t.Unix()))
		binary.BigEndian.PutUint32(b[38+12*i:], uint32(t.Nanosecond()))
	}
	return append(b, n.Name...)
}

func decodeInode(id uint64, b []byte) (inode, error) {
	fixed := inodeFixed
	if len(b) > 0 && b[0] == inodeWide {
		fixed = inodeWideFixed
	}
	if len(b) < fixed || b[0] != inodeFormat && b[0] != inodeWide {
		return inode{}, fmt.Errorf("sharefs: inode %d: bad record (%d bytes)", id, len(b))
	}
	n := inode{ID: id, Dir: b[1]&flagDir != 0, Linked: b[1]&flagLinked != 0,
		Parent:  binary.BigEndian.Uint64(b[2:]),
		Size:    int64(binary.BigEndian.Uint64(b[10:])),
		Version: binary.BigEndian.Uint64(b[18:]),
		Attrs:   binary.BigEndian.Uint32(b[26:]),
		Name:    string(b[fixed:]),
	}
	ts := []*time.Time{&n.Birth, &n.Access, &n.Write, &n.Change}
	for i, t := range ts {
		if b[0] == inodeFormat {
			*t = time.Unix(0, int64(binary.BigEndian.Uint64(b[30+8*i:]))).UTC()
			continue
		}
		ns := binary.BigEndian.Uint32(b[38+12*i:])
		if ns >= 1e9 {
			return inode{}, fmt.Errorf("sharefs: inode %d: bad time", id)
		}
		*t = time.Unix(int64(binary.BigEndian.Uint64(b[30+12*i:])), int64(ns)).UTC()
	}
	return n, nil
}

// info converts a stored inode to what the vfs reports.
func (n *inode) info() vfs.Info {
	in := vfs.Info{Name: n.Name, ID: n.ID, IsDir: n.Dir, Size: n.Size, Attributes: n.Attrs,
		Birth: n.Birth, Access: n.Access, Write: n.Write, Change: n.Change}
	if n.Dir {
		in.Size = 0
		in.Attributes |= vfs.AttrDirectory
		in.Attributes &^= vfs.AttrNormal
	} else {
		in.AllocSize = (n.Size + allocUnit - 1) / allocUnit * allocUnit
		in.Attributes &^= vfs.AttrDirectory
		if in.Attributes == 0 {
			in.Attributes = vfs.AttrNormal
		}
	}
	return in
}

// allocUnit is the allocation size reported for files.
const allocUnit = 4096

func inodeKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixInode
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func orphanKey(id uint64) []byte {
	k := inodeKey(id)
	k[0] = prefixOrphan
	return k
}

func direntPrefix(parent uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixDirent
	binary.BigEndian.PutUint64(k[1:], parent)
	return k
}

func direntKey(parent uint64, name string) []byte {
	return append(direntPrefix(parent), name...)
}

func idValue(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// super is the database's header record.
type super struct {
	NextID  uint64
	Created time.Time
	Serial  uint32
}

func (s super) encode() []byte {
	b := make([]byte, 1+8+8+4)
	b[0] = superFormat
	binary.BigEndian.PutUint64(b[1:], s.NextID)
	binary.BigEndian.PutUint64(b[9:], uint64(s.Created.UnixNano()))
	binary.BigEndian.PutUint32(b[17:], s.Serial)
	return b
}

func decodeSuper(b []byte) (super, error) {
	if len(b) != 21 || b[0] != superFormat {
		return super{}, fmt.Errorf("sharefs: bad superblock (%d bytes)", len(b))
	}
	return super{NextID: binary.BigEndian.Uint64(b[1:]),
		Created: time.Unix(0, int64(binary.BigEndian.Uint64(b[9:]))).UTC(),
		Serial:  binary.BigEndian.Uint32(b[17:])}, nil
}

// getInode reads inode id in txn.
func getInode(txn *badger.Txn, id uint64) (inode, error) {
	it, err := txn.Get(inodeKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return inode{}, fmt.Errorf("inode %d: %w", id, vfs.ErrNotExist)
	}
	if err != nil {
		return inode{}, err
	}
	var n inode
	err = it.Value(func(v []byte) error {
		var derr error
		n, derr = decodeInode(id, v)
		return derr
	})
	return n, err
}

// foldedKey indexes an entry by its name in upper case, for
// case-insensitive lookups.
func foldedKey(parent uint64, name string) []byte {
	k := direntKey(parent, strings.ToUpper(name))
	k[0] = prefixFolded
	return k
}

// addEntry records name -> id in directory parent.
func addEntry(txn *badger.Txn, fold bool, parent uint64, name string, id uint64) error {
	if fold {
		if err := txn.Set(foldedKey(parent, name), idValue(id)); err != nil {
			return err
		}
	}
	return txn.Set(direntKey(parent, name), idValue(id))
}

// delEntry removes name from directory parent.
func delEntry(txn *badger.Txn, fold bool, parent uint64, name string) error {
	if fold {
		if err := txn.Delete(foldedKey(parent, name)); err != nil {
			return err
		}
	}
	return txn.Delete(direntKey(parent, name))
}

// lookup finds name in directory parent, ignoring case with fold.
func lookup(txn *badger.Txn, fold bool, parent uint64, name string) (uint64, error) {
	key := direntKey(parent, name)
	if fold {
		key = foldedKey(parent, name)
	}
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, vfs.ErrNotExist
	}
	if err != nil {
		return 0, err
	}
	var id uint64
	err = it.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("sharefs: bad directory entry %q", name)
		}
		id = binary.BigEndian.Uint64(v)
		return nil
	})
	return id, err
}

// hasChildren reports whether directory id has any entry.
func hasChildren(txn *badger.Txn, id uint64) bool {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = direntPrefix(id)
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// putInode writes n in txn.
func putInode(txn *badger.Txn, n *inode) error { return txn.Set(inodeKey(n.ID), n.encode()) }

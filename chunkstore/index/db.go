package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// ErrNotFound reports a key that is not in the index.
var ErrNotFound = errors.New("index: not found")

// Key prefixes; see doc.go.
const (
	pChunk     = 'c'
	pContainer = 'k'
	pDomain    = 'd'
	pStore     = 's'
	pItem      = 'n'
	pRecipe    = 'r'
	pPending   = 'p'
	pDeleted   = 'x'
	pRef       = 'R'
	pCatalog   = 'm'
)

// dropEmptyLogs removes zero-length value-log and memtable files. A crash
// between creating one and writing its header leaves it behind, and badger
// (v4.8, dgraph-io/badger#2207) then refuses to open with "Create a new
// file". An empty file holds no entry, so removing it loses nothing.
func dropEmptyLogs(dir string, log *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, en := range ents {
		name := en.Name()
		if !strings.HasSuffix(name, ".vlog") && !strings.HasSuffix(name, ".mem") {
			continue
		}
		info, err := en.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("index: remove empty %s: %w", name, err)
		}
		log.Warn("index: removed an empty log file a crash left behind", "file", name)
	}
	return nil
}

// DB is the metadata database of one data directory.
type DB struct {
	db     *badger.DB
	items  *badger.Sequence
	conts  *badger.Sequence
	Filter *Filter
}

// Open opens (creating if needed) the badger database in dir. Every commit
// is synced to disk before it returns.
func Open(dir string, log *slog.Logger) (*DB, error) {
	if err := dropEmptyLogs(dir, log); err != nil {
		return nil, err
	}
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(badgerLogger{log}).
		WithMemTableSize(32 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithValueThreshold(64 << 10).
		WithCompactL0OnClose(true)
	bdb, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	d := &DB{db: bdb}
	if d.items, err = bdb.GetSequence([]byte("qitem"), 256); err == nil {
		d.conts, err = bdb.GetSequence([]byte("qcontainer"), 64)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("index: sequences: %w", err)
	}
	return d, nil
}

// Close releases the sequences and closes badger.
func (d *DB) Close() error {
	for _, s := range []*badger.Sequence{d.items, d.conts} {
		if s != nil {
			_ = s.Release()
		}
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}

// NextItemID returns a new, never used item id.
func (d *DB) NextItemID() (uint64, error) { return nextID(d.items) }

// NextContainerID returns a new, never used container id.
func (d *DB) NextContainerID() (uint64, error) { return nextID(d.conts) }

func nextID(s *badger.Sequence) (uint64, error) {
	for {
		id, err := s.Next()
		if err != nil {
			return 0, fmt.Errorf("index: sequence: %w", err)
		}
		if id != 0 { // 0 is never an id
			return id, nil
		}
	}
}

// Loc is where a chunk is stored.
type Loc struct {
	Container uint64
	Offset    uint32 // within the container body
	Stored    uint32
	Raw       uint32
	Codec     container.Codec
}

const locSize = 21

func (l Loc) encode() []byte {
	b := make([]byte, locSize)
	binary.LittleEndian.PutUint64(b, l.Container)
	binary.LittleEndian.PutUint32(b[8:], l.Offset)
	binary.LittleEndian.PutUint32(b[12:], l.Stored)
	binary.LittleEndian.PutUint32(b[16:], l.Raw)
	b[20] = byte(l.Codec)
	return b
}

// DecodeLoc decodes a chunk location value.
func DecodeLoc(b []byte) (Loc, error) {
	if len(b) != locSize || b[20] > byte(container.Zstd) {
		return Loc{}, fmt.Errorf("%w: chunk location", ErrCorrupt)
	}
	return Loc{
		Container: binary.LittleEndian.Uint64(b),
		Offset:    binary.LittleEndian.Uint32(b[8:]),
		Stored:    binary.LittleEndian.Uint32(b[12:]),
		Raw:       binary.LittleEndian.Uint32(b[16:]),
		Codec:     container.Codec(b[20]),
	}, nil
}

func chunkKey(fp dedup.Fingerprint) []byte {
	k := make([]byte, 33)
	k[0] = pChunk
	copy(k[1:], fp[:])
	return k
}

// Lookup finds a chunk. It asks the filter first, so a new chunk costs no
// badger read.
func (d *DB) Lookup(fp dedup.Fingerprint) (Loc, error) {
	if !d.Filter.MayContain(fp) {
		return Loc{}, ErrNotFound
	}
	return d.Chunk(fp)
}

// Chunk reads a chunk's location from badger, bypassing the filter.
func (d *DB) Chunk(fp dedup.Fingerprint) (Loc, error) {
	var loc Loc
	err := d.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(chunkKey(fp))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			loc, err = DecodeLoc(v)
			return err
		})
	})
	return loc, translate(err)
}

// LoadFilter builds the filter from every chunk key, sized for half as
// many again before it needs a second layer. It reads the keys twice
// rather than hold them: 32 bytes a chunk would be far more than the
// filter itself.
func (d *DB) LoadFilter() (int, error) {
	n := 0
	err := d.scanKeys([]byte{pChunk}, func([]byte) error {
		n++
		return nil
	})
	if err != nil {
		return 0, err
	}
	f := NewFilter(n + n/2)
	err = d.scanKeys([]byte{pChunk}, func(k []byte) error {
		f.Add(dedup.Fingerprint(k[1:33]))
		return nil
	})
	if err != nil {
		return 0, err
	}
	d.Filter = f
	return n, nil
}

func (d *DB) scanKeys(prefix []byte, fn func(k []byte) error) error {
	return translate(d.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := fn(it.Item().Key()); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (d *DB) scan(prefix []byte, fn func(k, v []byte) error) error {
	return translate(d.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	}))
}

func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotFound):
		return err
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %v", ErrNoSpace, err)
	case errors.Is(err, badger.ErrConflict):
		return ErrConflict
	}
	return fmt.Errorf("index: %v", err)
}

type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (l badgerLogger) Infof(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
func (l badgerLogger) Debugf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...), "component", "badger")
}

// ErrNoSpace reports that badger could not write for lack of disk space.
var ErrNoSpace = errors.New("index: no space left on device")

// ErrConflict reports a batch whose reads another commit changed before
// it committed; nothing of it was written, and it can be retried.
var ErrConflict = errors.New("index: conflicting commit")

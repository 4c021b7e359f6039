package history

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

const (
	magic      = "bshist01"
	recordSize = 52
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode writes p as one record into b (recordSize bytes).
func encode(b []byte, p Point) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(p.Time.UnixMilli()))
	le.PutUint64(b[8:], uint64(p.StoredBytes))
	le.PutUint64(b[16:], uint64(p.LogicalBytes))
	le.PutUint64(b[24:], uint64(p.CapacityBytes))
	le.PutUint64(b[32:], math.Float64bits(p.IngestPerSec))
	le.PutUint64(b[40:], math.Float64bits(p.RestorePerSec))
	le.PutUint32(b[48:], crc32.Checksum(b[:48], castagnoli))
}

// decode reads one record; false if its checksum does not match.
func decode(b []byte) (Point, bool) {
	le := binary.LittleEndian
	if le.Uint32(b[48:]) != crc32.Checksum(b[:48], castagnoli) {
		return Point{}, false
	}
	return Point{
		Time:          time.UnixMilli(int64(le.Uint64(b[0:]))).UTC(),
		StoredBytes:   int64(le.Uint64(b[8:])),
		LogicalBytes:  int64(le.Uint64(b[16:])),
		CapacityBytes: int64(le.Uint64(b[24:])),
		IngestPerSec:  math.Float64frombits(le.Uint64(b[32:])),
		RestorePerSec: math.Float64frombits(le.Uint64(b[40:])),
	}, true
}

// tierFile is one tier's file, open for appending.
type tierFile struct {
	path    string
	f       *os.File
	records int // in the file, kept or not
}

// openTier reads path (made if missing) and returns the file open for
// appending and its points. A torn or corrupt tail is cut off; dropped
// says how many bytes were.
func openTier(path string) (tf *tierFile, pts []Point, dropped int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("history: open %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("history: read %s: %w", path, err)
	}
	good := int64(len(magic))
	switch {
	case len(data) < len(magic):
		// New, or torn before its header was whole: start it again.
		if err := f.Truncate(0); err != nil {
			return nil, nil, 0, fmt.Errorf("history: truncate %s: %w", path, err)
		}
		if _, err := f.WriteAt([]byte(magic), 0); err != nil {
			return nil, nil, 0, fmt.Errorf("history: write %s: %w", path, err)
		}
		dropped = int64(len(data))
		data = []byte(magic)
	case !bytes.Equal(data[:len(magic)], []byte(magic)):
		return nil, nil, 0, fmt.Errorf("history: %s: %w", path, ErrFormat)
	}
	for rest := data[len(magic):]; len(rest) >= recordSize; rest = rest[recordSize:] {
		p, ok := decode(rest[:recordSize])
		if !ok {
			break
		}
		pts = append(pts, p)
		good += recordSize
	}
	if good < int64(len(data)) {
		dropped = int64(len(data)) - good
		if err := f.Truncate(good); err != nil {
			return nil, nil, 0, fmt.Errorf("history: truncate %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, nil, 0, fmt.Errorf("history: sync %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return nil, nil, 0, fmt.Errorf("history: seek %s: %w", path, err)
	}
	return &tierFile{path: path, f: f, records: len(pts)}, pts, dropped, nil
}

// append writes p and syncs.
func (t *tierFile) append(p Point) error {
	var b [recordSize]byte
	encode(b[:], p)
	if _, err := t.f.Write(b[:]); err != nil {
		return fmt.Errorf("history: append to %s: %w", t.path, err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("history: sync %s: %w", t.path, err)
	}
	t.records++
	return nil
}

// rewrite replaces the file with pts: a temporary file, synced, renamed
// over it, then the directory synced.
func (t *tierFile) rewrite(pts []Point) error {
	tmp := t.path + ".tmp"
	buf := make([]byte, len(magic)+len(pts)*recordSize)
	copy(buf, magic)
	for i, p := range pts {
		encode(buf[len(magic)+i*recordSize:], p)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("history: rewrite %s: %w", t.path, err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("history: rewrite %s: %w", t.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("history: sync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, t.path); err != nil {
		f.Close()
		return fmt.Errorf("history: rewrite %s: %w", t.path, err)
	}
	if err := syncDir(filepath.Dir(t.path)); err != nil {
		f.Close()
		return err
	}
	// The new file is the one to append to; f was opened write-only and
	// is at its end.
	old := t.f
	t.f, t.records = f, len(pts)
	if err := old.Close(); err != nil {
		return fmt.Errorf("history: close %s: %w", t.path, err)
	}
	return nil
}

func (t *tierFile) close() error {
	if err := t.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("history: close %s: %w", t.path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("history: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("history: sync %s: %w", dir, err)
	}
	return nil
}

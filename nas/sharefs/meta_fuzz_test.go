package sharefs

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// FuzzMetaRecords decodes a metadata value as each record the share's
// badger holds (superblock, inode, directory entry): no input may panic,
// and what decodes must encode back to the same record.
func FuzzMetaRecords(f *testing.F) {
	f.Add([]byte{superFormat})
	f.Add(make([]byte, inodeFixed))
	wide := make([]byte, inodeWideFixed)
	wide[0] = inodeWide
	f.Add(wide)
	f.Fuzz(func(t *testing.T, in []byte) {
		if sb, err := decodeSuper(in); err == nil {
			if again := sb.encode(); !bytes.Equal(again, in) {
				t.Fatalf("superblock %x re-encodes as %x", in, again)
			}
		}
		if n, err := decodeInode(7, in); err == nil {
			if in[0] == inodeFormat {
				want := bytes.Clone(in)
				want[1] &= flagDir | flagLinked // the other flag bits are not kept
				if again := n.encode(); !bytes.Equal(again, want) {
					t.Fatalf("inode %x re-encodes as %x", in, again)
				}
				if n.ID != 7 || n.Name != string(in[inodeFixed:]) {
					t.Fatalf("inode decoded as %+v", n)
				}
			}
			// Format 2 re-encodes as format 1 when its times fit: the
			// record, not the bytes, must come back.
			again, err := decodeInode(7, n.encode())
			if err != nil || !sameInode(again, n) {
				t.Fatalf("inode %+v comes back as %+v (%v)", n, again, err)
			}
		}
		if id := decodeID(in); len(in) >= 8 && id != binary.BigEndian.Uint64(in) || len(in) < 8 && id != 0 {
			t.Fatalf("id %d from %x", id, in)
		}
	})
}

// TestWriteFuzzSeeds copies the values of a real share's metadata
// (superblock, inodes of a directory and files, directory entries) to
// testdata/fuzz/FuzzMetaRecords. Run with BACKSTOP_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BACKSTOP_FUZZ_SEEDS") == "" {
		t.Skip("BACKSTOP_FUZZ_SEEDS not set")
	}
	e := newEnvCase(t, true)
	e.mkdir("Backups")
	e.writeFile("Backups/monday.bak", bytes.Repeat([]byte("backstop "), 4000))
	e.writeFile("empty.txt", nil)
	dir := filepath.Join("testdata", "fuzz", "FuzzMetaRecords")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[byte]int{}
	err := e.fs.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			kind := it.Item().Key()[0]
			if seen[kind] >= 3 {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			name := string(kind) + strconv.Itoa(seen[kind])
			seen[kind]++
			seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(v)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("records by key kind: %v", seen)
}

// sameInode compares two inodes, times by instant.
func sameInode(a, b inode) bool {
	return a.ID == b.ID && a.Dir == b.Dir && a.Parent == b.Parent && a.Name == b.Name &&
		a.Size == b.Size && a.Version == b.Version && a.Attrs == b.Attrs &&
		a.Birth.Equal(b.Birth) && a.Access.Equal(b.Access) && a.Write.Equal(b.Write) &&
		a.Change.Equal(b.Change)
}

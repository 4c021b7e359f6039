package chunkstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenWithoutCreateLeavesOtherDirectories: Open without Create on a
// directory that is not a data directory (a directory of documents)
// refuses with ErrNoDataDir and leaves the directory as it was; on a
// data directory it opens.
func TestOpenWithoutCreateLeavesOtherDirectories(t *testing.T) {
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "letter.txt"), []byte("dear"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Create = false
	if _, err := Open(context.Background(), docs, opts); !errors.Is(err, ErrNoDataDir) {
		t.Fatalf("open of a directory of documents: %v, want ErrNoDataDir", err)
	}
	ents, err := os.ReadDir(docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "letter.txt" {
		t.Fatalf("the directory changed: %v", ents)
	}
	data := filepath.Join(t.TempDir(), "data")
	e, err := Open(context.Background(), data, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(context.Background(), data, opts)
	if err != nil {
		t.Fatalf("open of a data directory without Create: %v", err)
	}
	e.Close()
}

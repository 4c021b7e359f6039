package sharefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestConcurrentReaderWhileWriting: a reader on its own handle sees a
// consistent prefix of what the writer has written so far.
func TestConcurrentReaderWhileWriting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	piece, pieces := 32<<10, 64
	if testing.Short() {
		pieces = 24
	}
	data := randBytes(7, piece*pieces)
	wf := e.create("f")
	rf, err := e.fs.Open(ctx, "f", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	written := make(chan int64, pieces)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(written)
		for i := range pieces {
			if _, err := wf.WriteAt(data[i*piece:(i+1)*piece], int64(i*piece)); err != nil {
				t.Error(err)
				return
			}
			written <- int64((i + 1) * piece)
		}
	}()
	buf := make([]byte, piece)
	for n := range written {
		// everything acknowledged so far reads back, from any offset
		for _, off := range []int64{0, n / 2, n - int64(piece)} {
			k, err := rf.ReadAt(buf, off)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if k < piece || !bytes.Equal(buf[:k], data[off:off+int64(k)]) {
				t.Fatalf("read %d at %d with %d written: %d bytes, wrong", piece, off, n, k)
			}
		}
	}
	wg.Wait()
	wf.Close()
	if got := readAll(t, rf); !bytes.Equal(got, data) {
		t.Fatal("final content differs")
	}
	rf.Close()
}

// TestConcurrentFiles: goroutines create, write, rename and remove files
// in their own directories at once; everything lands.
func TestConcurrentFiles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := fmt.Sprint("w", w)
			d, err := e.fs.Open(ctx, dir, vfs.OpenCreate|vfs.OpenDir)
			if err != nil {
				t.Error(err)
				return
			}
			d.Close()
			for i := range perWorker {
				p := fmt.Sprintf("%s/tmp%d", dir, i)
				f, err := e.fs.Open(ctx, p, vfs.OpenCreate|vfs.OpenWrite|vfs.OpenExcl)
				if err != nil {
					t.Error(err)
					return
				}
				data := randBytes(uint64(w*100+i), 20000+i)
				if _, err := f.WriteAt(data, 0); err != nil {
					t.Error(err)
				}
				if err := f.Close(); err != nil {
					t.Error(err)
				}
				if err := e.fs.Rename(ctx, p, fmt.Sprintf("%s/f%d", dir, i), false); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					if err := e.fs.Remove(ctx, fmt.Sprintf("%s/f%d", dir, i)); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	e.restart()
	kept := 0
	for w := range workers {
		for i := range perWorker {
			p := fmt.Sprintf("w%d/f%d", w, i)
			if i%3 == 0 {
				if _, err := e.fs.Stat(ctx, p); !errors.Is(err, vfs.ErrNotExist) {
					t.Fatalf("%s: %v", p, err)
				}
				continue
			}
			e.checkFile(p, randBytes(uint64(w*100+i), 20000+i))
			kept++
		}
	}
	if files, _ := e.fs.Usage(); files != int64(kept) || len(e.items()) != kept {
		t.Fatalf("%d files, %d items, want %d", files, len(e.items()), kept)
	}
}

// TestDedupOfRewrite: rewriting a few bytes in the middle of a large file
// stores little more than the changed chunks.
func TestDedupOfRewrite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	size := 16 << 20
	if testing.Short() {
		size = 4 << 20
	}
	data := randBytes(9, size)
	e.writeFile("big", data)
	before := e.eng.Stats().StoredBytes
	f, err := e.fs.Open(ctx, "big", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("changed"), int64(size/2))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copy(data[size/2:], "changed")
	e.checkFile("big", data)
	added := e.eng.Stats().StoredBytes - before
	t.Logf("rewriting 7 bytes of %d MiB stored %d new bytes", size>>20, added)
	if added > int64(size/8) {
		t.Fatalf("a 7-byte rewrite stored %d bytes", added)
	}
	if got := e.items(); len(got) != 1 {
		t.Fatalf("items %v", got)
	}
}

// TestParallelReaders: several goroutines read one file at once (shared
// lock) while a writer changes another part of it.
func TestParallelReaders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const size = 2 << 20
	data := randBytes(21, size)
	e.writeFile("f", data)
	wf, err := e.fs.Open(ctx, "f", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := e.fs.Open(ctx, "f", vfs.OpenRead)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			buf := make([]byte, 100000)
			for i := range 40 {
				off := int64((r*7919 + i*104729) % (size/2 - len(buf))) // the first half never changes
				k, err := f.ReadAt(buf, off)
				if err != nil && !errors.Is(err, io.EOF) {
					t.Error(err)
					return
				}
				if !bytes.Equal(buf[:k], data[off:off+int64(k)]) {
					t.Errorf("reader %d: wrong bytes at %d", r, off)
					return
				}
			}
		}()
	}
	for i := range 20 { // staged writes into the second half meanwhile
		if _, err := wf.WriteAt(randBytes(uint64(i), 1000), size/2+int64(i)*5000); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

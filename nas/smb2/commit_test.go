package smb2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// failingFS is a MemFS whose files' Sync and Close (the commit) fail
// with err once it is set: an engine failure injected under the share.
type failingFS struct {
	*vfs.MemFS
	mu  sync.Mutex
	err error
}

func (f *failingFS) setErr(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *failingFS) failure() error { f.mu.Lock(); defer f.mu.Unlock(); return f.err }

func (f *failingFS) Open(ctx context.Context, path string, flag vfs.OpenFlag) (vfs.File, error) {
	h, err := f.MemFS.Open(ctx, path, flag)
	if err != nil {
		return nil, err
	}
	return &failingFile{File: h, fs: f}, nil
}

type failingFile struct {
	vfs.File
	fs *failingFS
}

func (h *failingFile) Sync() error {
	if err := h.fs.failure(); err != nil {
		return err
	}
	return h.File.Sync()
}

func (h *failingFile) Close() error {
	err := h.File.Close()
	if ferr := h.fs.failure(); ferr != nil {
		return ferr
	}
	return err
}

func ntStatus(err error) Status {
	var re *gosmb2.ResponseError
	if errors.As(err, &re) {
		return Status(re.Code)
	}
	return StatusSuccess
}

// TestCommitFailureReachesClient: FLUSH and CLOSE answer the commit's
// failure with its status (DISK_FULL, UNEXPECTED_IO_ERROR), a file the
// failed handle created is removed, and each handle's failure is counted
// once.
func TestCommitFailureReachesClient(t *testing.T) {
	fsys := &failingFS{MemFS: vfs.NewMemFS(1 << 30)}
	var failures dedup.CommitFailures
	opts := DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Addr = "127.0.0.1:0"
	opts.Failures = &failures
	srv := New(testShares{"data": {Name: "data", FS: fsys, Access: nas.AccessReadWrite}}, testUsers{testUser: testPass}, opts)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, srv) })
	share := mount(t, &testEnv{addr: srv.Addr()}, gosmb2.Negotiator{}, "data")

	for _, tc := range []struct {
		name string
		err  error
		want Status
	}{
		{"full.bin", fmt.Errorf("commit: %w: %w", vfs.ErrNoSpace, dedup.ErrFull), StatusDiskFull},
		{"io.bin", errors.New("injected: input/output error"), StatusUnexpectedIOError},
	} {
		fsys.setErr(nil)
		f, err := share.Create(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("backup data")); err != nil {
			t.Fatal(err)
		}
		fsys.setErr(tc.err)
		if got := ntStatus(f.Sync()); got != tc.want {
			t.Errorf("%s: FLUSH answered %v, want %v", tc.name, got, tc.want)
		}
		if got := ntStatus(f.Close()); got != tc.want {
			t.Errorf("%s: CLOSE answered %v, want %v", tc.name, got, tc.want)
		}
		fsys.setErr(nil)
		if _, err := share.Stat(tc.name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the file whose commit failed is visible: %v", tc.name, err)
		}
	}
	want := []dedup.FailureCount{{FailureKey: dedup.FailureKey{Protocol: "smb", Reason: dedup.ReasonFull}, Count: 1},
		{FailureKey: dedup.FailureKey{Protocol: "smb", Reason: dedup.ReasonIO}, Count: 1}}
	if got := failures.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failures counted %+v, want %+v", got, want)
	}
	// A file that was there before keeps existing after a failed close of
	// a handle that only opened it.
	fsys.setErr(nil)
	f, err := share.Create("kept.bin")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = share.OpenFile("kept.bin", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("more"))
	fsys.setErr(errors.New("injected"))
	if ntStatus(f.Close()) != StatusUnexpectedIOError {
		t.Error("CLOSE of an opened file did not report the failure")
	}
	fsys.setErr(nil)
	if _, err := share.Stat("kept.bin"); err != nil {
		t.Errorf("an existing file was removed after a failed close: %v", err)
	}
}

// TestWriteThroughCommits: a WRITE with SMB2_WRITEFLAG_WRITE_THROUGH, or
// on a handle opened with FILE_WRITE_THROUGH, is committed before it is
// answered, so a failed commit fails that WRITE; an ordinary WRITE is
// not. A durable handle that expires is closed (committed) by the
// server, and its failure, with no client to tell, is counted.
func TestWriteThroughCommits(t *testing.T) {
	var failures dedup.CommitFailures
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Failures: &failures, DurableTimeout: 50 * time.Millisecond})
	defer shutdown(t, srv)
	fsys := &failingFS{MemFS: vfs.NewMemFS(1 << 30)}
	share := nas.Share{Name: "data", FS: fsys, Access: nas.AccessReadWrite}
	rc := newRawConn(t, srv, 1, share)
	open := func(name string, options uint32) fileID {
		t.Helper()
		st, body := rc.do(t, cmdCreate, createBody(name, dispOpenIf, options))
		if st != StatusSuccess {
			t.Fatalf("create %s: %v", name, st)
		}
		return getFileID(body[64:])
	}
	write := func(fid fileID, flags uint32) Status {
		t.Helper()
		w := fileBody(49, 48, 16, func(w *buf) {
			le.PutUint16(w.b[2:], headerSize+48)
			le.PutUint32(w.b[4:], 5)
			le.PutUint32(w.b[44:], flags)
			w.bytes([]byte("hello"))
		})
		putFileID(w[16:], fid)
		st, _ := rc.do(t, cmdWrite, w)
		return st
	}
	full := fmt.Errorf("%w: %w", vfs.ErrNoSpace, dedup.ErrFull)
	plain := open("plain.bin", 0)
	fsys.setErr(full)
	if st := write(plain, 0); st != StatusSuccess {
		t.Fatalf("ordinary WRITE: %v, want success (nothing is committed)", st)
	}
	if st := write(plain, writeFlagWriteThrough); st != StatusDiskFull {
		t.Fatalf("WRITE with the write-through flag: %v, want DISK_FULL", st)
	}
	fsys.setErr(nil)
	wt := open("wt.bin", optWriteThrough)
	fsys.setErr(full)
	if st := write(wt, 0); st != StatusDiskFull {
		t.Fatalf("WRITE on a FILE_WRITE_THROUGH handle: %v, want DISK_FULL", st)
	}
	fsys.setErr(nil)

	// A durable handle, its connection dropped, expiring on a store
	// that cannot commit.
	st, body := rc.do(t, cmdCreate, durableCreate("durable.bin", "DHnQ", make([]byte, 16)))
	if st != StatusSuccess {
		t.Fatalf("durable create: %v", st)
	}
	if st := write(getFileID(body[64:]), 0); st != StatusSuccess {
		t.Fatalf("write: %v", st)
	}
	fsys.setErr(errors.New("injected: input/output error"))
	rc.c.teardown()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := 0
		for _, c := range failures.Counts() {
			if c.Reason == dedup.ReasonIO {
				n++
			}
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired durable handle's failed commit was not counted: %+v", failures.Counts())
		}
	}
}

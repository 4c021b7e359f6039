package smb2

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// linkFS is a MemFS that records links and reports two names for a
// linked file.
type linkFS struct {
	*vfs.MemFS
	links [][2]string
}

func (l *linkFS) Link(ctx context.Context, from, to string) error {
	f, err := l.Open(ctx, to, vfs.OpenCreate|vfs.OpenExcl|vfs.OpenWrite)
	if err != nil {
		return err
	}
	l.links = append(l.links, [2]string{from, to})
	return f.Close()
}

func (rc *rawConn) setLink(t *testing.T, fid fileID, name string, replace bool) Status {
	t.Helper()
	n := utf16le(name)
	s := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileLinkInformation
		le.PutUint32(w.b[4:], uint32(20+len(n)))
		le.PutUint16(w.b[8:], headerSize+32)
		w.u8(b2u8(replace))
		w.zero(7 + 8)
		w.u32(uint32(len(n)))
		w.bytes(n)
	})
	putFileID(s[16:], fid)
	st, _ := rc.do(t, cmdSetInfo, s)
	return st
}

// TestLinkInfo: SET_INFO FileLinkInformation ([MS-FSCC] 2.4.21.2) asks
// the FS for a link with the share-relative name, answers as Windows
// does for a name in use, a directory and another share, and reports
// NOT_SUPPORTED on an FS without links.
func TestLinkInfo(t *testing.T) {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	fs := &linkFS{MemFS: vfs.NewMemFS(1 << 30)}
	rc := newRawConn(t, srv, 1, nas.Share{Name: "data", FS: fs, Access: nas.AccessReadWrite})
	fid := rc.create(t, "a.bin")
	rc.writeAt(t, fid, 0, []byte("data"))
	other := rc.create(t, "taken.bin")
	rc.close(t, other)
	for _, tc := range []struct {
		name    string
		replace bool
		want    Status
	}{
		{`b.bin`, false, StatusSuccess},
		{`\c.bin`, false, StatusSuccess},
		{`\\server\DATA\d.bin`, false, StatusSuccess},
		{`\\server\other\e.bin`, false, StatusNotSameDevice},
		{`taken.bin`, false, StatusObjectNameCollision},
		{`taken.bin`, true, StatusSuccess},
		{`a.bin`, false, StatusSuccess}, // its own name
		{`no\such\dir`, false, StatusObjectPathNotFound},
	} {
		if st := rc.setLink(t, fid, tc.name, tc.replace); st != tc.want {
			t.Errorf("link to %q (replace %v): %v, want %v", tc.name, tc.replace, st, tc.want)
		}
	}
	want := [][2]string{{"a.bin", "b.bin"}, {"a.bin", "c.bin"}, {"a.bin", "d.bin"}, {"a.bin", "taken.bin"}}
	if len(fs.links) != len(want) {
		t.Fatalf("links %v, want %v", fs.links, want)
	}
	for i := range want {
		if fs.links[i] != want[i] {
			t.Fatalf("links %v, want %v", fs.links, want)
		}
	}
	rc.close(t, fid)

	st, body := rc.do(t, cmdCreate, createBody("dir", dispCreate, optDirectory))
	if st != StatusSuccess {
		t.Fatalf("mkdir: %v", st)
	}
	if st := rc.setLink(t, getFileID(body[64:]), "dir2", false); st != StatusFileIsADirectory {
		t.Errorf("link of a directory: %v", st)
	}

	plain := newRawConn(t, srv, 2, nas.Share{Name: "mem", FS: vfs.NewMemFS(1 << 20), Access: nas.AccessReadWrite})
	fid = plain.create(t, "x")
	if st := plain.setLink(t, fid, "y", false); st != StatusNotSupported {
		t.Errorf("link on an FS without links: %v", st)
	}
}

// TestStandardLinks: FILE_STANDARD_INFORMATION reports the file's names.
func TestStandardLinks(t *testing.T) {
	for _, tc := range []struct{ links, want uint32 }{{0, 1}, {1, 1}, {3, 3}} {
		var w buf
		putStandard(&w, vfs.Info{Links: tc.links}, false)
		if got := le.Uint32(w.b[16:]); got != tc.want {
			t.Errorf("Links %d: NumberOfLinks %d, want %d", tc.links, got, tc.want)
		}
	}
}

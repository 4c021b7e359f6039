package smb2

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// fuzzConn is a connection past negotiate and session setup (3.1.1,
// session 1 without signing, tree 1 on a MemFS share) whose responses are
// read and dropped.
func fuzzConn(t testing.TB) *conn {
	srv := New(testShares{}, testUsers{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a, b := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	c := newConn(srv, a)
	c.dialect = dialect311
	c.signAlg = signAESCMAC
	c.serverCaps = capLargeMTU
	c.credits.hi = 1 << 40
	s := &session{id: 1, state: sessValid, user: testUser, trees: map[uint32]*tree{}, opens: map[uint64]*open{}}
	s.trees[1] = &tree{id: 1, files: srv.files, share: nas.Share{Name: "data", FS: vfs.NewMemFS(16 << 20), Access: nas.AccessReadWrite}}
	s.trees[2] = &tree{id: 2, files: srv.files, ipc: true, share: nas.Share{Name: "IPC$"}}
	c.sessions[1] = s
	t.Cleanup(func() {
		c.teardown()
		b.Close()
	})
	return c
}

// req builds one request message: header for session 1, tree 1, then body.
func req(cmd uint16, mid uint64, body []byte) []byte {
	h := header{Command: cmd, MessageID: mid, SessionID: 1, TreeID: 1, Credit: 1, CreditCharge: 1}
	msg := make([]byte, headerSize)
	h.put(msg)
	return append(msg, body...)
}

func createBody(name string, disp, options uint32) []byte {
	n := utf16le(name)
	var w buf
	w.u16(57)
	w.u8(0)
	w.u8(0)
	w.u32(2)
	w.zero(16)
	w.u32(accessAllFile)
	w.u32(0x80)
	w.u32(7)
	w.u32(disp)
	w.u32(options)
	w.u16(headerSize + 56)
	w.u16(uint16(len(n)))
	w.u32(0)
	w.u32(0)
	w.bytes(n)
	return w.b
}

func fileBody(structSize uint16, fixed int, fidAt int, extra func(w *buf)) []byte {
	var w buf
	w.u16(structSize)
	w.zero(fixed - 2)
	le.PutUint64(w.b[fidAt:], ^uint64(0))
	le.PutUint64(w.b[fidAt+8:], ^uint64(0))
	if extra != nil {
		extra(&w)
	}
	return w.b
}

// fuzzSeeds are valid frames of each kind: a related compound of create,
// write, read, query info, set info, query directory, lock, ioctl, close.
func fuzzSeeds() [][]byte {
	related := func(msgs ...[]byte) []byte {
		var out []byte
		for i, m := range msgs {
			for len(m)%8 != 0 {
				m = append(m, 0)
			}
			if i < len(msgs)-1 {
				le.PutUint32(m[20:], uint32(len(m)))
			}
			if i > 0 {
				le.PutUint32(m[16:], flagRelated)
			}
			out = append(out, m...)
		}
		return out
	}
	write := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], 5)
		w.bytes([]byte("hello"))
	})
	read := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint32(w.b[4:], 5)
		w.u8(0)
	})
	qinfo := fileBody(41, 40, 24, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileAllInformation
		le.PutUint32(w.b[4:], 4096)
	})
	sinfo := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileEndOfFileInformation
		le.PutUint32(w.b[4:], 8)
		le.PutUint16(w.b[8:], headerSize+32)
		w.u64(3)
	})
	lock := fileBody(48, 24, 8, func(w *buf) {
		le.PutUint16(w.b[2:], 1)
		w.u64(0)
		w.u64(10)
		w.u32(lockExclusive | lockFailImmediately)
		w.u32(0)
	})
	closeB := fileBody(24, 24, 8, nil)
	pattern := utf16le("*")
	qdir := fileBody(33, 32, 8, func(w *buf) {
		w.b[2] = fileIDBothDirectoryInformation
		le.PutUint16(w.b[24:], headerSize+32)
		le.PutUint16(w.b[26:], uint16(len(pattern)))
		le.PutUint32(w.b[28:], 65536)
		w.bytes(pattern)
	})
	ioctl := fileBody(57, 56, 8, func(w *buf) {
		le.PutUint32(w.b[4:], fsctlQueryAllocatedRanges)
		le.PutUint32(w.b[24:], headerSize+56)
		le.PutUint32(w.b[28:], 16)
		le.PutUint32(w.b[44:], 1024)
		le.PutUint32(w.b[48:], 1)
		w.u64(0)
		w.u64(100)
	})
	return [][]byte{
		related(req(cmdCreate, 1, createBody(`f.txt`, dispOverwriteIf, 0)), req(cmdWrite, 2, write),
			req(cmdRead, 3, read), req(cmdQueryInfo, 4, qinfo), req(cmdSetInfo, 5, sinfo),
			req(cmdLock, 6, lock), req(cmdIoctl, 7, ioctl), req(cmdClose, 8, closeB)),
		related(req(cmdCreate, 1, createBody(`dir`, dispOpenIf, optDirectory)), req(cmdQueryDirectory, 2, qdir), req(cmdClose, 3, closeB)),
		req(cmdEcho, 1, []byte{4, 0, 0, 0}),
		req(cmdCreate, 1, createBody(`a\..\..\b`, dispCreate, 0)),
	}
}

func FuzzHandleFrame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := fuzzConn(t)
		_ = c.handleFrame(frame)
		// The connection must still serve a valid request afterwards
		// unless it was dropped.
		_ = c.handleFrame(req(cmdEcho, 1<<39, []byte{4, 0, 0, 0}))
	})
}

// FuzzNegToken feeds SPNEGO tokens, and the NTLMSSP message in them as an
// AUTHENTICATE_MESSAGE, to the parsers of session setup.
func FuzzNegToken(f *testing.F) {
	neg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x35, 0x82, 0x08, 0x60)
	f.Add(negTokenInit2())
	f.Add(negTokenResp(negAcceptIncomplete, true, neg, nil))
	auth := append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 80)...)
	le.PutUint16(auth[20:], 60)
	le.PutUint32(auth[24:], 24)
	f.Add(negTokenResp(negAcceptIncomplete, false, auth, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseNegToken(b)
		if err != nil {
			return
		}
		n := &ntlmServer{domain: "D", computer: "C", now: time.Now}
		if _, err := n.challengeFor(neg); err != nil {
			t.Fatal(err)
		}
		if n.authenticate(tok.token, func(string) ([]byte, bool) { return ntHash("x"), true }) == nil {
			t.Fatalf("a fuzzed token authenticated")
		}
	})
}

// TestWriteFuzzCorpus writes the seeds into testdata/fuzz (run with
// UPDATE_FUZZ_CORPUS=1 after changing fuzzSeeds).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("UPDATE_FUZZ_CORPUS") == "" {
		t.Skip("set UPDATE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzHandleFrame")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package smb2

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// testShares is a ShareSource of fixed shares, the same for every user.
type testShares map[string]nas.Share

func (s testShares) Share(ctx context.Context, name, user string) (nas.Share, error) {
	sh, ok := s[strings.ToLower(name)]
	if !ok {
		return nas.Share{}, nas.ErrNoShare
	}
	return sh, nil
}

func (s testShares) Shares(ctx context.Context, user string) ([]nas.Share, error) {
	var out []nas.Share
	for _, sh := range s {
		out = append(out, sh)
	}
	return out, nil
}

// testUsers holds clear-text passwords and answers NT hashes.
type testUsers map[string]string

func (u testUsers) NTHash(user string) ([]byte, error) {
	p, ok := u[user]
	if !ok {
		return nil, ErrUnknownUser
	}
	return ntHash(p), nil
}

func ntHash(password string) []byte {
	h := md4.New()
	for _, c := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(c), byte(c >> 8)})
	}
	return h.Sum(nil)
}

const (
	testUser = "backup"
	testPass = "s3cret-pass"
)

type testEnv struct {
	srv   *Server
	addr  string
	fs    *vfs.MemFS
	roFS  *vfs.MemFS
	encFS *vfs.MemFS
}

// startServer serves a read-write share "data", a read-only "ro" and an
// encrypted "enc" on 127.0.0.1:0.
func startServer(t testing.TB, opts Options) *testEnv {
	t.Helper()
	env := &testEnv{fs: vfs.NewMemFS(1 << 40), roFS: vfs.NewMemFS(1 << 30), encFS: vfs.NewMemFS(1 << 30)}
	shares := testShares{
		"data": {Name: "data", FS: env.fs, Access: nas.AccessReadWrite},
		"ro":   {Name: "ro", FS: env.roFS, Access: nas.AccessRead},
		"enc":  {Name: "enc", FS: env.encFS, Access: nas.AccessReadWrite, EncryptData: true},
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	env.srv = New(shares, testUsers{testUser: testPass}, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = env.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		env.srv.Close()
		testwait.Recv(t, done)
	})
	return env
}

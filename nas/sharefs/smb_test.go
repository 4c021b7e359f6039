package sharefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/backstop-appliance/backstop/internal/testwait"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// These tests serve the real share manager over the SMB server and drive
// it with Samba's smbclient: the share filesystem as clients use it.

const smbUser, smbPass = "alice", "Secret-Pass-1"

type smbUsers map[string]string

func (u smbUsers) NTHash(user string) ([]byte, error) {
	p, ok := u[user]
	if !ok {
		return nil, smb2.ErrUnknownUser
	}
	h := md4.New()
	for _, c := range utf16.Encode([]rune(p)) {
		h.Write([]byte{byte(c), byte(c >> 8)})
	}
	return h.Sum(nil), nil
}

type smbEnv struct {
	*managerEnv
	addr string
}

func needSmbclient(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("smbclient tests run in make test-sharefs (which installs smbclient)")
	}
	if _, err := exec.LookPath("smbclient"); err != nil {
		t.Fatalf("smbclient not installed: %v (make test-sharefs installs it)", err)
	}
}

func startSMB(t *testing.T) *smbEnv {
	t.Helper()
	needSmbclient(t)
	me := newManagerEnv(t)
	if _, err := me.m.Create(context.Background(), Share{Name: "secure", EncryptData: true}); err != nil {
		t.Fatal(err)
	}
	opts := smb2.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := smb2.New(me.m, smbUsers{smbUser: smbPass}, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		testwait.Recv(t, done)
	})
	return &smbEnv{managerEnv: me, addr: ln.Addr().String()}
}

// smbclient runs smbclient on share with opts and arguments.
func (e *smbEnv) smbclient(share string, opts []string, args ...string) string {
	e.t.Helper()
	host, port, _ := net.SplitHostPort(e.addr)
	a := append([]string{"//" + host + "/" + share, "-p", port, "-U", smbUser + "%" + smbPass}, opts...)
	cmd := exec.Command("smbclient", append(a, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("NT_STATUS_")) {
		e.t.Fatalf("smbclient %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var smbModes = []struct {
	name string
	opts []string
}{
	{"smb2", []string{"-m", "SMB2"}},
	{"smb3", []string{"-m", "SMB3"}},
	{"smb3-sign", []string{"-m", "SMB3", "--client-protection=sign"}},
	{"smb3-encrypt", []string{"-m", "SMB3", "--client-protection=encrypt"}},
}

func TestSMBClientOps(t *testing.T) {
	e := startSMB(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := randBytes(11, 5<<20+123)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sh, err := e.m.Share(ctx, "backup", smbUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range smbModes {
		t.Run(mode.name, func(t *testing.T) {
			d := mode.name
			dst := filepath.Join(dir, d+".out")
			out := e.smbclient("backup", mode.opts, "-c", strings.Join([]string{
				"mkdir " + d, "cd " + d, "put " + src + " a.bin", "rename a.bin b.bin", "get b.bin " + dst,
				"allinfo b.bin", "put " + src + " c.bin", "del c.bin", "ls"}, "; "))
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get: %d bytes (%v), want the %d put", len(got), err, len(data))
			}
			if !strings.Contains(out, "b.bin") || !strings.Contains(out, "create_time:") {
				t.Fatalf("ls/allinfo output:\n%s", out)
			}
			if _, err := sh.FS.Stat(ctx, d+"/c.bin"); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("c.bin after del: %v", err)
			}
			in, err := sh.FS.Stat(ctx, d+"/b.bin")
			if err != nil || in.Size != int64(len(data)) {
				t.Fatalf("b.bin: %+v %v", in, err)
			}
		})
	}
	// every file is one item; the data was stored once
	info, _ := e.m.Get(ctx, "backup")
	if info.Files != int64(len(smbModes)) || info.DedupRatio < float64(len(smbModes))-0.5 {
		t.Fatalf("figures after the runs: %+v", info.Figures)
	}
	// the encrypted share refuses a client that does not encrypt
	host, port, _ := net.SplitHostPort(e.addr)
	out, _ := exec.Command("smbclient", "//"+host+"/secure", "-p", port, "-U", smbUser+"%"+smbPass, "-m", "SMB2", "-c", "ls").CombinedOutput()
	if !bytes.Contains(out, []byte("NT_STATUS_ACCESS_DENIED")) {
		t.Fatalf("unencrypted client on the encrypted share:\n%s", out)
	}
	e.smbclient("secure", []string{"-m", "SMB3", "--client-protection=encrypt"}, "-c", "put "+src+" x.bin; ls")
}

// makeTree writes a tree of files into dir; variant changes a little of
// it (one file rewritten in part, one added) to make "the next backup".
func makeTree(t *testing.T, dir string, variant int) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	files := map[string][]byte{}
	for i := range 16 {
		name := filepath.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("s%d", i%2), fmt.Sprintf("f%02d.bin", i))
		files[name] = randBytes(uint64(100+i), rng.IntN(3<<20))
	}
	files["empty.txt"] = nil
	files["notes.txt"] = []byte("backup notes\n")
	if variant > 0 {
		b := files[filepath.Join("d1", "s1", "f01.bin")]
		copy(b[len(b)/2:], randBytes(999, 4096))
		files["added.txt"] = []byte("new in the second backup\n")
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	if b, err := exec.Command("tar", "-C", dir, "-cf", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, b)
	}
}

// TestSMBTar restores a tar into the share (smbclient -Tx), backs it up
// (-Tc) and checks every file byte for byte; a second, nearly identical
// tree then costs almost nothing new on disk.
func TestSMBTar(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []string
	}{smbModes[0], smbModes[2], smbModes[3]} {
		t.Run(mode.name, func(t *testing.T) {
			e := startSMB(t)
			ctx := context.Background()
			dir := t.TempDir()
			var stored []int64
			for gen := range 2 {
				src := filepath.Join(dir, fmt.Sprint("src", gen))
				files := makeTree(t, src, gen)
				in := filepath.Join(dir, fmt.Sprint("in", gen, ".tar"))
				tarDir(t, src, in)
				target := fmt.Sprint("gen", gen)
				e.smbclient("backup", mode.opts, "-c", "mkdir "+target)
				e.smbclient("backup", mode.opts, "-D", target, "-Tx", in)
				back := filepath.Join(dir, fmt.Sprint("back", gen, ".tar"))
				e.smbclient("backup", mode.opts, "-D", target, "-Tc", back)
				restored := filepath.Join(dir, fmt.Sprint("restored", gen))
				os.MkdirAll(restored, 0o755)
				if b, err := exec.Command("tar", "-C", restored, "-xf", back).CombinedOutput(); err != nil {
					t.Fatalf("untar: %v %s", err, b)
				}
				for name, want := range files {
					// -Tc names the files with the -D directory
					got, err := os.ReadFile(filepath.Join(restored, target, name))
					if err != nil || !bytes.Equal(got, want) {
						lst, _ := exec.Command("tar", "-tvf", back).CombinedOutput()
						t.Fatalf("gen %d %s: %d bytes back (%v), want %d identical\n%s", gen, name, len(got), err, len(want), lst)
					}
				}
				info, err := e.m.Get(ctx, "backup")
				if err != nil {
					t.Fatal(err)
				}
				stored = append(stored, info.StoredBytes)
				t.Logf("after gen %d: %d files, %d logical bytes, %d stored, dedup %.2fx",
					gen, info.Files, info.LogicalBytes, info.StoredBytes, info.DedupRatio)
			}
			added := stored[1] - stored[0]
			if added > stored[0]/20 {
				t.Fatalf("the second, nearly identical backup stored %d new bytes (first: %d)", added, stored[0])
			}
		})
	}
}

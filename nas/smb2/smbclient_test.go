package smb2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"regexp"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// smbclient runs Samba's smbclient against the test server with the
// given extra options and commands; it fails the test on error.
func runSmbclient(t *testing.T, env *testEnv, share string, opts []string, cmds string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(env.addr)
	args := append([]string{"//" + host + "/" + share, "-p", port, "-U", testUser + "%" + testPass, "-c", cmds}, opts...)
	cmd := exec.Command("smbclient", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("smbclient %v: %v\n%s", args, err, out.String())
	}
	if strings.Contains(out.String(), "NT_STATUS_") {
		t.Fatalf("smbclient %v reported an error:\n%s", args, out.String())
	}
	return out.String()
}

// needTool: the smbclient tests run in make test-smb (which installs
// the tools), not in the -short run of make test.
func needTool(t *testing.T, name string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("runs in make test-smb, not under -short")
	}
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not installed: %v (make test-smb installs it)", name, err)
	}
}

func TestSmbclientBasic(t *testing.T) {
	needTool(t, "smbclient")
	env := startServer(t, Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := bytes.Repeat([]byte("backstop smb2 "), 300000)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"smb2", []string{"-m", "SMB2"}},
		{"smb3", []string{"-m", "SMB3"}},
		{"smb3-sign", []string{"-m", "SMB3", "--client-protection=sign"}},
		{"smb3-encrypt", []string{"-m", "SMB3", "--client-protection=encrypt"}},
		{"smb2-sign", []string{"-m", "SMB2", "--client-protection=sign"}},
		{"smb2_02", []string{"-m", "SMB2_02"}},
		{"smb3_00", []string{"-m", "SMB3_00", "--client-protection=encrypt"}},
		// An SMB1 NEGOTIATE offering SMB2 first, as older clients send.
		{"smb1-upgrade", []string{"--option=client min protocol=NT1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.name
			dst := filepath.Join(dir, tc.name+".out")
			out := runSmbclient(t, env, "data", tc.opts, strings.Join([]string{
				"mkdir " + d, "cd " + d, "put " + src + " a.bin", "rename a.bin b.bin", "get b.bin " + dst,
				"allinfo b.bin", "ls", "put " + src + " c.bin", "del c.bin", "ls",
			}, "; "))
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("get returned %d bytes, want the %d put", len(got), len(data))
			}
			if !regexp.MustCompile(`(?m)^\s+b\.bin\s+A\s+4200000 `).MatchString(out) {
				t.Fatalf("ls does not list b.bin:\n%s", out)
			}
			ctx := context.Background()
			if _, err := env.fs.Stat(ctx, d+"/c.bin"); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("c.bin after del: %v", err)
			}
			if _, err := env.fs.Stat(ctx, d+"/a.bin"); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("a.bin after rename: %v", err)
			}
			if !strings.Contains(out, "create_time:") {
				t.Fatalf("allinfo output:\n%s", out)
			}
		})
	}
}

// TestSmbclientTar restores a tar into the share with smbclient -Tx, backs
// the share up with -Tc, and checks every file comes back byte-identical.
func TestSmbclientTar(t *testing.T) {
	needTool(t, "smbclient")
	needTool(t, "tar")
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"smb2", []string{"-m", "SMB2"}},
		{"smb3-sign", []string{"-m", "SMB3", "--client-protection=sign"}},
		{"smb3-encrypt", []string{"-m", "SMB3", "--client-protection=encrypt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startServer(t, Options{})
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			files := map[string][]byte{}
			r := rand.New(rand.NewSource(7))
			for i := 0; i < 12; i++ {
				name := filepath.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("sub%d", i%2), fmt.Sprintf("f%02d.bin", i))
				data := make([]byte, r.Intn(3<<20))
				r.Read(data)
				files[name] = data
				if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			files["empty.txt"] = nil
			if err := os.WriteFile(filepath.Join(src, "empty.txt"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "in.tar")
			if out, err := exec.Command("tar", "-C", src, "-cf", in, ".").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v %s", err, out)
			}
			host, port, _ := net.SplitHostPort(env.addr)
			smb := func(args ...string) {
				t.Helper()
				a := append([]string{"//" + host + "/data", "-p", port, "-U", testUser + "%" + testPass}, tc.opts...)
				cmd := exec.Command("smbclient", append(a, args...)...)
				out, err := cmd.CombinedOutput()
				if err != nil || bytes.Contains(out, []byte("NT_STATUS_")) {
					t.Fatalf("smbclient %v: %v\n%s", args, err, out)
				}
			}
			smb("-Tx", in)
			back := filepath.Join(dir, "back.tar")
			smb("-Tc", back)
			restored := filepath.Join(dir, "restored")
			if err := os.MkdirAll(restored, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("tar", "-C", restored, "-xf", back).CombinedOutput(); err != nil {
				t.Fatalf("untar: %v %s", err, out)
			}
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(restored, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes back, want %d identical", name, len(got), len(want))
				}
			}
		})
	}
}

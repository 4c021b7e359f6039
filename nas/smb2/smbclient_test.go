package smb2

import (
	"bytes"
	"context"
	"errors"
	"regexp"

	"backstop/nas/vfs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if testing.Short() {
			t.Skipf("%s not installed (make test-smb installs it and runs this test)", name)
		}
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

package iscsi_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi"
)

// tool finds a Debian tool. In -short runs a missing tool skips the test
// (make test-iscsi installs libiscsi-bin and runs it for real); otherwise
// it fails.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testing.Short() {
		t.Skipf("%s missing (Debian %s); make test-iscsi runs this test", name, pkg)
	}
	t.Fatalf("%s missing: apt-get install -y %s", name, pkg)
	return ""
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// TestLibiscsi runs libiscsi's tools (a user-space initiator written
// independently of ours) against the target.
func TestLibiscsi(t *testing.T) {
	ls := tool(t, "iscsi-ls", "libiscsi-bin")
	inq := tool(t, "iscsi-inq", "libiscsi-bin")
	f := start(t, func(o *iscsi.Options, s *source) {
		s.targets = append(s.targets, iscsi.Target{Name: tgtName + ".chap", LUNs: lunSet{0: newMemTape(1)},
			CHAP: iscsi.CHAP{User: "alice", Secret: "alice-secret-12"}})
	})
	const ini = "iqn.2026-11.org.backstop:libiscsi"
	portal := "iscsi://" + f.addr

	out, err := run(t, ls, "-i", ini, "-s", "iscsi://alice%alice-secret-12@"+f.addr)
	if err != nil {
		t.Fatalf("iscsi-ls: %v\n%s", err, out)
	}
	t.Logf("iscsi-ls -s:\n%s", out)
	for _, want := range []string{
		"Target:" + tgtName + " Portal:" + f.addr + ",1",
		"Lun:0    Type:MEDIA_CHANGER",
		"Lun:1    Type:SEQUENTIAL_ACCESS",
		"Target:" + tgtName + ".chap Portal:" + f.addr + ",1",
		"Lun:0    Type:SEQUENTIAL_ACCESS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("iscsi-ls output lacks %q", want)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"standard", nil, []string{"Peripheral Device Type:SEQUENTIAL_ACCESS", "Vendor:BACKSTOP", "Product:MEMTAPE", "Revision:0001"}},
		{"supported pages", []string{"-e", "1", "-c", "0"}, []string{"SUPPORTED_VPD_PAGES", "UNIT_SERIAL_NUMBER", "DEVICE_IDENTIFICATION"}},
		{"serial", []string{"-e", "1", "-c", "128"}, []string{"Unit Serial Number:[MEMTAPE0001]"}},
		{"device identification", []string{"-e", "1", "-c", "131"}, []string{"BACKSTOPMEMTAPE 0001"}},
	} {
		t.Run("iscsi-inq "+tc.name, func(t *testing.T) {
			args := append([]string{"-i", ini}, tc.args...)
			out, err := run(t, inq, append(args, fmt.Sprintf("%s/%s/1", portal, tgtName))...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
		})
	}

	// CHAP required: the right secret logs in, a wrong one is refused.
	url := func(secret string) string {
		return fmt.Sprintf("iscsi://alice%%%s@%s/%s.chap/0", secret, f.addr, tgtName)
	}
	if out, err := run(t, inq, "-i", ini, url("alice-secret-12")); err != nil || !strings.Contains(out, "SEQUENTIAL_ACCESS") {
		t.Fatalf("right CHAP secret: %v\n%s", err, out)
	}
	out, err = run(t, inq, "-i", ini, url("wrong-secret"))
	if err == nil {
		t.Fatalf("wrong CHAP secret accepted:\n%s", out)
	}
	if !strings.Contains(strings.ToLower(out), "auth") {
		t.Errorf("wrong secret refused without an authentication error:\n%s", out)
	}
	out, err = run(t, inq, "-i", ini, fmt.Sprintf("%s/%s.chap/0", portal, tgtName))
	if err == nil {
		t.Fatalf("no CHAP accepted:\n%s", out)
	}
	t.Logf("wrong secret: %s", out)
}

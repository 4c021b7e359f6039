package catalyst_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
)

// Bounds of backstop serve's VmRSS growth under the hostile load below
// (docs/catalyst.md "Limits", docs/security.md): connections before
// authentication hold their transport buffers only (256 x ~150 KiB at
// most, 40 MiB; 64 MiB leaves the runtime its margin); wrong passwords
// add the argon2id checks, at most HashConcurrency (4) x 64 MiB at once,
// which Go's collector may let the heap hold twice over (512 MiB), and
// 64 MiB more of margin.
const (
	rssBoundNoAuth    = 64 << 20
	rssBoundPasswords = rssBoundNoAuth + 2*4*64<<20 + 64<<20
)

// TestHostileRSS runs the real backstop serve with Catalyst on 127.0.0.1
// and, from four loopback addresses, two TLS connections each that send
// unary calls of 32 MiB on all 32 streams, three rounds: first without
// credentials (or malformed ones), then with wrong passwords. The
// server's VmRSS must grow by less than the bounds above; the load stops
// as soon as it passes one (the old server took gigabytes). It builds the
// binary (or runs $BACKSTOP_BIN), so it does not run under -short:
//
//	go test -run TestHostileRSS -count=1 ./catalyst/
func TestHostileRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs backstop serve; run without -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	bin := os.Getenv("BACKSTOP_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "backstop")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/backstop-appliance/backstop/cmd/backstop").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	serve := exec.Command(bin, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--catalyst", "127.0.0.1:0", "--smb", "", "--iscsi", "", "--replication", "")
	serve.Env = append(os.Environ(), "BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = io.Discard
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	addr := catalystAddr(t, stdout)
	pid := serve.Process.Pid
	time.Sleep(2 * time.Second) // let start-up settle
	idle := vmRSS(t, pid)

	msg := bigGetStore(32 << 20)
	phases := []struct {
		name  string
		bound int64
		creds func(i int) (user, pass string)
	}{
		{"no or malformed credentials", rssBoundNoAuth, func(i int) (string, string) {
			if i%2 == 0 {
				return "", ""
			}
			return "raw:Basic not base64!", ""
		}},
		{"wrong passwords", rssBoundPasswords, func(i int) (string, string) {
			return []string{"admin", "nobody"}[i%2], "wrong password"
		}},
	}
	for _, ph := range phases {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var peak atomic.Int64
		var over atomic.Bool
		stopped := make(chan struct{})
		go func() { // sample VmRSS; stop the load once over the bound
			defer close(stopped)
			for ctx.Err() == nil {
				v := vmRSS(t, pid)
				if v > peak.Load() {
					peak.Store(v)
				}
				if v-idle > ph.bound {
					over.Store(true)
					cancel()
				}
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		var calls, refused atomic.Int64
		var wg sync.WaitGroup
		for a := range 4 {
			for c := range 2 {
				user, pass := ph.creds(c)
				var written atomic.Int64
				conn := strangerConn(t, addr, fmt.Sprintf("127.0.0.%d", a+1), user, pass, &written)
				for range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 3 {
							var reply []byte
							err := conn.Invoke(ctx, catalystpb.Catalyst_GetStore_FullMethodName, msg, &reply, grpc.ForceCodec(rawCodec{}))
							calls.Add(1)
							if c := status.Code(err); c == codes.Unauthenticated {
								refused.Add(1)
							}
							if ctx.Err() != nil {
								return
							}
						}
					}()
				}
			}
		}
		wg.Wait()
		cancel()
		<-stopped
		grew := peak.Load() - idle
		t.Logf("%s: %d calls of 32 MiB, %d refused as unauthenticated; VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB)",
			ph.name, calls.Load(), refused.Load(), idle>>20, peak.Load()>>20, grew>>20, ph.bound>>20)
		if over.Load() || grew > ph.bound {
			t.Fatalf("%s: VmRSS grew by %d MiB or more, bound %d MiB", ph.name, grew>>20, ph.bound>>20)
		}
		if refused.Load() != calls.Load() {
			t.Errorf("%s: %d of %d calls were not refused as unauthenticated", ph.name, calls.Load()-refused.Load(), calls.Load())
		}
	}
}

// catalystAddr reads serve's output up to the Catalyst address and drains
// the rest.
func catalystAddr(t *testing.T, stdout io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(stdout)
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if a, ok := strings.CutPrefix(line, "catalyst (client-side dedup, TLS): "); ok {
				found <- strings.TrimSpace(a)
			}
		}
	}()
	select {
	case a := <-found:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("serve printed no Catalyst address")
		return ""
	}
}

func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("read status: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Errorf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Error("no VmRSS")
	return 0
}

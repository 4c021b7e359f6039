package catalyst_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/internal/servetest"
)

// Bounds of backstop serve's VmRSS growth under the hostile load below
// (docs/catalyst.md "Limits", docs/security.md): connections before
// authentication hold their transport buffers only (256 x ~150 KiB at
// most, 40 MiB; 64 MiB leaves the runtime its margin); wrong passwords
// add the argon2id checks, at most HashConcurrency (4) x 64 MiB at once,
// which Go's collector may let the heap hold twice over (512 MiB), and
// 192 MiB more of margin: measured growth was 519-584 MiB, too close to a
// 64 MiB margin on a loaded machine.
const (
	rssBoundNoAuth    = 64 << 20
	rssBoundPasswords = rssBoundNoAuth + 2*4*64<<20 + 192<<20
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
	serve := servetest.Start(t, servetest.Binary(t), []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--catalyst", "127.0.0.1:0", "--smb", "", "--iscsi", "", "--replication", ""},
		"BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	addr := serve.Addr(t, "catalyst (client-side dedup, TLS): ")
	time.Sleep(2 * time.Second) // let start-up settle
	idle := serve.RSS(t)

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
		var over atomic.Bool
		stop := servetest.SamplePeak(t, serve.PID(), func(v int64) { // stop the load once over the bound
			if v-idle > ph.bound {
				over.Store(true)
				cancel()
			}
		})
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
		peak := stop()
		grew := peak - idle
		t.Logf("%s: %d calls of 32 MiB, %d refused as unauthenticated; VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB)",
			ph.name, calls.Load(), refused.Load(), idle>>20, peak>>20, grew>>20, ph.bound>>20)
		if over.Load() || grew > ph.bound {
			t.Fatalf("%s: VmRSS grew by %d MiB or more, bound %d MiB", ph.name, grew>>20, ph.bound>>20)
		}
		if refused.Load() != calls.Load() {
			t.Errorf("%s: %d of %d calls were not refused as unauthenticated", ph.name, calls.Load()-refused.Load(), calls.Load())
		}
	}
}

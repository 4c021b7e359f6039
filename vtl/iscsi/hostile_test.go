package iscsi_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/servetest"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// rssBound is the growth of backstop serve's resident memory that
// docs/iscsi.md ("Limits") promises under hostile iSCSI load.
const rssBound = 512 << 20

// TestHostileRSS runs the real backstop serve with only iSCSI (and the
// web API it always needs) on 127.0.0.1, sends it the attacks of issue
// 13 and checks that its VmRSS grows by less than rssBound. It builds
// the binary and takes about a minute, so it does not run under -short:
//
//	go test -run TestHostileRSS -count=1 ./vtl/iscsi/
func TestHostileRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs backstop serve; run without -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	serve := servetest.Start(t, servetest.Binary(t), []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--iscsi", "127.0.0.1:0", "--smb", "", "--replication", "", "--catalyst", "off"},
		"BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	addr := serve.Addr(t, "iSCSI virtual tape libraries: ")
	target := serve.Addr(t, "target ") // the first after the address

	time.Sleep(2 * time.Second) // let start-up settle
	idle := serve.RSS(t)
	stop := servetest.SamplePeak(t, serve.PID(), nil)
	defer stop()

	t.Run("login continue flood", func(t *testing.T) { continueFlood(t, addr, 5*time.Second) })
	t.Run("announced writes", func(t *testing.T) { announcedWrites(t, addr, target, 8, 64, 64<<20) })
	peak := stop()
	grew := peak - idle
	t.Logf("VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB)", idle>>20, peak>>20, grew>>20, rssBound>>20)
	if grew > rssBound {
		t.Fatalf("VmRSS grew by %d MiB under hostile iSCSI load, bound %d MiB", grew>>20, rssBound>>20)
	}
}

// continueFlood opens connections that send Login Requests with the
// Continue bit as fast as they can, for d.
func continueFlood(t *testing.T, addr string, d time.Duration) {
	chunk := bytes.Repeat([]byte("X-junk=aaaaaaaa"), 8192/15)
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					continue
				}
				go drain(nc)
				n := 0
				for time.Now().Before(end) {
					nc.SetWriteDeadline(time.Now().Add(time.Second))
					if wire.WritePDU(nc, loginPDU(true, chunk), wire.Digests{}) != nil {
						break
					}
					n += len(chunk)
				}
				nc.Close()
				mu.Lock()
				sent += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("wrote %d MiB of login text into sockets", sent>>20)
}

// announcedWrites logs in sessions that each announce writes of edtl
// bytes with immediate data and never send the rest.
func announcedWrites(t *testing.T, addr, target string, sessions, writes, edtl int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var open []*initiator.Session
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	for i := range sessions {
		c := initiator.Config{InitiatorName: fmt.Sprintf("%s.%d", initName, i), TargetName: target,
			ImmediateData: true, FirstBurstLength: 262144, MaxBurstLength: 16776192}
		s, err := initiator.Dial(ctx, addr, c)
		if err != nil {
			t.Fatalf("login to %s: %v", target, err)
		}
		open = append(open, s)
		imm := bytes.Repeat([]byte{0xa5}, min(s.Params().FirstBurst, s.Params().MaxXmit))
		sn := s.CmdSN()
		for j := range writes {
			p := writeCmd(uint32(1000+j), sn+uint32(j), edtl)
			p.SetLUN(wire.EncodeLUN(1))
			p.Data = imm
			if err := s.Send(p); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
	}
	time.Sleep(3 * time.Second) // let the target take it all in
}

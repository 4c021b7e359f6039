package iscsi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	bin := filepath.Join(t.TempDir(), "backstop")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/backstop-appliance/backstop/cmd/backstop").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	serve := exec.Command(bin, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--web", "127.0.0.1:0",
		"--iscsi", "127.0.0.1:0", "--smb", "", "--replication", "", "--catalyst", "off")
	serve.Env = append(os.Environ(), "BACKSTOP_ADMIN_PASSWORD=hostile-test-password")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	addr, target := serveAddr(t, stdout)
	pid := serve.Process.Pid

	time.Sleep(2 * time.Second) // let start-up settle
	idle := vmRSS(t, pid)
	var peak peakRSS
	stop := peak.sample(t, pid)
	defer stop()

	t.Run("login continue flood", func(t *testing.T) { continueFlood(t, addr, 5*time.Second) })
	t.Run("announced writes", func(t *testing.T) { announcedWrites(t, addr, target, 8, 64, 64<<20) })
	stop()
	grew := peak.max() - idle
	t.Logf("VmRSS idle %d MiB, peak %d MiB (grew %d MiB, bound %d MiB)", idle>>20, peak.max()>>20, grew>>20, rssBound>>20)
	if grew > rssBound {
		t.Fatalf("VmRSS grew by %d MiB under hostile iSCSI load, bound %d MiB", grew>>20, rssBound>>20)
	}
}

// serveAddr reads serve's output up to the iSCSI address and the first
// target, and drains the rest.
func serveAddr(t *testing.T, stdout interface{ Read([]byte) (int, error) }) (addr, target string) {
	t.Helper()
	sc := bufio.NewScanner(stdout)
	found := make(chan struct{})
	go func() {
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if a, ok := strings.CutPrefix(line, "iSCSI virtual tape libraries: "); ok {
				addr = a
			}
			if tg, ok := strings.CutPrefix(line, "target "); ok && target == "" && addr != "" {
				target, _, _ = strings.Cut(tg, " ")
				close(found)
			}
		}
	}()
	select {
	case <-found:
		return addr, target
	case <-time.After(60 * time.Second):
		t.Fatal("serve printed no iSCSI address and target")
		return "", ""
	}
}

func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// peakRSS samples a process's VmRSS and keeps the largest.
type peakRSS struct {
	mu   sync.Mutex
	peak int64
}

func (p *peakRSS) max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

func (p *peakRSS) sample(t *testing.T, pid int) func() {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			v := vmRSS(t, pid)
			p.mu.Lock()
			p.peak = max(p.peak, v)
			p.mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("the RSS sampler did not stop")
		}
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

// Package seaweedtest runs a small SeaweedFS cluster on loopback for tests:
// a master, three volume servers, a filer and the S3 gateway, each a
// process the test can kill and start again. The weed binary is built once
// by scripts/seaweedfs.sh into ~/.cache/backstop (make test-cloud does it).
// Under -short (make check) Start skips the test; otherwise a missing weed
// fails it.
package seaweedtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Test credentials of the S3 gateway's one identity.
const (
	AccessKey = "MAINKEY0000000000000"
	SecretKey = "mainsecret000000000000000000000000000000"
)

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Cluster is a running cluster.
type Cluster struct {
	t      testing.TB
	weed   string
	dir    string
	S3Addr string // host:port of the S3 gateway
	filer  string
	master string
	procs  map[string]*proc
	args   map[string][]string
	addrs  map[string]string // volume servers' host:port
}

// Weed returns the path of the built weed binary, or "" when it is not
// built.
func Weed() string {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "seaweedfs.sh")
	out, err := exec.Command("bash", "-c", `source <(sed -n '/^VER=/p;/^CACHE=/p;/^WEED=/p' "$0"); echo "$WEED"`, script).Output()
	if err != nil {
		return ""
	}
	p := strings.TrimSpace(string(out))
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		return ""
	}
	return p
}

// Start starts a cluster in t.TempDir() and stops it at the test's end.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("seaweedtest: needs a SeaweedFS cluster (weed built, about a minute a test): make test-cloud runs it")
	}
	weed := Weed()
	if weed == "" {
		t.Fatal("seaweedtest: weed is not built: run scripts/seaweedfs.sh build (make test-cloud does)")
	}
	c := &Cluster{t: t, weed: weed, dir: t.TempDir(), procs: map[string]*proc{}, args: map[string][]string{}, addrs: map[string]string{}}
	t.Cleanup(c.stopAll)
	cfg := fmt.Sprintf(`{"identities":[{"name":"main","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, AccessKey, SecretKey)
	if err := os.WriteFile(filepath.Join(c.dir, "s3.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	m := freePort(t)
	c.master = fmt.Sprintf("127.0.0.1:%d", m)
	c.start("master", "master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", fmt.Sprintf("-port=%d", m), "-mdir="+c.mkdir("m"), "-volumeSizeLimitMB=64")
	c.waitHTTP("http://" + c.master + "/cluster/status")
	for i := 1; i <= 3; i++ {
		v := freePort(t)
		name := fmt.Sprintf("volume%d", i)
		c.addrs[name] = fmt.Sprintf("127.0.0.1:%d", v)
		c.start(name, "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", fmt.Sprintf("-port=%d", v),
			"-dir="+c.mkdir(fmt.Sprintf("v%d", i)), "-max=30", "-mserver="+c.master)
	}
	for i := 1; i <= 3; i++ {
		c.waitRegistered(fmt.Sprintf("volume%d", i))
	}
	f := freePort(t)
	c.filer = fmt.Sprintf("127.0.0.1:%d", f)
	c.start("filer", "filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", fmt.Sprintf("-port=%d", f), "-master="+c.master,
		"-defaultStoreDir="+c.mkdir("f"))
	c.waitHTTP("http://" + c.filer + "/")
	s := freePort(t)
	c.S3Addr = fmt.Sprintf("127.0.0.1:%d", s)
	c.start("s3", "s3", "-ip.bind=127.0.0.1", fmt.Sprintf("-port=%d", s), "-filer="+c.filer, "-config="+filepath.Join(c.dir, "s3.json"))
	c.waitHTTP("http://" + c.S3Addr + "/")
	return c
}

// freePort is a free loopback port below 55000 (weed's gRPC port is the
// HTTP port + 10000).
func freePort(t testing.TB) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p <= 55000 {
			if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000)); err == nil {
				l2.Close()
				return p
			}
		}
	}
	t.Fatal("seaweedtest: no free port below 55000")
	return 0
}

func (c *Cluster) mkdir(name string) string {
	p := filepath.Join(c.dir, name)
	if err := os.MkdirAll(p, 0o750); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func (c *Cluster) start(name string, args ...string) {
	c.t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.weed, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, c.dir // nothing written beside the test
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("seaweedtest: start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.procs[name], c.args[name] = p, args
}

// waitHTTP waits (at most a minute) until url answers.
func (c *Cluster) waitHTTP(url string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("seaweedtest: %s did not answer within a minute; logs in %s", url, c.dir)
}

// Kill stops one process (master, volume1..3, filer, s3) at once.
func (c *Cluster) Kill(name string) {
	c.t.Helper()
	p := c.procs[name]
	if p == nil {
		c.t.Fatalf("seaweedtest: no process %s", name)
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("seaweedtest: %s did not exit within 30s of SIGKILL", name)
	}
	delete(c.procs, name)
}

// Restart starts a killed process again with its arguments (same port,
// same directory) and waits for the S3 gateway to answer.
func (c *Cluster) Restart(name string) {
	c.t.Helper()
	c.start(name, c.args[name]...)
	switch {
	case name == "s3":
		c.waitHTTP("http://" + c.S3Addr + "/")
	case c.addrs[name] != "":
		c.waitRegistered(name)
	}
}

// waitRegistered waits (at most a minute) until the master lists the
// volume server name.
func (c *Cluster) waitRegistered(name string) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.master + "/dir/status")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), c.addrs[name]) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("seaweedtest: the master did not list %s (%s) within a minute; logs in %s", name, c.addrs[name], c.dir)
}

func (c *Cluster) stopAll() {
	for name, p := range c.procs {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		}
		delete(c.procs, name)
	}
}

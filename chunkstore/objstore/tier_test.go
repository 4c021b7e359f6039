package objstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/objstore"
	"github.com/backstop-appliance/backstop/chunkstore/objstore/seaweedtest"
)

// cloud is one appliance's cloud tier over a cluster's bucket.
type cloud struct {
	t       *testing.T
	cluster *seaweedtest.Cluster
	bucket  *objstore.S3
	dir     string // the engine's data directory
	local   string // the tier's staging and cache directory
	opts    objstore.Options
	tier    *objstore.Tier
	eng     *chunkstore.Engine
}

func newCloud(t *testing.T, c *seaweedtest.Cluster, opts objstore.Options) *cloud {
	t.Helper()
	b := s3Bucket(t, c.S3Addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	opts.Bucket, opts.Prefix = b, "appliance1/"
	if opts.RetryMin == 0 {
		opts.RetryMin, opts.RetryMax = 50*time.Millisecond, 500*time.Millisecond
	}
	cl := &cloud{t: t, cluster: c, bucket: b, dir: filepath.Join(root, "data"), local: filepath.Join(root, "cloud"), opts: opts}
	t.Cleanup(func() {
		if cl.eng != nil {
			cl.eng.Close()
		}
	})
	return cl
}

// open opens the engine with its containers on the tier (a new tier, so
// an empty read cache).
func (cl *cloud) open() {
	cl.t.Helper()
	o := chunkstore.DefaultOptions()
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 2 << 10, Avg: 8 << 10, Max: 32 << 10}
	o.Compression = "none"
	o.ContainerSize = 1 << 20
	o.Containers = func(string) (chunkstore.ContainerStore, error) {
		opts := cl.opts
		opts.Dir = cl.local
		tier, err := objstore.Open(opts)
		cl.tier = tier
		return tier, err
	}
	e, err := chunkstore.Open(context.Background(), cl.dir, o)
	if err != nil {
		cl.t.Fatalf("open: %v", err)
	}
	cl.eng = e
}

func (cl *cloud) close() {
	cl.t.Helper()
	if err := cl.eng.Close(); err != nil {
		cl.t.Fatalf("close: %v", err)
	}
	cl.eng = nil
}

func (cl *cloud) put(name string, data []byte) {
	cl.t.Helper()
	ctx := context.Background()
	w, err := cl.eng.Create(ctx, chunkstore.DefaultStore, name, chunkstore.WriteOptions{})
	if err != nil {
		cl.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		cl.t.Fatalf("write %s: %v", name, err)
	}
	if _, err := w.Commit(ctx); err != nil {
		cl.t.Fatalf("commit %s: %v", name, err)
	}
}

func (cl *cloud) get(name string) []byte {
	cl.t.Helper()
	r, err := cl.eng.OpenItem(context.Background(), chunkstore.DefaultStore, name)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		cl.t.Fatalf("read %s: %v", name, err)
	}
	return buf.Bytes()
}

// waitUploaded waits (at most 3 minutes) until nothing is staged.
func (cl *cloud) waitUploaded() {
	cl.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for cl.tier.Health().Pending > 0 {
		if time.Now().After(deadline) {
			cl.t.Fatalf("uploads not done after 3 minutes: %+v", cl.tier.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staged is the files left in the staging directory.
func (cl *cloud) staged() []string {
	names, _ := filepath.Glob(filepath.Join(cl.local, "staging", "*.c"))
	return names
}

func (cl *cloud) objects() int {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs, err := cl.bucket.List(ctx, "appliance1/containers/")
	if err != nil {
		cl.t.Fatal(err)
	}
	return len(objs)
}

// data is n incompressible bytes from seed.
func data(seed uint64, n int) []byte {
	r := rand.NewChaCha8(sha256.Sum256([]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func same(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: read back %d bytes that differ from the %d written", name, len(got), len(want))
	}
}

// The engine's containers go to the bucket, the staging area empties, and
// a cold-cache read of the bucket gives back the bytes written.
func TestEngineOnBucket(t *testing.T) {
	c := seaweedtest.Start(t)
	cl := newCloud(t, c, objstore.Options{})
	cl.open()
	a, b := data(1, 6<<20), data(2, 3<<20)
	cl.put("a", a)
	cl.put("b", b)
	cl.put("a-again", a) // all duplicates: no new container
	cl.waitUploaded()
	if s := cl.staged(); len(s) != 0 {
		t.Fatalf("staging still holds %d containers after the uploads", len(s))
	}
	st := cl.eng.Stats()
	if n := cl.objects(); n != st.Containers || n < 9 {
		t.Fatalf("the bucket holds %d container objects, the engine %d containers (want >= 9)", n, st.Containers)
	}
	cl.close()

	cl.open() // a new tier: the read cache is empty
	if h := cl.tier.Health(); h.Gets != 0 || cl.tier.CacheSize() != 0 {
		t.Fatalf("a reopened tier starts with %d GETs and %d cached bytes", h.Gets, cl.tier.CacheSize())
	}
	same(t, "a", cl.get("a"), a)
	same(t, "b", cl.get("b"), b)
	same(t, "a-again", cl.get("a-again"), a)
	if h := cl.tier.Health(); h.Gets == 0 {
		t.Fatal("restore read nothing from the bucket")
	}
}

// With the S3 gateway down, uploads fail and retry, the staging area fills
// to its bound and then holds the writer back; the item commits once the
// gateway is back, and nothing is lost.
func TestS3DownThenUp(t *testing.T) {
	c := seaweedtest.Start(t)
	cl := newCloud(t, c, objstore.Options{StagingBytes: 4 << 20, FullWait: 5 * time.Minute})
	cl.open()
	c.Kill("s3")
	a := data(3, 10<<20)
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		w, err := cl.eng.Create(ctx, chunkstore.DefaultStore, "a", chunkstore.WriteOptions{})
		if err == nil {
			_, err = w.Write(a)
		}
		if err == nil {
			_, err = w.Commit(ctx)
		}
		done <- err
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for h := cl.tier.Health(); !(h.Degraded && h.Waits > 0); h = cl.tier.Health() {
		if time.Now().After(deadline) {
			t.Fatalf("no back-pressure with the object store down: %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the writer finished (%v) with the staging area full and the object store down", err)
	default:
	}
	h := cl.tier.Health()
	if h.PendingBytes > h.StagingBytes || !strings.Contains(h.LastError, "put") {
		t.Fatalf("staging over its bound or no upload error reported: %+v", h)
	}
	c.Restart("s3")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("commit after the object store came back: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the writer did not finish within 3 minutes of the object store coming back")
	}
	cl.waitUploaded()
	if h := cl.tier.Health(); h.Degraded {
		t.Fatalf("still degraded after every upload went through: %+v", h)
	}
	cl.close()
	cl.open()
	same(t, "a", cl.get("a"), a)
}

// TestResumeChild is the appliance TestResumeUploadsAtOpen kills: it
// stores one item with the object store down, says ACK, and waits.
func TestResumeChild(t *testing.T) {
	addr := os.Getenv("BACKSTOP_CLOUD_CHILD_S3")
	if addr == "" {
		t.Skip("run by TestResumeUploadsAtOpen only")
	}
	cl := &cloud{t: t, dir: os.Getenv("BACKSTOP_CLOUD_CHILD_DIR"), local: os.Getenv("BACKSTOP_CLOUD_CHILD_LOCAL")}
	cl.bucket = s3Bucket(t, addr)
	cl.opts = objstore.Options{Bucket: cl.bucket, Prefix: "appliance1/", RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
	cl.open()
	fmt.Println("OPEN")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil { // the parent stops the object store
		t.Fatal(err)
	}
	cl.put("a", data(4, 5<<20))
	fmt.Println("ACK")
	time.Sleep(5 * time.Minute) // killed long before
}

// Items acknowledged while the object store was down are staged locally;
// an appliance killed then resumes their uploads at its next start.
func TestResumeUploadsAtOpen(t *testing.T) {
	c := seaweedtest.Start(t)
	cl := newCloud(t, c, objstore.Options{})
	cmd := exec.Command(os.Args[0], "-test.run", "^TestResumeChild$", "-test.v")
	cmd.Env = append(os.Environ(), "BACKSTOP_CLOUD_CHILD_S3="+c.S3Addr, "BACKSTOP_CLOUD_CHILD_DIR="+cl.dir,
		"BACKSTOP_CLOUD_CHILD_LOCAL="+cl.local)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	await := func(want string) {
		t.Helper()
		timeout := time.After(3 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the child exited before saying %s", want)
				}
				if l == want {
					return
				}
			case <-timeout:
				t.Fatalf("the child did not say %s within 3 minutes", want)
			}
		}
	}
	await("OPEN")
	c.Kill("s3")
	if _, err := in.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	await("ACK")
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if len(cl.staged()) == 0 {
		t.Fatal("nothing staged for an item acknowledged with the object store down")
	}
	c.Restart("s3")
	cl.open()
	cl.waitUploaded()
	if s := cl.staged(); len(s) != 0 {
		t.Fatalf("staging still holds %d containers after resuming", len(s))
	}
	cl.close()
	if err := os.RemoveAll(filepath.Join(cl.local, "staging")); err != nil {
		t.Fatal(err)
	}
	cl.open()
	same(t, "a", cl.get("a"), data(4, 5<<20))
}

func s3Bucket(t *testing.T, addr string) *objstore.S3 {
	t.Helper()
	b, err := objstore.NewS3(objstore.S3Config{Endpoint: addr, Bucket: "backstop", AccessKey: seaweedtest.AccessKey,
		SecretKey: seaweedtest.SecretKey, PathStyle: true, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A volume server killed while containers are being uploaded: the uploads
// that fail are retried until the object store takes them.
func TestVolumeServerKilledMidUpload(t *testing.T) {
	c := seaweedtest.Start(t)
	cl := newCloud(t, c, objstore.Options{})
	cl.open()
	a := data(5, 16<<20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(2 * time.Minute)
		for cl.tier.Health().Uploaded == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		c.Kill("volume1")
	}()
	cl.put("a", a)
	<-done
	b := data(6, 4<<20)
	cl.put("b", b)
	cl.waitUploaded()
	if h := cl.tier.Health(); h.Deleted != 0 {
		t.Fatalf("objects deleted with nothing deleted from the engine: %+v", h)
	}
	c.Restart("volume1") // what it stored before it died is readable again
	cl.close()
	cl.open()
	same(t, "a", cl.get("a"), a)
	same(t, "b", cl.get("b"), b)
}

// Housekeeping frees a deleted item's containers by deleting their objects;
// what is still used restores from a cold cache.
func TestHousekeepingDeletesObjects(t *testing.T) {
	c := seaweedtest.Start(t)
	cl := newCloud(t, c, objstore.Options{})
	cl.open()
	a, b := data(7, 4<<20), data(8, 4<<20)
	cl.put("a", a)
	cl.put("b", b)
	cl.waitUploaded()
	before := cl.objects()
	ctx := context.Background()
	if err := cl.eng.Delete(ctx, chunkstore.DefaultStore, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.eng.Housekeep(ctx, chunkstore.HousekeepingOptions{NoThrottle: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for cl.objects() != cl.eng.Stats().Containers {
		if time.Now().After(deadline) {
			t.Fatalf("the bucket holds %d objects, the engine %d containers, 2 minutes after housekeeping", cl.objects(), cl.eng.Stats().Containers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := cl.objects(); after >= before || cl.tier.Health().Deleted == 0 {
		t.Fatalf("housekeeping left %d of %d objects (%+v)", after, before, cl.tier.Health())
	}
	if used := cl.tier.Used(); used != cl.eng.Stats().StoredBytes {
		t.Fatalf("the tier counts %d bytes, the containers hold %d", used, cl.eng.Stats().StoredBytes)
	}
	cl.close()
	cl.open()
	same(t, "b", cl.get("b"), b)
}

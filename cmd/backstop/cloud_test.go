package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/objstore"
	"github.com/backstop-appliance/backstop/chunkstore/objstore/seaweedtest"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// backstop cloud init makes a data directory whose containers go to the
// bucket: put leaves nothing staged, get with an empty read cache gives the
// bytes back, and cloud ls never prints the secret key.
func TestCloudInitPutGet(t *testing.T) {
	c := seaweedtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(seaweedtest.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cli(t, nil, "cloud", "init", "--data", dir, "--name", "offsite", "--endpoint", c.S3Addr,
		"--bucket", "cli-test", "--prefix", "a1/", "--region", "us-east-1", "--access-key", seaweedtest.AccessKey,
		"--secret-key-file", secret, "--path-style"); code != 0 || !strings.Contains(out, "offsite") {
		t.Fatalf("cloud init: %d %q %q", code, out, errs)
	}
	data := make([]byte, 9<<20+5)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cli(t, nil, "put", "--data", dir, "one", src); code != 0 {
		t.Fatalf("put: %d %q %q", code, out, errs)
	}
	if staged, _ := filepath.Glob(filepath.Join(dir, "cloud", "staging", "*.c")); len(staged) != 0 {
		t.Fatalf("%d containers still staged after put", len(staged))
	}
	b, err := objstore.NewS3(objstore.S3Config{Endpoint: c.S3Addr, Region: "us-east-1", Bucket: "cli-test", AccessKey: seaweedtest.AccessKey,
		SecretKey: seaweedtest.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs, err := b.List(ctx, "a1/containers/")
	if err != nil || len(objs) < 2 {
		t.Fatalf("bucket holds %d container objects (%v), want >= 2", len(objs), err)
	}
	if code, out, errs := cli(t, nil, "get", "--data", dir, "one", "-"); code != 0 || !bytes.Equal([]byte(out), data) {
		t.Fatalf("get: %d, %d bytes, %q", code, len(out), errs)
	}
	// Another data directory on the same prefix would take these
	// containers for its own torn writes: refused.
	if code, _, errs := cli(t, nil, "cloud", "init", "--data", filepath.Join(t.TempDir(), "d2"), "--name", "offsite", "--endpoint", c.S3Addr,
		"--bucket", "cli-test", "--prefix", "a1/", "--region", "us-east-1", "--access-key", seaweedtest.AccessKey,
		"--secret-key-file", secret, "--path-style"); code != 1 || !strings.Contains(errs, "already holds") {
		t.Fatalf("cloud init on a used prefix: %d %q", code, errs)
	}
	code, out, errs := cli(t, nil, "cloud", "ls", "--data", dir)
	if code != 0 || !strings.Contains(out, "offsite") || strings.Contains(out, seaweedtest.SecretKey) {
		t.Fatalf("cloud ls: %d %q %q", code, out, errs)
	}
	code, out, _ = cli(t, nil, "cloud", "ls", "--json", "--data", dir)
	if code != 0 || strings.Contains(out, seaweedtest.SecretKey) || !strings.Contains(out, `"has_secret": true`) {
		t.Fatalf("cloud ls --json: %d %q", code, out)
	}
}

// The health monitor's cloud part is degraded while the object store
// fails and ok again once the staged containers are uploaded.
func TestCloudHealthPart(t *testing.T) {
	c := seaweedtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("BACKSTOP_S3_SECRET_KEY", seaweedtest.SecretKey)
	if code, out, errs := cli(t, nil, "cloud", "init", "--data", dir, "--name", "offsite", "--endpoint", c.S3Addr,
		"--bucket", "health-test", "--region", "us-east-1", "--access-key", seaweedtest.AccessKey, "--path-style"); code != 0 {
		t.Fatalf("cloud init: %d %q %q", code, out, errs)
	}
	e := &env{data: dir, stdout: os.Stdout, stderr: os.Stderr}
	ctx := context.Background()
	eng, err := e.open(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	h := appliance.NewHealth(time.Now)
	m := &healthMonitor{eng: eng, health: h}
	cloudPart := func() appliance.ComponentHealth {
		m.check(ctx)
		p, ok := part(h.Report(), appliance.ComponentCloud)
		if !ok {
			t.Fatal("no cloud part in the health report")
		}
		return p
	}
	if p := cloudPart(); p.State != appliance.OK {
		t.Fatalf("cloud part with the object store up: %+v", p)
	}
	c.Kill("s3")
	w, err := eng.Create(ctx, "default", "x", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 5<<20)
	rand.Read(data)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for p := cloudPart(); p.State != appliance.Degraded; p = cloudPart() {
		if time.Now().After(deadline) {
			t.Fatalf("cloud part not degraded 2 minutes after the object store went down: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Restart("s3")
	deadline = time.Now().Add(3 * time.Minute)
	for p := cloudPart(); p.State != appliance.OK || !strings.Contains(p.Reason, "0 containers"); p = cloudPart() {
		if time.Now().After(deadline) {
			t.Fatalf("cloud part not ok 3 minutes after the object store came back: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package appliance

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testTarget() CloudTarget {
	return CloudTarget{Name: "offsite", Endpoint: "127.0.0.1:8333", Region: "us-east-1", Bucket: "backstop",
		Prefix: "a1/", AccessKey: "AKIDEXAMPLE", SecretKey: "very-secret-key", PathStyle: true}
}

// Cloud targets persist with their secret in a 0600 file, come back without
// it, and never log it.
func TestCloudTargets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "appliance")
	var logs bytes.Buffer
	o := testOptions(newClock())
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := openTest(t, dir, o)
	if err := s.PutCloudTarget(testTarget()); err != nil {
		t.Fatal(err)
	}
	ts, containers, err := s.CloudTargets()
	if err != nil || len(ts) != 1 || containers != "" {
		t.Fatalf("CloudTargets = %v, %q, %v", ts, containers, err)
	}
	if ts[0].SecretKey != "" || !ts[0].HasSecret || ts[0].Bucket != "backstop" {
		t.Fatalf("listed target %+v: want no secret, has_secret, the bucket", ts[0])
	}
	if strings.Contains(logs.String(), "very-secret-key") || !strings.Contains(logs.String(), "offsite") {
		t.Fatalf("log: %s", logs.String())
	}
	st, err := os.Stat(filepath.Join(dir, cloudName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cloud.json: %v %v, want mode 0600", st.Mode(), err)
	}

	// A replace without a secret keeps the one set.
	tt := testTarget()
	tt.SecretKey, tt.Endpoint = "", "127.0.0.1:9000"
	if err := s.PutCloudTarget(tt); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCloud(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Target("offsite")
	if err != nil || got.SecretKey != "very-secret-key" || got.Endpoint != "127.0.0.1:9000" {
		t.Fatalf("after replace: %+v %v", got, err)
	}

	// The target holding the containers keeps its bucket and stays.
	c.Containers = "offsite"
	if err := WriteCloud(dir, c); err != nil {
		t.Fatal(err)
	}
	tt.Bucket = "other"
	if err := s.PutCloudTarget(tt); !errors.Is(err, ErrInvalid) {
		t.Fatalf("moving the containers' bucket: %v, want ErrInvalid", err)
	}
	if err := s.DeleteCloudTarget("offsite"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("deleting the containers' target: %v, want ErrInvalid", err)
	}
	if err := s.DeleteCloudTarget("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing target: %v, want ErrNotFound", err)
	}
}

func TestCloudTargetValidate(t *testing.T) {
	for _, mod := range []func(*CloudTarget){
		func(c *CloudTarget) { c.Name = "Bad Name" },
		func(c *CloudTarget) { c.Endpoint = "https://host" },
		func(c *CloudTarget) { c.Bucket = "B" },
		func(c *CloudTarget) { c.Prefix = "noslash" },
		func(c *CloudTarget) { c.SecretKey = "" },
		func(c *CloudTarget) { c.CAPEM = "x" },
	} {
		c := testTarget()
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: Validate = %v, want ErrInvalid", c.Redacted(), err)
		}
	}
	if err := testTarget().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCloudHealth(t *testing.T) {
	for _, c := range []struct {
		s    CloudStatus
		want HealthState
	}{
		{CloudStatus{Target: "t", StagingBytes: 100}, OK},
		{CloudStatus{Target: "t", Pending: 9, PendingBytes: 90, StagingBytes: 100}, Warning},
		{CloudStatus{Target: "t", Degraded: true, LastError: "connection refused", StagingBytes: 100}, Degraded},
	} {
		got, why := CloudHealth(c.s)
		if got != c.want || !strings.Contains(why, "waiting for upload to t") {
			t.Errorf("CloudHealth(%+v) = %v %q, want %v", c.s, got, why, c.want)
		}
	}
}

package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestS3Keys: a key's secret is shown at creation and found by S3Secret,
// never listed; keys survive a reopen in a file of mode 0600; a deleted
// key is gone.
func TestS3Keys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "appliance", "s3keys.json")
	k, err := OpenS3Keys(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Create("alice")
	if err != nil || a.Secret == "" || a.Access == "" {
		t.Fatalf("create: %+v %v", a, err)
	}
	b, _ := k.Create("bob")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	k2, err := OpenS3Keys(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.S3Secret(a.Access); err != nil || got.User != "alice" || got.Secret != a.Secret {
		t.Fatalf("reopened secret: %+v %v", got, err)
	}
	for _, l := range [][]S3Key{k2.List(""), k2.List("bob")} {
		for _, key := range l {
			if key.Secret != "" {
				t.Fatalf("listed with its secret: %+v", key)
			}
		}
	}
	if l := k2.List("bob"); len(l) != 1 || l[0].Access != b.Access {
		t.Fatalf("bob's keys: %+v", l)
	}
	if err := k2.Delete(a.Access); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.S3Secret(a.Access); !errors.Is(err, ErrNoS3Key) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := k2.Delete(a.Access); !errors.Is(err, ErrNoS3Key) {
		t.Fatalf("delete twice: %v", err)
	}
}

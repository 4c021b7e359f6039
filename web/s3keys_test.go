package web

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestS3Keys: a user makes and lists their own S3 keys (the secret only
// in the creation's answer), may not make one for another user, an admin
// may, and delete removes a key; without a key store the routes are 404.
func TestS3Keys(t *testing.T) {
	var keys *appliance.S3Keys
	e := newEnv(t, withOptions(func(o *Options) {
		k, err := appliance.OpenS3Keys(filepath.Join(t.TempDir(), "s3keys.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		keys, o.S3Keys = k, k
	}))
	r := e.do(req{method: "POST", path: "/api/v1/s3/keys", auth: "op"})
	var k appliance.S3Key
	r.decode(t, &k)
	if r.status != http.StatusCreated || k.User != "op" || k.Secret == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if got, err := keys.S3Secret(k.Access); err != nil || got.User != "op" || got.Secret != k.Secret {
		t.Fatalf("key not usable: %+v %v", got, err)
	}
	r = e.do(req{method: "GET", path: "/api/v1/s3/keys", auth: "op"})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), k.Access) || strings.Contains(string(r.body), k.Secret) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "POST", path: "/api/v1/s3/keys", auth: "op", body: map[string]any{"user": "ro"}}); r.status != http.StatusForbidden {
		t.Fatalf("op makes ro's key: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "POST", path: "/api/v1/s3/keys", auth: "admin", body: map[string]any{"user": "ro"}}); r.status != http.StatusCreated {
		t.Fatalf("admin makes ro's key: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/s3/keys/" + k.Access, auth: "ro"}); r.status != http.StatusForbidden {
		t.Fatalf("ro deletes op's key: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/s3/keys/" + k.Access, auth: "op"}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := keys.S3Secret(k.Access); err == nil {
		t.Fatal("deleted key still verifies")
	}
	off := newEnv(t)
	if r := off.do(req{method: "GET", path: "/api/v1/s3/keys", auth: "op"}); r.status != http.StatusNotFound {
		t.Fatalf("without S3: %d %s", r.status, r.body)
	}
}

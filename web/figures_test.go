package web

// Adversarial tests of the figures a non-admin sees (issue 13): the
// store, share and status routes show only stores the policy lets the
// caller read, and no figure that moves when someone else writes.

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// randomBytes is n bytes nobody else holds: new data for the pool.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 13))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// figuresEnv serves stores a (client op only) and b (client admin only)
// and a share secret that only admin may use.
func figuresEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, withSharePolicy())
	for store, clients := range map[string][]string{"a": {"op"}, "b": {"admin"}} {
		if _, err := e.eng.CreateStore(store, chunkstore.DefaultDomain); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.SetStoreOptions(store, chunkstore.StoreOptions{Clients: clients}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.srv.opts.Shares.Create(context.Background(), sharefs.Share{Name: "secret",
		DefaultAccess: sharefs.AccessNone, Users: map[string]sharefs.Access{"admin": sharefs.AccessReadWrite}}); err != nil {
		t.Fatal(err)
	}
	e.write("a", "mine", randomBytes(1, 1<<20))
	e.write("b", "theirs", randomBytes(2, 1<<20))
	e.write("nas.secret", "1.1", randomBytes(3, 1<<20))
	return e
}

// names lists the "name" fields of a JSON array answer.
func names(t *testing.T, r response) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var list []struct {
		Name string `json:"name"`
	}
	r.decode(t, &list)
	var out []string
	for _, v := range list {
		out = append(out, v.Name)
	}
	return out
}

func TestStoreListingFollowsPolicy(t *testing.T) {
	e := figuresEnv(t)
	for _, tc := range []struct {
		user      string
		see, hide []string
	}{
		{"op", []string{"a", "default", "nas.backup"}, []string{"b", "nas.secret"}},
		{"ro", []string{"default", "nas.backup"}, []string{"a", "b", "nas.secret"}},
		{"admin", []string{"a", "b", "default", "nas.backup", "nas.secret"}, nil},
	} {
		got := names(t, e.do(req{method: "GET", path: "/api/v1/stores", auth: tc.user}))
		for _, n := range tc.see {
			if !slices.Contains(got, n) {
				t.Errorf("%s lists stores %v: %s missing", tc.user, got, n)
			}
		}
		for _, n := range tc.hide {
			if slices.Contains(got, n) {
				t.Errorf("%s lists stores %v: sees %s", tc.user, got, n)
			}
		}
	}
	shares := names(t, e.do(req{method: "GET", path: "/api/v1/shares", auth: "op"}))
	if slices.Contains(shares, "secret") || !slices.Contains(shares, "backup") {
		t.Errorf("op lists shares %v", shares)
	}
	if got := names(t, e.do(req{method: "GET", path: "/api/v1/shares", auth: "admin"})); !slices.Contains(got, "secret") {
		t.Errorf("admin lists shares %v", got)
	}
	e.run([]check{
		{"op gets a", req{method: "GET", path: "/api/v1/stores/a", auth: "op"}, 200, ""},
		{"op gets b", req{method: "GET", path: "/api/v1/stores/b", auth: "op"}, 404, codeNotFound},
		{"ro gets a", req{method: "GET", path: "/api/v1/stores/a", auth: "ro"}, 404, codeNotFound},
		{"op gets a share's store", req{method: "GET", path: "/api/v1/stores/nas.secret", auth: "op"}, 404, codeNotFound},
		{"admin gets b", req{method: "GET", path: "/api/v1/stores/b", auth: "admin"}, 200, ""},
		{"op gets share secret", req{method: "GET", path: "/api/v1/shares/secret", auth: "op"}, 404, codeNotFound},
		{"admin gets share secret", req{method: "GET", path: "/api/v1/shares/secret", auth: "admin"}, 200, ""},
	})
	// A hidden store or share is answered as one that does not exist.
	for _, p := range [][2]string{{"/api/v1/stores/", "b"}, {"/api/v1/shares/", "secret"}} {
		hidden := e.do(req{method: "GET", path: p[0] + p[1], auth: "op"})
		absent := e.do(req{method: "GET", path: p[0] + "zz" + p[1], auth: "op"})
		if string(hidden.body) != strings.ReplaceAll(string(absent.body), "zz"+p[1], p[1]) {
			t.Errorf("%s%s: hidden %s, absent %s", p[0], p[1], hidden.body, absent.body)
		}
	}
}

// statusOf is the raw status answer for user.
func statusOf(t *testing.T, e *env, user string) map[string]any {
	t.Helper()
	r := e.do(req{method: "GET", path: "/api/v1/status", auth: user})
	if r.status != http.StatusOK {
		t.Fatalf("status for %s: %d %s", user, r.status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStatusShowsNoPoolFigureToNonAdmins(t *testing.T) {
	e := figuresEnv(t)
	// The status fields that are figures of the whole pool.
	poolKeys := []string{"capacity_bytes", "containers", "volumes", "ingested_bytes", "restored_bytes", "new_chunks", "dup_chunks"}
	for _, u := range []string{"ro", "op"} {
		before := statusOf(t, e, u)
		for _, k := range poolKeys {
			if _, ok := before[k]; ok {
				t.Errorf("status for %s has the pool's %s: %v", u, k, before[k])
			}
		}
		if before["scope"] != "stores" {
			t.Errorf("status for %s: scope %v", u, before["scope"])
		}
	}
	// op reads a (1 MiB), default and the default share (empty).
	if op := statusOf(t, e, "op"); op["logical_bytes"] != float64(1<<20) || op["items"] != float64(1) {
		t.Errorf("status for op: %v", op)
	}
	roBefore := e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"}).body
	opBefore := e.do(req{method: "GET", path: "/api/v1/status", auth: "op"}).body
	adminBefore := statusOf(t, e, "admin")

	// The admin writes 8 MiB of new data into b, which neither may read.
	e.write("b", "more", randomBytes(4, 8<<20))

	if after := e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"}).body; !bytes.Equal(after, roBefore) {
		t.Errorf("status for ro moved with a write to b:\nbefore %s\nafter  %s", roBefore, after)
	}
	if after := e.do(req{method: "GET", path: "/api/v1/status", auth: "op"}).body; !bytes.Equal(after, opBefore) {
		t.Errorf("status for op moved with a write to b:\nbefore %s\nafter  %s", opBefore, after)
	}
	adminAfter := statusOf(t, e, "admin")
	for _, k := range []string{"stored_bytes", "new_chunks", "ingested_bytes"} {
		if adminAfter[k].(float64) <= adminBefore[k].(float64) {
			t.Errorf("admin's %s did not move: %v -> %v", k, adminBefore[k], adminAfter[k])
		}
	}
	if adminAfter["scope"] != "appliance" {
		t.Errorf("admin's scope %v", adminAfter["scope"])
	}

	var h map[string]any
	e.do(req{method: "GET", path: "/api/v1/status/history", auth: "ro"}).decode(t, &h)
	if samples, _ := h["samples"].([]any); h["scope"] != "stores" || len(samples) != 0 {
		t.Errorf("history for ro: %v", h)
	}
}

package web

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/replication"
)

// withReplication runs a replication service on loopback beside the
// server, with the appliance's certificate.
func withReplication(addr *string) envOption {
	return func(e *env, o *Options) {
		t := e.t
		cert := testCert(t, filepath.Join(e.dir, "tls"))
		ro := replication.DefaultOptions()
		ro.Dir, ro.Certificate, ro.State = filepath.Join(e.dir, "replication"), *cert, e.state
		ro.Poll, ro.RetryMin, ro.RetryMax = 20*time.Millisecond, 10*time.Millisecond, 100*time.Millisecond
		ro.Addr = "127.0.0.1:0"
		svc, err := replication.New(e.eng, ro)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		*addr = svc.Addr()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := svc.Shutdown(ctx); err != nil {
				t.Errorf("replication shutdown: %v", err)
			}
		})
		o.Replication = svc
	}
}

func TestReplicationAPI(t *testing.T) {
	var aAddr, bAddr string
	a := newEnv(t, withReplication(&aAddr))
	b := newEnv(t, withReplication(&bAddr))
	var aID, bID replication.Identity
	a.do(req{method: "GET", path: "/api/v1/replication/identity", auth: "ro"}).decode(t, &aID)
	b.do(req{method: "GET", path: "/api/v1/replication/identity", auth: "ro"}).decode(t, &bID)
	if len(aID.Fingerprint) != 64 || aID.Fingerprint == bID.Fingerprint {
		t.Fatalf("identities %+v %+v", aID, bID)
	}
	// Pairing: only an admin trusts a source.
	if r := b.do(req{method: "POST", path: "/api/v1/replication/sources", auth: "op", body: map[string]string{"name": "site-a", "fingerprint": aID.Fingerprint}}); r.status != http.StatusForbidden {
		t.Fatalf("operator pairing: %d", r.status)
	}
	if r := b.do(req{method: "POST", path: "/api/v1/replication/sources", auth: "admin", body: map[string]string{"name": "site-a", "fingerprint": aID.Fingerprint}}); r.status != http.StatusCreated {
		t.Fatalf("pairing: %d %s", r.status, r.body)
	}
	if r := b.do(req{method: "POST", path: "/api/v1/replication/sources", auth: "admin", body: map[string]string{"name": "bad", "fingerprint": "xyz"}}); r.status != http.StatusBadRequest {
		t.Fatalf("bad fingerprint: %d", r.status)
	}
	w, err := a.eng.Create(context.Background(), "default", "x", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("backstop replication ", 50000)))
	if _, err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"name": "to-b", "source_store": "default", "target": bAddr, "target_fingerprint": bID.Fingerprint, "target_store": "copy"}
	if r := a.do(req{method: "POST", path: "/api/v1/replication/mappings", auth: "ro", body: m}); r.status != http.StatusForbidden {
		t.Fatalf("read-only user creating a mapping: %d", r.status)
	}
	if r := a.do(req{method: "POST", path: "/api/v1/replication/mappings", auth: "op", body: m}); r.status != http.StatusForbidden {
		t.Fatalf("operator creating a mapping: %d", r.status)
	}
	if r := a.do(req{method: "POST", path: "/api/v1/replication/mappings", auth: "admin", body: m}); r.status != http.StatusCreated {
		t.Fatalf("create mapping: %d %s", r.status, r.body)
	}
	if r := a.do(req{method: "POST", path: "/api/v1/replication/mappings/to-b/sync", auth: "op"}); r.status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", r.status, r.body)
	}
	var st replication.Status
	deadline := time.Now().Add(60 * time.Second)
	for st.ItemsReplicated != 1 || st.ItemsPending != 0 || st.LastSuccess.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("mapping never caught up: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
		a.do(req{method: "GET", path: "/api/v1/replication/mappings/to-b", auth: "ro"}).decode(t, &st)
	}
	if st.WireBytes == 0 || st.LogicalBytes != 1050000 || st.LastSuccess.IsZero() {
		t.Fatalf("status %+v", st)
	}
	var reps []replication.Replica
	b.do(req{method: "GET", path: "/api/v1/replication/replicas", auth: "ro"}).decode(t, &reps)
	if len(reps) != 1 || reps[0].Store != "copy" || reps[0].SourceFingerprint != aID.Fingerprint || reps[0].Promoted {
		t.Fatalf("replicas %+v", reps)
	}
	// The replica is read-only through the API too, until promoted: the
	// policy refuses.
	if r := b.do(req{method: "DELETE", path: "/api/v1/stores/copy/items/x", auth: "admin"}); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "replica") {
		t.Fatalf("delete from a replica: %d %s", r.status, r.body)
	}
	if r := b.do(req{method: "POST", path: "/api/v1/replication/replicas/copy/promote", auth: "admin"}); r.status != http.StatusOK {
		t.Fatalf("promote: %d %s", r.status, r.body)
	}
	if r := b.do(req{method: "POST", path: "/api/v1/replication/replicas/copy/promote", auth: "admin"}); r.status != http.StatusConflict {
		t.Fatalf("second promote: %d %s", r.status, r.body)
	}
	if r := b.do(req{method: "DELETE", path: "/api/v1/stores/copy/items/x", auth: "admin"}); r.status != http.StatusNoContent {
		t.Fatalf("delete after promotion: %d %s", r.status, r.body)
	}
	// Metrics per mapping.
	if r := a.do(req{method: "GET", path: "/metrics"}); !strings.Contains(string(r.body), `backstop_replication_wire_bytes_total{mapping="to-b"}`) {
		t.Fatalf("metrics lack replication:\n%s", r.body)
	}
	// Domain export on A, import on B (fan-in), idempotent.
	var dk map[string]any
	if r := a.do(req{method: "GET", path: "/api/v1/replication/domains/default/key", auth: "op"}); r.status != http.StatusForbidden {
		t.Fatalf("operator exporting a key: %d", r.status)
	}
	a.do(req{method: "GET", path: "/api/v1/replication/domains/default/key", auth: "admin"}).decode(t, &dk)
	// B holds A's key already, in the replica domain: that one is returned.
	dk["name"] = "site-a"
	var got map[string]any
	r := b.do(req{method: "POST", path: "/api/v1/replication/domains", auth: "admin", body: dk})
	if r.decode(t, &got); r.status != http.StatusOK || got["name"] != reps[0].Domain {
		t.Fatalf("import of a key B holds: %d %s", r.status, r.body)
	}
	key, _ := chunkstore.NewDomainKey()
	dk["key"], dk["name"] = key, "fresh"
	if r := b.do(req{method: "POST", path: "/api/v1/replication/domains", auth: "admin", body: dk}); r.status != http.StatusCreated {
		t.Fatalf("import domain: %d %s", r.status, r.body)
	}
	// A mapping's figures describe its store's items: once store default
	// is closed to ro, ro no longer sees the mapping (docs/security.md).
	if r := a.do(req{method: "PUT", path: "/api/v1/stores/default/options", auth: "admin", body: map[string]any{"clients": []string{"admin"}}}); r.status != http.StatusOK {
		t.Fatalf("close default to ro: %d %s", r.status, r.body)
	}
	var listed []replication.Status
	a.do(req{method: "GET", path: "/api/v1/replication/mappings", auth: "ro"}).decode(t, &listed)
	if r := a.do(req{method: "GET", path: "/api/v1/replication/mappings/to-b", auth: "ro"}); len(listed) != 0 || r.status != http.StatusNotFound {
		t.Fatalf("ro sees the mapping of a store it may not read: %v, %d %s", listed, r.status, r.body)
	}
	a.do(req{method: "GET", path: "/api/v1/replication/mappings", auth: "admin"}).decode(t, &listed)
	if len(listed) != 1 {
		t.Fatalf("admin's mappings: %v", listed)
	}
	if r := a.do(req{method: "DELETE", path: "/api/v1/replication/mappings/to-b", auth: "admin"}); r.status != http.StatusNoContent {
		t.Fatalf("delete mapping: %d %s", r.status, r.body)
	}
}

// TestReplicationOff: without a service the routes answer 404.
func TestReplicationOff(t *testing.T) {
	e := newEnv(t)
	if r := e.do(req{method: "GET", path: "/api/v1/replication/mappings", auth: "ro"}); r.status != http.StatusNotFound {
		t.Fatalf("mappings without replication: %d", r.status)
	}
}

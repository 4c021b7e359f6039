package web

import (
	"context"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// withShares serves a share manager over the env's engine.
func withShares() envOption {
	return func(e *env, o *Options) {
		m, err := sharefs.OpenManager(context.Background(), e.eng, e.eng.Dir(), sharefs.ManagerOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { m.Close() })
		o.Shares = m
	}
}

func TestShares(t *testing.T) {
	e := newEnv(t, withSharePolicy())
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/shares"}, 401, codeUnauthenticated},
		{"list read-only", req{method: "GET", path: "/api/v1/shares", auth: "ro"}, 200, ""},
		{"create", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"docs","comment":"documents","quota_bytes":1000000,"users":{"ro":"read-only","op":"read-write"},"default_access":"none"}`}, 201, ""},
		{"create own domain", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"tenant","domain":"tenant-a","encrypt_data":true,"sign_required":true}`}, 201, ""},
		{"create duplicate", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"DOCS"}`}, 409, codeConflict},
		{"create read-only", req{method: "POST", path: "/api/v1/shares", auth: "ro", body: `{"name":"x"}`}, 403, codeForbidden},
		{"create no token", req{method: "POST", path: "/api/v1/shares", body: `{"name":"x"}`}, 401, codeUnauthenticated},
		{"create bad name", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"../x"}`}, 400, codeInvalid},
		{"create empty name", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":""}`}, 400, codeInvalid},
		{"create long name", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"` + strings.Repeat("s", 61) + `"}`}, 400, codeInvalid},
		{"create bad access", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"x","default_access":"all"}`}, 400, codeInvalid},
		{"create unknown user", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"x","users":{"mallory":"read-write"}}`}, 400, codeInvalid},
		{"create negative quota", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"x","quota_bytes":-5}`}, 400, codeInvalid},
		{"create unknown field", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"x","size":1}`}, 400, codeInvalid},
		{"create malformed", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":`}, 400, codeInvalid},
		{"get", req{method: "GET", path: "/api/v1/shares/docs", auth: "ro"}, 200, ""},
		{"get other case", req{method: "GET", path: "/api/v1/shares/Docs", auth: "ro"}, 200, ""},
		{"get unknown", req{method: "GET", path: "/api/v1/shares/nope", auth: "ro"}, 404, codeNotFound},
		{"get odd", req{method: "GET", path: "/api/v1/shares/a%20b", auth: "ro"}, 400, codeInvalid},
		{"patch", req{method: "PATCH", path: "/api/v1/shares/docs", auth: "op", body: `{"comment":"docs 2","quota_bytes":0}`}, 200, ""},
		{"patch read-only", req{method: "PATCH", path: "/api/v1/shares/docs", auth: "ro", body: `{"comment":"x"}`}, 403, codeForbidden},
		{"patch unknown", req{method: "PATCH", path: "/api/v1/shares/nope", auth: "op", body: `{"comment":"x"}`}, 404, codeNotFound},
		{"patch bad access", req{method: "PATCH", path: "/api/v1/shares/docs", auth: "admin", body: `{"users":{"ro":"rw"}}`}, 400, codeInvalid},
		{"patch unknown user", req{method: "PATCH", path: "/api/v1/shares/docs", auth: "admin", body: `{"users":{"nobody":"read-only"}}`}, 400, codeInvalid},
		{"patch name", req{method: "PATCH", path: "/api/v1/shares/docs", auth: "op", body: `{"name":"other"}`}, 400, codeInvalid},
		{"delete by operator", req{method: "DELETE", path: "/api/v1/shares/tenant", auth: "op"}, 403, codeForbidden},
		{"delete unknown", req{method: "DELETE", path: "/api/v1/shares/nope", auth: "admin"}, 404, codeNotFound},
		{"delete", req{method: "DELETE", path: "/api/v1/shares/tenant", auth: "admin"}, 204, ""},
		{"get deleted", req{method: "GET", path: "/api/v1/shares/tenant", auth: "ro"}, 404, codeNotFound},
	})
	var list []sharefs.Info
	e.do(req{method: "GET", path: "/api/v1/shares", auth: "ro"}).decode(t, &list)
	if len(list) != 2 || list[0].Name != "backup" || list[1].Name != "docs" {
		t.Fatalf("shares %+v", list)
	}
	d := list[1]
	if d.Comment != "docs 2" || d.QuotaBytes != 0 || d.DefaultAccess != sharefs.AccessNone || d.Users["ro"] != sharefs.AccessReadOnly ||
		d.Store != "nas.docs" || d.Domain != "default" || d.Created.IsZero() || d.DedupRatio != 1 {
		t.Fatalf("docs %+v", d)
	}
	audit := map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		audit[ev.Actor+" "+ev.Action+" "+ev.Object] = true
	}
	for _, want := range []string{"op share.create docs", "op share.update docs", "admin share.delete tenant"} {
		if !audit[want] {
			t.Errorf("no audit event %q in %v", want, audit)
		}
	}
}

// TestShareFigures: files written through the share show in its figures.
func TestShareFigures(t *testing.T) {
	e := newEnv(t, withSharePolicy())
	m := e.srv.opts.Shares.(*sharefs.Manager)
	ctx := context.Background()
	sh, err := m.Share(ctx, "backup", "admin")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("figures ", 1<<15))
	for _, name := range []string{"a", "b"} {
		f, err := sh.FS.Open(ctx, name, vfs.OpenCreate|vfs.OpenWrite)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(data, 0)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var in sharefs.Info
	e.do(req{method: "GET", path: "/api/v1/shares/backup", auth: "ro"}).decode(t, &in)
	if in.Files != 2 || in.LogicalBytes != int64(2*len(data)) || in.StoredBytes <= 0 || in.DedupRatio <= 2 {
		t.Fatalf("figures %+v", in.Figures)
	}
}

// TestSharesWithoutManager: a server given no manager lists none.
func TestSharesWithoutManager(t *testing.T) {
	e := newEnv(t)
	e.run([]check{
		{"list", req{method: "GET", path: "/api/v1/shares", auth: "ro"}, 200, ""},
		{"get", req{method: "GET", path: "/api/v1/shares/backup", auth: "ro"}, 404, codeNotFound},
		{"create", req{method: "POST", path: "/api/v1/shares", auth: "op", body: `{"name":"x"}`}, 404, codeNotFound},
	})
}

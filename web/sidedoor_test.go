package web

// Adversarial tests of the access policy through the REST API (issue
// 13): the generic store routes do not reach a share's or a library's
// items, and what says who may access a share, a store or a mapping is
// an admin's.

import (
	"context"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// shareOwners is the owners resolver backstop serve wires: the share
// manager for its stores, the engine for the rest.
type shareOwners struct {
	eng *chunkstore.Engine
	m   *sharefs.Manager
}

func (o shareOwners) Owner(store, user string) (appliance.Owner, error) {
	info, err := o.eng.Store(store)
	if err != nil {
		return appliance.Owner{}, err
	}
	if share, listed, ok := o.m.StoreAccess(store, user); ok {
		return appliance.Owner{Kind: appliance.OwnerShare, Store: store, Name: share, Listed: appliance.Access(listed)}, nil
	}
	return appliance.EngineOwner(info), nil
}

// withSharePolicy serves a share manager and a core whose policy knows
// its shares.
func withSharePolicy() envOption {
	return func(e *env, o *Options) {
		withShares()(e, o)
		m := o.Shares.(*sharefs.Manager)
		o.Core = appliance.NewCore(e.eng, e.state, appliance.CoreOptions{Now: e.clock.Now, Owners: shareOwners{eng: e.eng, m: m}})
	}
}

func TestStoreAPISideDoors(t *testing.T) {
	e := newEnv(t, withSharePolicy())
	ctx := context.Background()
	sh := e.srv.opts.Shares
	if _, err := sh.Create(ctx, sharefs.Share{Name: "secret", DefaultAccess: sharefs.AccessNone,
		Users: map[string]sharefs.Access{"ro": sharefs.AccessReadOnly}}); err != nil {
		t.Fatal(err)
	}
	for store, name := range map[string]string{"nas.secret": "1.1", "vtl-lib": "A00001L8"} {
		if store == "vtl-lib" {
			if _, err := e.eng.CreateStore(store, chunkstore.DefaultDomain); err != nil {
				t.Fatal(err)
			}
		}
		w, err := e.eng.Create(ctx, store, name, chunkstore.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("payroll"))
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.run([]check{
		{"op lists a share's items", req{method: "GET", path: "/api/v1/stores/nas.secret/items", auth: "op"}, 403, codeForbidden},
		{"op stats a share's item", req{method: "GET", path: "/api/v1/stores/nas.secret/items/1.1", auth: "op"}, 403, codeForbidden},
		{"op deletes a share's item", req{method: "DELETE", path: "/api/v1/stores/nas.secret/items/1.1", auth: "op"}, 403, codeForbidden},
		{"admin deletes a share's item", req{method: "DELETE", path: "/api/v1/stores/nas.secret/items/1.1", auth: "admin"}, 403, codeForbidden},
		{"listed ro lists a share's items", req{method: "GET", path: "/api/v1/stores/nas.secret/items", auth: "ro"}, 200, ""},
		{"op lists a library's items", req{method: "GET", path: "/api/v1/stores/vtl-lib/items", auth: "op"}, 403, codeForbidden},
		{"admin lists a library's items", req{method: "GET", path: "/api/v1/stores/vtl-lib/items", auth: "admin"}, 200, ""},
		{"admin deletes a cartridge's item", req{method: "DELETE", path: "/api/v1/stores/vtl-lib/items/A00001L8", auth: "admin"}, 403, codeForbidden},
		{"admin deletes a share's store", req{method: "DELETE", path: "/api/v1/stores/nas.secret", auth: "admin"}, 403, codeForbidden},
		{"admin deletes a library's store", req{method: "DELETE", path: "/api/v1/stores/vtl-lib", auth: "admin"}, 403, codeForbidden},
		{"op makes a store in a share's name", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"nas.future"}`}, 400, codeInvalid},
		{"op makes a store in a library's name", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"vtl-next"}`}, 400, codeInvalid},
		{"op grants himself the share", req{method: "PATCH", path: "/api/v1/shares/secret", auth: "op", body: `{"users":{"op":"read-write"}}`}, 403, codeForbidden},
		{"op opens the share", req{method: "PATCH", path: "/api/v1/shares/secret", auth: "op", body: `{"default_access":"read-write"}`}, 403, codeForbidden},
		{"op changes the comment", req{method: "PATCH", path: "/api/v1/shares/secret", auth: "op", body: `{"comment":"still an operator's"}`}, 200, ""},
		{"op sets a store's clients", req{method: "PUT", path: "/api/v1/stores/default/options", auth: "op", body: `{"clients":["op"]}`}, 403, codeForbidden},
		{"admin grants op the share", req{method: "PATCH", path: "/api/v1/shares/secret", auth: "admin", body: `{"users":{"op":"read-only"}}`}, 200, ""},
		{"granted op lists the share's items", req{method: "GET", path: "/api/v1/stores/nas.secret/items", auth: "op"}, 200, ""},
	})
	r := e.do(req{method: "DELETE", path: "/api/v1/stores/nas.secret/items/1.1", auth: "op"})
	if !strings.Contains(string(r.body), "store nas.secret belongs to share secret; use the share") {
		t.Fatalf("the refusal names no way: %s", r.body)
	}
	for store, name := range map[string]string{"nas.secret": "1.1", "vtl-lib": "A00001L8"} {
		if _, err := e.eng.Stat(ctx, store, name); err != nil {
			t.Fatalf("%s/%s: %v", store, name, err)
		}
	}
}

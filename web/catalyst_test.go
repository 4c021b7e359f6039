package web

import (
	"bytes"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/catalyst"
)

// fakeTraffic stands for a running Catalyst service.
type fakeTraffic struct{ t catalyst.Traffic }

func (f fakeTraffic) Traffic() catalyst.Traffic { return f.t }
func (f fakeTraffic) Addr() string              { return "127.0.0.1:9387" }

func TestStoreOptionsAndCatalyst(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.Catalyst = fakeTraffic{catalyst.Traffic{BytesIn: 1000, Puts: 3, Gets: 2}}
	}))
	e.run([]check{
		{"create with options", req{method: "POST", path: "/api/v1/stores", auth: "op",
			body: `{"name":"vault","domain":"tenant1","new_domain":true,"transfer":"high","immutable_days":3,"clients":["op"]}`}, 201, ""},
		{"create bad transfer", req{method: "POST", path: "/api/v1/stores", auth: "op", body: `{"name":"x","transfer":"fast"}`}, 400, codeInvalid},
		{"options by operator", req{method: "PUT", path: "/api/v1/stores/default/options", auth: "op", body: `{"transfer":"high"}`}, 403, codeForbidden},
		{"options", req{method: "PUT", path: "/api/v1/stores/default/options", auth: "admin", body: `{"transfer":"low","immutable_days":1}`}, 200, ""},
		{"options bad days", req{method: "PUT", path: "/api/v1/stores/default/options", auth: "admin", body: `{"immutable_days":-1}`}, 400, codeInvalid},
		{"options unknown store", req{method: "PUT", path: "/api/v1/stores/nope/options", auth: "admin", body: `{}`}, 404, codeNotFound},
		{"catalyst", req{method: "GET", path: "/api/v1/catalyst", auth: "ro"}, 200, ""},
	})
	var vault storeView
	e.do(req{method: "GET", path: "/api/v1/stores/vault", auth: "op"}).decode(t, &vault)
	if vault.Domain != "tenant1" || vault.Transfer != "high" || vault.ImmutableDays != 3 || !slices.Equal(vault.Clients, []string{"op"}) {
		t.Fatalf("vault %+v", vault)
	}
	// An immutable item survives an admin's delete through the API.
	e.write("default", "keep", bytes.Repeat([]byte("immutable "), 1000))
	e.run([]check{
		{"delete immutable item", req{method: "DELETE", path: "/api/v1/stores/default/items/keep", auth: "admin"}, 409, codeConflict},
		{"lower immutability", req{method: "PUT", path: "/api/v1/stores/default/options", auth: "admin", body: `{"immutable_days":0}`}, 409, codeConflict},
	})
	var cv catalystView
	e.do(req{method: "GET", path: "/api/v1/catalyst", auth: "admin"}).decode(t, &cv) // every client's traffic: an admin's figure
	if !cv.Enabled || cv.Puts != 3 || cv.BytesIn != 1000 {
		t.Fatalf("catalyst %+v", cv)
	}
	body := e.do(req{method: "GET", path: "/metrics"}).body
	if !bytes.Contains(body, []byte("backstop_catalyst_puts_total 3")) {
		t.Fatal("metrics lack the catalyst counters")
	}
}

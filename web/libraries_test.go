package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// withLibraries serves the VTL with a default library.
func withLibraries() envOption {
	return func(e *env, o *Options) {
		m, err := library.Open(context.Background(), filepath.Join(e.dir, "vtl"), e.eng, library.Options{Default: true})
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { m.Close(context.Background()) })
		o.Libraries = m
	}
}

func TestLibraries(t *testing.T) {
	e := newEnv(t, withLibraries())
	lib := `{"name":"lib2","emulation":"hp-msl","generation":7,"drives":2,"slots":10,"mail_slots":1,"cartridge_size":104857600,"chap":{"user":"backup","secret":"0123456789abcdef"}}`
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/libraries"}, 401, codeUnauthenticated},
		{"list", req{method: "GET", path: "/api/v1/libraries", auth: "ro"}, 200, ""},
		{"emulations", req{method: "GET", path: "/api/v1/library-emulations", auth: "ro"}, 200, ""},
		{"create read-only", req{method: "POST", path: "/api/v1/libraries", auth: "ro", body: lib}, 403, codeForbidden},
		{"create", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: lib}, 201, ""},
		{"create duplicate", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: lib}, 409, codeConflict},
		{"create bad emulation", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: `{"name":"x","emulation":"acme","drives":1,"slots":1}`}, 400, codeInvalid},
		{"create no drives", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: `{"name":"x","drives":0,"slots":1}`}, 400, codeInvalid},
		{"create short secret", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: `{"name":"x","drives":1,"slots":1,"chap":{"user":"u","secret":"short"}}`}, 400, codeInvalid},
		{"create unknown field", req{method: "POST", path: "/api/v1/libraries", auth: "op", body: `{"name":"x","drives":1,"slots":1,"robots":2}`}, 400, codeInvalid},
		{"get", req{method: "GET", path: "/api/v1/libraries/lib2", auth: "ro"}, 200, ""},
		{"get unknown", req{method: "GET", path: "/api/v1/libraries/nope", auth: "ro"}, 404, codeNotFound},
		{"add cartridges", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges", auth: "op", body: `{"prefix":"NEW","count":3}`}, 201, ""},
		{"add by barcode", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges", auth: "op", body: `{"barcodes":["OUT001L7"],"vault":true}`}, 201, ""},
		{"add bad barcode", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges", auth: "op", body: `{"barcodes":["a b"]}`}, 400, codeInvalid},
		{"add too many", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges", auth: "op", body: `{"prefix":"X","count":20}`}, 409, codeConflict},
		{"list cartridges", req{method: "GET", path: "/api/v1/libraries/lib2/cartridges", auth: "ro"}, 200, ""},
		{"move to drive", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges/NEW001L7/move", auth: "op", body: `{"type":"drive","index":1}`}, 200, ""},
		{"move onto a full drive", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges/NEW002L7/move", auth: "op", body: `{"type":"drive","index":1}`}, 409, codeConflict},
		{"move to a bad place", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges/NEW002L7/move", auth: "op", body: `{"type":"shelf","index":1}`}, 400, codeInvalid},
		{"delete loaded cartridge", req{method: "DELETE", path: "/api/v1/libraries/lib2/cartridges/NEW001L7", auth: "admin"}, 409, codeConflict},
		{"import", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges/OUT001L7/import", auth: "op"}, 200, ""},
		{"export", req{method: "POST", path: "/api/v1/libraries/lib2/cartridges/NEW003L7/export", auth: "op"}, 409, codeConflict}, // the mail slot is full
		{"protect", req{method: "PATCH", path: "/api/v1/libraries/lib2/cartridges/NEW002L7", auth: "op", body: `{"write_protected":true}`}, 200, ""},
		{"delete by operator", req{method: "DELETE", path: "/api/v1/libraries/lib2/cartridges/NEW002L7", auth: "op"}, 403, codeForbidden},
		{"delete cartridge", req{method: "DELETE", path: "/api/v1/libraries/lib2/cartridges/NEW002L7", auth: "admin"}, 204, ""},
		{"get deleted cartridge", req{method: "GET", path: "/api/v1/libraries/lib2/cartridges/NEW002L7", auth: "ro"}, 404, codeNotFound},
		{"delete library with cartridges", req{method: "DELETE", path: "/api/v1/libraries/lib2", auth: "admin"}, 409, codeConflict},
	})
	var libs []libraryView
	r := e.do(req{method: "GET", path: "/api/v1/libraries", auth: "ro"})
	r.decode(t, &libs)
	if len(libs) != 2 || libs[0].Name != "lib2" || libs[1].Name != "vtl1" || libs[1].Cartridges != 8 || len(libs[0].Drives) != 2 ||
		libs[0].Drives[1].Barcode != "NEW001L7" || libs[0].Drives[0].Product != "Ultrium 7-SCSI" || !libs[0].CHAP.Required {
		t.Fatalf("libraries %s", r.body)
	}
	if strings.Contains(string(r.body), "0123456789abcdef") {
		t.Fatal("the CHAP secret is sent back")
	}
	var cs []library.CartridgeInfo
	e.do(req{method: "GET", path: "/api/v1/libraries/lib2/cartridges", auth: "ro"}).decode(t, &cs)
	got := map[string]string{}
	for _, c := range cs {
		got[c.Barcode] = c.Location.Type
	}
	if len(cs) != 3 || got["NEW001L7"] != "drive" || got["OUT001L7"] != "mail" || got["NEW003L7"] != "slot" {
		t.Fatalf("cartridges %+v", cs)
	}
	audit := map[string]bool{}
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		audit[ev.Actor+" "+ev.Action+" "+ev.Object] = true
	}
	for _, want := range []string{"op library.create lib2", "op cartridge.move lib2/NEW001L7", "admin cartridge.delete lib2/NEW002L7"} {
		if !audit[want] {
			t.Errorf("no audit event %q", want)
		}
	}
}

func TestLibrariesOff(t *testing.T) {
	e := newEnv(t)
	e.run([]check{
		{"list without the VTL", req{method: "GET", path: "/api/v1/libraries", auth: "ro"}, 404, codeNotFound},
	})
}

package web

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestNotFoundWording checks that every "not found" reads the same way,
// whichever package said it: what, then "not found".
func TestNotFoundWording(t *testing.T) {
	var replAddr string
	e := newEnv(t, withLibraries(), withShares(), withReplication(&replAddr))
	cases := []struct{ method, path, want string }{
		{"GET", "/api/v1/stores/nope", `store "nope" not found`},
		{"DELETE", "/api/v1/stores/nope", `store "nope" not found`},
		{"GET", "/api/v1/stores/nope/items", `store "nope" not found`},
		{"GET", "/api/v1/stores/default/items/a.bin", `item "a.bin" in store "default" not found`},
		{"GET", "/api/v1/users/nope", `user "nope" not found`},
		{"GET", "/api/v1/shares/nope", `share "nope" not found`},
		{"GET", "/api/v1/libraries/nope", `library "nope" not found`},
		{"GET", "/api/v1/libraries/nope/cartridges", `library "nope" not found`},
		{"GET", "/api/v1/replication/mappings/nope", `mapping "nope" not found`},
		{"DELETE", "/api/v1/replication/sources/nope", `source "nope" not found`},
		{"DELETE", "/api/v1/tokens/nope", `token "nope" not found`},
		{"GET", "/api/v1/nope", `endpoint GET /api/v1/nope not found`},
	}
	for _, tc := range cases {
		r := e.do(req{method: tc.method, path: tc.path, auth: "admin"})
		var b errorBody
		_ = json.Unmarshal(r.body, &b)
		if r.status != http.StatusNotFound || b.Error.Code != codeNotFound || b.Error.Message != tc.want {
			t.Errorf("%s %s: %d %q, want 404 %q", tc.method, tc.path, r.status, b.Error.Message, tc.want)
		}
	}
}

func TestNotFoundWordingForms(t *testing.T) {
	for in, want := range map[string]string{
		`not found: store "x"`:             `store "x" not found`,
		`user "x": not found`:              `user "x" not found`,
		`not found: library lib1`:          `library "lib1" not found`,
		`not found: cartridge ABC123L7`:    `cartridge "ABC123L7" not found`,
		`store "x" not found`:              `store "x" not found`,
		`this appliance serves no shares`:  `this appliance serves no shares`,
		`not found: item "a" in store "x"`: `item "a" in store "x" not found`,
	} {
		if got := notFoundWording(in); got != want {
			t.Errorf("notFoundWording(%q) = %q, want %q", in, got, want)
		}
	}
}

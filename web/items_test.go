package web

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestItems(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.write("default", fmt.Sprintf("dir/item-%d", i), []byte(strings.Repeat("item data ", 100+i)))
	}
	e.write("default", "a b?#%.txt", []byte("odd name"))
	e.write("default", "ünïcode", []byte("unicode"))
	e.run([]check{
		{"list no token", req{method: "GET", path: "/api/v1/stores/default/items"}, 401, codeUnauthenticated},
		{"list expired token", req{method: "GET", path: "/api/v1/stores/default/items", auth: "token:expired"}, 401, codeUnauthenticated},
		{"list", req{method: "GET", path: "/api/v1/stores/default/items", auth: "ro"}, 200, ""},
		{"list unknown store", req{method: "GET", path: "/api/v1/stores/nope/items", auth: "ro"}, 404, codeNotFound},
		{"list odd store", req{method: "GET", path: "/api/v1/stores/a%20b/items", auth: "ro"}, 400, codeInvalid},
		{"list limit 0", req{method: "GET", path: "/api/v1/stores/default/items?limit=0", auth: "ro"}, 400, codeInvalid},
		{"list limit 1001", req{method: "GET", path: "/api/v1/stores/default/items?limit=1001", auth: "ro"}, 400, codeInvalid},
		{"list limit x", req{method: "GET", path: "/api/v1/stores/default/items?limit=x", auth: "ro"}, 400, codeInvalid},
		{"get", req{method: "GET", path: "/api/v1/stores/default/items/dir/item-1", auth: "ro"}, 200, ""},
		{"get escaped slash", req{method: "GET", path: "/api/v1/stores/default/items/dir%2Fitem-1", auth: "ro"}, 200, ""},
		{"get odd name", req{method: "GET", path: "/api/v1/stores/default/items/" + url.PathEscape("a b?#%.txt"), auth: "ro"}, 200, ""},
		{"get unicode", req{method: "GET", path: "/api/v1/stores/default/items/" + url.PathEscape("ünïcode"), auth: "ro"}, 200, ""},
		{"get unknown", req{method: "GET", path: "/api/v1/stores/default/items/nope", auth: "ro"}, 404, codeNotFound},
		{"get unknown store", req{method: "GET", path: "/api/v1/stores/nope/items/x", auth: "ro"}, 404, codeNotFound},
		{"get empty name", req{method: "GET", path: "/api/v1/stores/default/items/", auth: "ro"}, 400, codeInvalid},
		{"get control char", req{method: "GET", path: "/api/v1/stores/default/items/a%01b", auth: "ro"}, 400, codeInvalid},
		{"get too long", req{method: "GET", path: "/api/v1/stores/default/items/" + strings.Repeat("n", 1100), auth: "ro"}, 400, codeInvalid},
		{"get no token", req{method: "GET", path: "/api/v1/stores/default/items/dir/item-1"}, 401, codeUnauthenticated},
		{"delete read-only", req{method: "DELETE", path: "/api/v1/stores/default/items/dir/item-1", auth: "ro"}, 403, codeForbidden},
		{"delete no token", req{method: "DELETE", path: "/api/v1/stores/default/items/dir/item-1"}, 401, codeUnauthenticated},
		{"delete unknown", req{method: "DELETE", path: "/api/v1/stores/default/items/nope", auth: "op"}, 404, codeNotFound},
		{"delete empty name", req{method: "DELETE", path: "/api/v1/stores/default/items/", auth: "op"}, 400, codeInvalid},
		{"delete", req{method: "DELETE", path: "/api/v1/stores/default/items/dir/item-1", auth: "op"}, 204, ""},
		{"delete odd name", req{method: "DELETE", path: "/api/v1/stores/default/items/" + url.PathEscape("a b?#%.txt"), auth: "op"}, 204, ""},
		{"get deleted", req{method: "GET", path: "/api/v1/stores/default/items/dir/item-1", auth: "ro"}, 404, codeNotFound},
	})

	var it itemView
	e.do(req{method: "GET", path: "/api/v1/stores/default/items/dir/item-2", auth: "ro"}).decode(t, &it)
	if it.Name != "dir/item-2" || it.Size != 1020 || it.Chunks == 0 || it.Meta["k"] != "v" || it.Created.IsZero() {
		t.Fatalf("item %+v", it)
	}

	t.Run("pages", func(t *testing.T) {
		var names []string
		after := ""
		for pages := 0; ; pages++ {
			var p itemPage
			e.do(req{method: "GET", path: "/api/v1/stores/default/items?prefix=dir/&limit=2&after=" + url.QueryEscape(after), auth: "ro"}).decode(t, &p)
			for _, it := range p.Items {
				names = append(names, it.Name)
			}
			if p.Next == "" {
				break
			}
			after = p.Next
			if pages > 5 {
				t.Fatal("no end of pages")
			}
		}
		if got := strings.Join(names, ","); got != "dir/item-0,dir/item-2,dir/item-3,dir/item-4" {
			t.Fatalf("names %s", got)
		}
	})
	t.Run("empty page", func(t *testing.T) {
		r := e.do(req{method: "GET", path: "/api/v1/stores/default/items?prefix=zzz", auth: "ro"})
		if string(r.body) != `{"items":[],"next":""}` {
			t.Fatalf("body %s", r.body)
		}
	})
	found := false
	for _, ev := range e.state.Events(0, 1000, appliance.KindAudit) {
		found = found || ev.Actor == "op" && ev.Action == "item.delete" && ev.Object == "default/dir/item-1"
	}
	if !found {
		t.Error("no audit event for the item delete")
	}
}

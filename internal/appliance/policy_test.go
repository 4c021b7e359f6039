package appliance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// ownerMap is an Owners over fixed owners; a share's list is by user.
type ownerMap struct {
	owners map[string]Owner
	lists  map[string]map[string]Access // share store → user → listed
}

func (m ownerMap) Owner(store, user string) (Owner, error) {
	o, ok := m.owners[store]
	if !ok {
		return Owner{}, fmt.Errorf("store %q: %w", store, chunkstore.ErrNotFound)
	}
	if o.Kind == OwnerShare {
		o.Listed = m.lists[store][user]
	}
	return o, nil
}

func TestPolicy(t *testing.T) {
	admin := User{Name: "root", Role: RoleAdmin}
	op := User{Name: "op", Role: RoleOperator}
	ro := User{Name: "ro", Role: RoleReadOnly}
	none := User{Name: "ghost"} // no valid role
	const (
		allow = ""
		role  = "role" // refused: the role is too low
		deny  = "deny" // refused for another reason
	)
	for _, tc := range []struct {
		name   string
		u      User
		action Action
		target Target
		want   string
		need   Role
	}{
		// The management API: roles only.
		{"read-only reads", ro, ActionRead, Appliance(), allow, ""},
		{"no role reads", none, ActionRead, Appliance(), allow, ""},
		{"read-only writes", ro, ActionWrite, Appliance(), role, RoleOperator},
		{"operator writes", op, ActionWrite, Appliance(), allow, ""},
		{"operator deletes a store", op, ActionDelete, Appliance(), role, RoleAdmin},
		{"admin deletes a store", admin, ActionDelete, Appliance(), allow, ""},
		{"operator administers", op, ActionAdmin, Appliance(), role, RoleAdmin},
		{"admin administers", admin, ActionAdmin, Appliance(), allow, ""},

		// One's own account.
		{"reads own account", ro, ActionRead, Account("ro"), allow, ""},
		{"changes own password", ro, ActionWrite, Account("ro"), allow, ""},
		{"changes own role", op, ActionAdmin, Account("op"), role, RoleAdmin},
		{"deletes own account", op, ActionDelete, Account("op"), role, RoleAdmin},
		{"reads another's account", op, ActionRead, Account("ro"), role, RoleAdmin},
		{"admin changes another's", admin, ActionWrite, Account("ro"), allow, ""},
		{"admin sets a role", admin, ActionAdmin, Account("op"), allow, ""},

		// A Catalyst store: roles and the client list (empty: everyone).
		{"anyone reads an open store", none, ActionRead, Items("open", ViaCatalyst), allow, ""},
		{"read-only writes an open store", ro, ActionWrite, Items("open", ViaCatalyst), role, RoleOperator},
		{"operator writes an open store", op, ActionWrite, Items("open", ViaCatalyst), allow, ""},
		{"operator deletes over the API", op, ActionDelete, Items("open", ViaAPI), allow, ""},
		{"client reads a closed store", ro, ActionRead, Items("closed", ViaCatalyst), allow, ""},
		{"client writes a closed store", op, ActionWrite, Items("closed", ViaCatalyst), allow, ""},
		{"admin not a client reads", admin, ActionRead, Items("closed", ViaCatalyst), deny, ""},
		{"admin not a client reads over the API", admin, ActionRead, Items("closed", ViaAPI), deny, ""},
		{"admin not a client writes", admin, ActionWrite, Items("closed", ViaCatalyst), deny, ""},
		{"read-only client writes", ro, ActionWrite, Items("closed", ViaCatalyst), role, RoleOperator},
		{"a store is not a share", op, ActionRead, Items("open", ViaShare), deny, ""},

		// A share: its list capped by the role; changes only through it.
		{"listed read-only reads over catalyst", ro, ActionRead, Items("nas.secret", ViaCatalyst), allow, ""},
		{"listed none reads over catalyst", op, ActionRead, Items("nas.secret", ViaCatalyst), deny, ""},
		{"listed none reads over the API", op, ActionRead, Items("nas.secret", ViaAPI), deny, ""},
		{"admin listed none reads", admin, ActionRead, Items("nas.secret", ViaCatalyst), deny, ""},
		{"listed read-write writes over catalyst", op, ActionWrite, Items("nas.backup", ViaCatalyst), deny, ""},
		{"admin deletes over the API", admin, ActionDelete, Items("nas.backup", ViaAPI), deny, ""},
		{"listed read-write writes over SMB", op, ActionWrite, Items("nas.backup", ViaShare), allow, ""},
		{"read-only role writes over SMB", ro, ActionWrite, Items("nas.backup", ViaShare), role, RoleOperator},
		{"read-only role reads over SMB", ro, ActionRead, Items("nas.backup", ViaShare), allow, ""},
		{"listed none over SMB", op, ActionRead, Items("nas.secret", ViaShare), deny, ""},
		{"unlisted share store", admin, ActionRead, Items("nas.orphan", ViaAPI), deny, ""},

		// A library: through the library; admins may read elsewhere.
		{"operator through the library", op, ActionWrite, Items("vtl-lib", ViaLibrary), allow, ""},
		{"operator reads over catalyst", op, ActionRead, Items("vtl-lib", ViaCatalyst), deny, ""},
		{"admin reads over catalyst", admin, ActionRead, Items("vtl-lib", ViaCatalyst), allow, ""},
		{"admin deletes over the API", admin, ActionDelete, Items("vtl-lib", ViaAPI), deny, ""},

		// A replica: read-only.
		{"reads a replica", ro, ActionRead, Items("copy", ViaCatalyst), allow, ""},
		{"admin writes a replica", admin, ActionWrite, Items("copy", ViaCatalyst), deny, ""},
		{"admin deletes from a replica", admin, ActionDelete, Items("copy", ViaAPI), deny, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testPolicy().Allow(tc.u, tc.action, tc.target)
			var d *Denial
			switch {
			case tc.want == allow && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == allow:
				return
			case !errors.Is(err, ErrForbidden) || !errors.As(err, &d):
				t.Fatalf("got %v, want a denial", err)
			case d.Need != tc.need:
				t.Fatalf("needs %q, want %q (%v)", d.Need, tc.need, err)
			}
		})
	}
}

func testPolicy() Policy {
	return NewPolicy(ownerMap{
		owners: map[string]Owner{
			"open":       {Kind: OwnerStore, Store: "open", Name: "open"},
			"closed":     {Kind: OwnerStore, Store: "closed", Name: "closed", Clients: []string{"op", "ro"}},
			"nas.secret": {Kind: OwnerShare, Store: "nas.secret", Name: "secret"},
			"nas.backup": {Kind: OwnerShare, Store: "nas.backup", Name: "backup"},
			"nas.orphan": EngineOwner(chunkstore.StoreInfo{Name: "nas.orphan"}),
			"vtl-lib":    {Kind: OwnerLibrary, Store: "vtl-lib", Name: "lib"},
			"copy":       {Kind: OwnerReplica, Store: "copy", Name: "copy"},
		},
		lists: map[string]map[string]Access{
			"nas.secret": {"ro": AccessRead, "op": AccessNone, "root": AccessNone},
			"nas.backup": {"ro": AccessReadWrite, "op": AccessReadWrite, "root": AccessReadWrite},
		},
	})
}

// TestSideDoorMessages: a side door is refused with the right way named.
func TestSideDoorMessages(t *testing.T) {
	p := testPolicy()
	op := User{Name: "op", Role: RoleOperator}
	for target, want := range map[Target]string{
		Items("nas.backup", ViaAPI):   "store nas.backup belongs to share backup; use the share",
		Items("vtl-lib", ViaCatalyst): "store vtl-lib belongs to tape library lib; use the library",
		Items("copy", ViaCatalyst):    "store copy is a replica",
		Items("nas.secret", ViaShare): `user "op" may not write to share secret`,
	} {
		err := p.Allow(op, ActionWrite, target)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", target, err, want)
		}
	}
	if err := p.Allow(op, ActionRead, Items("nowhere", ViaCatalyst)); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Errorf("unknown store: %v", err)
	}
	if err := (Policy{}).Allow(op, ActionRead, Items("open", ViaCatalyst)); !errors.Is(err, ErrForbidden) {
		t.Errorf("zero policy on items: %v", err)
	}
}

func TestShareAccess(t *testing.T) {
	p := Policy{}
	for _, tc := range []struct {
		role   Role
		listed Access
		want   Access
	}{
		{RoleAdmin, AccessReadWrite, AccessReadWrite},
		{RoleOperator, AccessReadWrite, AccessReadWrite},
		{RoleReadOnly, AccessReadWrite, AccessRead},
		{RoleReadOnly, AccessRead, AccessRead},
		{RoleAdmin, AccessNone, AccessNone},
		{RoleAdmin, "rw", AccessNone},
		{"", AccessReadWrite, AccessNone},
	} {
		if got := p.ShareAccess(User{Name: "u", Role: tc.role}, tc.listed); got != tc.want {
			t.Errorf("%s listed %s: %s, want %s", tc.role, tc.listed, got, tc.want)
		}
	}
}

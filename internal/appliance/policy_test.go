package appliance

import (
	"errors"
	"testing"
)

func TestPolicy(t *testing.T) {
	admin := User{Name: "root", Role: RoleAdmin}
	op := User{Name: "op", Role: RoleOperator}
	ro := User{Name: "ro", Role: RoleReadOnly}
	none := User{Name: "ghost"} // no valid role
	open := Store("open", nil)
	empty := Store("empty", []string{})
	closed := Store("closed", []string{"op", "ro"})
	const (
		allow  = ""
		role   = "role"   // refused: the role is too low
		client = "client" // refused: not one of the store's clients
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

		// A data protocol: roles and the client list (empty: everyone,
		// today's hole).
		{"anyone reads an open store", none, ActionRead, open, allow, ""},
		{"anyone reads an empty list", ro, ActionRead, empty, allow, ""},
		{"read-only writes an open store", ro, ActionWrite, open, role, RoleOperator},
		{"operator writes an open store", op, ActionWrite, open, allow, ""},
		{"client reads a closed store", ro, ActionRead, closed, allow, ""},
		{"client writes a closed store", op, ActionWrite, closed, allow, ""},
		{"admin not a client reads", admin, ActionRead, closed, client, ""},
		{"admin not a client writes", admin, ActionWrite, closed, client, ""},
		{"read-only client writes", ro, ActionWrite, closed, role, RoleOperator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Policy{}.Allow(tc.u, tc.action, tc.target)
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

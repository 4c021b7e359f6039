package appliance

import (
	"errors"
	"fmt"
	"slices"
)

// ErrForbidden is what Policy.Allow refuses with; the error is a *Denial.
var ErrForbidden = errors.New("appliance: forbidden")

// Action is what a user asks to do.
type Action string

// The actions.
const (
	// ActionRead sees: a store's items, the appliance's objects and status.
	ActionRead Action = "read"
	// ActionWrite changes: writes and deletes items, creates and changes
	// stores, shares and libraries, runs verify and housekeeping.
	ActionWrite Action = "write"
	// ActionDelete removes an appliance object: a store, a share, a
	// library, a cartridge, a mapping.
	ActionDelete Action = "delete"
	// ActionAdmin administers: users, settings, store options, who may
	// access a share or a store (share access lists, store client
	// lists), replication mappings and trusted sources, dedup domain keys.
	ActionAdmin Action = "admin"
)

// TargetKind is what kind of thing an action is on.
type TargetKind int

// The kinds of target.
const (
	// TargetAppliance is the appliance's objects through the management
	// API: stores, shares, libraries, replication, jobs, settings, users
	// as a whole. Not the items in stores: see TargetItems.
	TargetAppliance TargetKind = iota
	// TargetItems is a store's items, through a door (Via); the store's
	// owner decides who may (Owners).
	TargetItems
	// TargetUser is one user account, which its user may read and change.
	TargetUser
)

// Via is the door through which a user reaches a store's items.
type Via int

// The doors.
const (
	// ViaAPI: the management API's generic store routes
	// (/api/v1/stores/NAME/items).
	ViaAPI Via = iota
	// ViaCatalyst: the Catalyst protocol (and the CLI's --server).
	ViaCatalyst
	// ViaShare: the share itself (SMB).
	ViaShare
	// ViaLibrary: the tape library itself (iSCSI, /api/v1/libraries).
	ViaLibrary
	// ViaS3: the S3 front end (a bucket's store, BucketPrefix).
	ViaS3
)

func (v Via) String() string {
	switch v {
	case ViaCatalyst:
		return "catalyst"
	case ViaShare:
		return "the share"
	case ViaLibrary:
		return "the library"
	case ViaS3:
		return "S3"
	}
	return "the store API"
}

// Target is what an action is on. Make one with Appliance, Items or
// Account.
type Target struct {
	Kind TargetKind
	// Name is the store's or the user's name.
	Name string
	// Via is the door to a store's items (TargetItems).
	Via Via
}

// Appliance is the appliance's objects, through the management API.
func Appliance() Target { return Target{Kind: TargetAppliance} }

// Items is the items of the store called name, reached through via.
func Items(store string, via Via) Target {
	return Target{Kind: TargetItems, Name: store, Via: via}
}

// Account is the user account called name.
func Account(name string) Target { return Target{Kind: TargetUser, Name: name} }

// Denial is a refusal by the policy; errors.Is(d, ErrForbidden) holds.
// Front ends word it for their protocol from its fields, or use Reason.
type Denial struct {
	User   User
	Action Action
	Target Target
	// Owner is the store's owner, for a refusal on a store's items.
	Owner Owner
	// Need is the role the action needs, when the user's role was too
	// low; empty when something else refused.
	Need Role
	// Reason says what refused and, for a side door, the right way; empty
	// when Need says it all.
	Reason string
}

func (d *Denial) Error() string { return "appliance: forbidden: " + d.Explain() }

// Explain is the refusal without the package prefix, for a protocol's
// error message.
func (d *Denial) Explain() string {
	if d.Reason != "" {
		return d.Reason
	}
	return fmt.Sprintf("%s needs the %s role", d.Action, d.Need)
}

// Is makes errors.Is(d, ErrForbidden) hold.
func (d *Denial) Is(target error) bool { return target == ErrForbidden }

// Policy decides what a user may do: the one place every front end and
// REST route asks. Make it with NewPolicy; the zero value decides the
// appliance's objects and accounts and refuses every store's items (it
// knows no owners).
//
// The appliance's objects (TargetAppliance) and accounts (TargetUser):
//
//   - reading needs no role; writing needs the operator role; deleting an
//     appliance object and administering need the admin role;
//   - a user may read and change their own account (a password), an admin
//     anyone's.
//
// A store's items (TargetItems) go by the store's owner (Owners) and the
// door (Via); writing needs the operator role everywhere:
//
//   - a Catalyst store (OwnerStore): over Catalyst and the store API, by
//     its client list (empty: everyone);
//   - a share (OwnerShare): the share's access list capped by the role
//     (ShareAccess) decides reading, through any door; writing and
//     deleting only through the share (SMB): Catalyst and the store API
//     are refused "use the share";
//   - a tape library (OwnerLibrary): only through the library; besides,
//     an admin may read (list, stat, get) its cartridges' items over
//     Catalyst and the store API;
//   - a replica (OwnerReplica): read-only for everyone, by its client
//     list; only replication (which asks no policy) writes it.
type Policy struct {
	owners Owners
}

// NewPolicy makes the policy that asks owners who owns a store.
func NewPolicy(owners Owners) Policy { return Policy{owners: owners} }

// Allow returns nil if u may do action on target, or a *Denial. For a
// store's items it returns the Owners' error (chunkstore.ErrNotFound for
// a store that does not exist) when the owner cannot be known.
func (p Policy) Allow(u User, action Action, target Target) error {
	if target.Kind == TargetItems {
		return p.allowItems(u, action, target)
	}
	need := needs(action)
	if target.Kind == TargetUser && u.Name == target.Name && action != ActionDelete && action != ActionAdmin {
		need = "" // one's own account
	} else if target.Kind == TargetUser {
		need = RoleAdmin
	}
	if need != "" && !u.Role.Allows(need) {
		return &Denial{User: u, Action: action, Target: target, Need: need}
	}
	return nil
}

// ShareAccess is u's right on a share whose access list gives u listed:
// a read-only user never writes, a user without a valid role gets
// nothing. SMB tree connects (through sharefs) and the other doors to a
// share's items all decide by it.
func (p Policy) ShareAccess(u User, listed Access) Access {
	switch {
	case !u.Role.Valid() || listed.rank() == 0:
		return AccessNone
	case listed == AccessReadWrite && !u.Role.Allows(RoleOperator):
		return AccessRead
	}
	return listed
}

// allowItems decides on a store's items: any action but reading is a
// change (write or delete an item).
func (p Policy) allowItems(u User, action Action, t Target) error {
	write := action != ActionRead
	deny := func(o Owner, need Role, format string, args ...any) error {
		d := &Denial{User: u, Action: action, Target: t, Owner: o, Need: need}
		if format != "" {
			d.Reason = fmt.Sprintf(format, args...)
		}
		return d
	}
	if write && !u.Role.Allows(RoleOperator) {
		return deny(Owner{}, RoleOperator, "")
	}
	if p.owners == nil {
		return deny(Owner{}, "", "store %q: the appliance cannot tell who owns it", t.Name)
	}
	o, err := p.owners.Owner(t.Name, u.Name)
	if err != nil {
		return err
	}
	switch o.Kind {
	case OwnerShare:
		a := p.ShareAccess(u, o.Listed)
		switch {
		case write && t.Via != ViaShare:
			return deny(o, "", "store %s belongs to share %s; use the share (SMB) to change its files", o.Store, o.Name)
		case write && a != AccessReadWrite:
			return deny(o, "", "user %q may not write to share %s", u.Name, o.Name)
		case a == AccessNone:
			return deny(o, "", "user %q has no access to share %s (store %s)", u.Name, o.Name, o.Store)
		}
		return nil
	case OwnerLibrary:
		if t.Via == ViaLibrary || (!write && u.Role.Allows(RoleAdmin)) {
			return nil
		}
		return deny(o, "", "store %s belongs to tape library %s; use the library", o.Store, o.Name)
	case OwnerReplica:
		if write {
			return deny(o, "", "store %s is a replica: read-only, only replication writes it", o.Store)
		}
	}
	if t.Via == ViaShare || t.Via == ViaLibrary {
		return deny(o, "", "store %s is not reached through %s", o.Store, t.Via)
	}
	if len(o.Clients) > 0 && !slices.Contains(o.Clients, u.Name) {
		return deny(o, "", "user %q may not use store %s", u.Name, o.Store)
	}
	return nil
}

// needs is the role an action on the appliance's objects needs; "" for
// none.
func needs(a Action) Role {
	switch a {
	case ActionRead:
		return ""
	case ActionWrite:
		return RoleOperator
	}
	return RoleAdmin
}

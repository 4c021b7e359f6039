package main

import (
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// shareStores is what the owners need of the share manager (a
// *sharefs.Manager).
type shareStores interface {
	StoreAccess(store, user string) (share string, listed sharefs.Access, ok bool)
}

// owners tells the access policy who owns each store: a share's store by
// the share manager, with the share's access list; the others by the
// engine's store (a library's by its name, a replica, a Catalyst store
// with its client list). shares is set once the share manager is open,
// before any service starts; until then a share's store is nobody's.
type owners struct {
	eng    appliance.StoreLookup
	shares shareStores
}

// Owner implements appliance.Owners.
func (o *owners) Owner(store, user string) (appliance.Owner, error) {
	info, err := o.eng.Store(store)
	if err != nil {
		return appliance.Owner{}, err
	}
	if o.shares != nil {
		if share, listed, ok := o.shares.StoreAccess(store, user); ok {
			return appliance.Owner{Kind: appliance.OwnerShare, Store: store, Name: share, Listed: appliance.Access(listed)}, nil
		}
	}
	return appliance.EngineOwner(info), nil
}

// userLookup finds an appliance user (an *appliance.State).
type userLookup interface {
	User(name string) (appliance.User, error)
}

// sharePolicy is the share manager's sharefs.AccessPolicy: the appliance
// policy's decision for the user of that name, so that an SMB tree
// connect and the other doors to a share decide alike.
type sharePolicy struct {
	users  userLookup
	policy appliance.Policy
}

// ShareAccess implements sharefs.AccessPolicy; an unknown user gets none.
func (p sharePolicy) ShareAccess(name string, listed sharefs.Access) sharefs.Access {
	u, err := p.users.User(name)
	if err != nil {
		return sharefs.AccessNone
	}
	return sharefs.Access(p.policy.ShareAccess(u, appliance.Access(listed)))
}

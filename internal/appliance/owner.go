package appliance

import (
	"strings"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// The store name prefixes of the stores the appliance makes for its own
// objects: share S keeps its files in store "nas.S" (sharefs.StorePrefix),
// tape library L its cartridges in "vtl-L" (vtl/library). They are
// reserved: the management API creates no store of those names.
const (
	SharePrefix   = "nas."
	LibraryPrefix = "vtl-"
)

// Reserved reports whether a store name belongs to the appliance's shares
// or libraries (SharePrefix, LibraryPrefix).
func Reserved(store string) bool {
	return strings.HasPrefix(store, SharePrefix) || strings.HasPrefix(store, LibraryPrefix) || strings.HasPrefix(store, BucketPrefix)
}

// Access is a user's right on a share. The values are the words of the
// shares' configuration (sharefs.Access has the same).
type Access string

// The rights.
const (
	AccessNone      Access = "none"
	AccessRead      Access = "read-only"
	AccessReadWrite Access = "read-write"
)

// rank orders the rights; anything else ranks as none.
func (a Access) rank() int {
	switch a {
	case AccessRead:
		return 1
	case AccessReadWrite:
		return 2
	}
	return 0
}

// OwnerKind is what owns a store, which decides the doors to its items.
type OwnerKind int

// The owners.
const (
	// OwnerStore: a Catalyst store, reached over Catalyst and the generic
	// store routes; its client list says who may (empty: everyone).
	OwnerStore OwnerKind = iota
	// OwnerShare: an SMB share's store ("nas.S"), reached through the
	// share; its access list says who may.
	OwnerShare
	// OwnerLibrary: a tape library's store ("vtl-L"), reached through the
	// library (iSCSI, /api/v1/libraries).
	OwnerLibrary
	// OwnerReplica: a replica of another appliance's store, read-only to
	// everyone (its client list says who may read); only replication
	// writes it.
	OwnerReplica
)

func (k OwnerKind) String() string {
	switch k {
	case OwnerShare:
		return "share"
	case OwnerLibrary:
		return "tape library"
	case OwnerReplica:
		return "replica"
	}
	return "store"
}

// Owner is who owns a store, as the policy needs it.
type Owner struct {
	Kind OwnerKind
	// Store is the store's name.
	Store string
	// Name is the share's or library's name; the store's for the others.
	Name string
	// Clients is the store's client list (OwnerStore, OwnerReplica);
	// empty: everyone.
	Clients []string
	// Listed is what the share's access list gives the user asked about
	// (OwnerShare): their entry, else the share's default access. The
	// policy caps it by the user's role (Policy.ShareAccess).
	Listed Access
}

// Owners tells the policy who owns a store. cmd/backstop implements it
// over the share manager, the tape libraries and the engine; StoreOwners
// over the engine alone.
type Owners interface {
	// Owner is the owner of store, with what its list says of user. An
	// unknown store is an error that is chunkstore.ErrNotFound.
	Owner(store, user string) (Owner, error)
}

// StoreLookup is what StoreOwners needs of the engine (a
// *chunkstore.Engine).
type StoreLookup interface {
	Store(name string) (chunkstore.StoreInfo, error)
}

// StoreOwners resolves owners from the engine's stores alone: a store
// with a reserved prefix is its share's or library's, and since the
// share's access list is not known here it gives nobody access (fail
// closed); a replica is a replica; any other store is a Catalyst store
// with its client list. Front ends use it when nothing better is wired
// (tests, a Catalyst server on its own).
type StoreOwners struct {
	Stores StoreLookup
}

// Owner implements Owners.
func (o StoreOwners) Owner(store, _ string) (Owner, error) {
	info, err := o.Stores.Store(store)
	if err != nil {
		return Owner{}, err
	}
	return EngineOwner(info), nil
}

// EngineOwner is the owner of a store as its name and options tell:
// StoreOwners' rule, which richer resolvers fall back to.
func EngineOwner(info chunkstore.StoreInfo) Owner {
	switch {
	case info.Replica:
		return Owner{Kind: OwnerReplica, Store: info.Name, Name: info.Name, Clients: info.Clients}
	case strings.HasPrefix(info.Name, SharePrefix):
		return Owner{Kind: OwnerShare, Store: info.Name, Name: strings.TrimPrefix(info.Name, SharePrefix), Listed: AccessNone}
	case strings.HasPrefix(info.Name, LibraryPrefix):
		return Owner{Kind: OwnerLibrary, Store: info.Name, Name: strings.TrimPrefix(info.Name, LibraryPrefix)}
	}
	return Owner{Kind: OwnerStore, Store: info.Name, Name: info.Name, Clients: info.Clients}
}

package dedup

import (
	"fmt"
	"slices"
	"time"
)

// Transfer policies of a store.
const (
	// TransferLow is client-side dedup: clients chunk and fingerprint,
	// and send only the chunks the store's domain lacks.
	TransferLow = "low"
	// TransferHigh is server-side dedup: clients stream every byte.
	TransferHigh = "high"
)

// MaxImmutableDays bounds StoreOptions.ImmutableDays (about 100 years).
const MaxImmutableDays = 36500

// StoreOptions are a store's settings.
type StoreOptions struct {
	// Transfer is TransferLow or TransferHigh.
	Transfer string `json:"transfer"`
	// ImmutableDays makes every item undeletable and unreplaceable for
	// that many days after it was committed, for every caller. 0 is off.
	ImmutableDays int `json:"immutable_days"`
	// Clients are the users that may use the store over the network
	// (Catalyst); empty means every user.
	Clients []string `json:"clients"`
}

// Validate checks the options. Errors wrap ErrInvalid.
func (o StoreOptions) Validate() error {
	switch o.Transfer {
	case TransferLow, TransferHigh, "":
	default:
		return fmt.Errorf("%w: transfer policy %q (want %q or %q)", ErrInvalid, o.Transfer, TransferLow, TransferHigh)
	}
	if o.ImmutableDays < 0 || o.ImmutableDays > MaxImmutableDays {
		return fmt.Errorf("%w: immutability of %d days (want 0 to %d)", ErrInvalid, o.ImmutableDays, MaxImmutableDays)
	}
	for _, c := range o.Clients {
		if c == "" {
			return fmt.Errorf("%w: empty client name", ErrInvalid)
		}
	}
	return nil
}

// Allows reports whether user may use the store over the network.
func (o StoreOptions) Allows(user string) bool {
	return len(o.Clients) == 0 || slices.Contains(o.Clients, user)
}

// StoreInfo describes a store.
type StoreInfo struct {
	Name    string    `json:"name"`
	Domain  string    `json:"domain"`
	Created time.Time `json:"created"`
	// Replica: a read-only copy that only replication changes.
	Replica bool `json:"replica"`
	StoreOptions
}

// Item describes a committed item.
type Item struct {
	Store string `json:"store"`
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	// Chunks is the number of chunk references in its recipe.
	Chunks int64 `json:"chunks"`
	// NewBytes is what storing it added to the volumes when it was written
	// (compressed bytes of the chunks no earlier item had).
	NewBytes int64             `json:"new_bytes"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// ListOptions narrow a listing.
type ListOptions struct {
	// Prefix keeps the items whose names start with it.
	Prefix string
	// Meta keeps the items that have every one of these key/values.
	Meta map[string]string
}

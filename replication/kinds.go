package replication

import (
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Kinds sorts the replication service's errors into the appliance's
// kinds, so each front end maps them to its protocol's status.
func Kinds() []appliance.KindRule {
	return []appliance.KindRule{
		{Err: ErrNotFound, Kind: appliance.KindNotFound},
		{Err: ErrInvalid, Kind: appliance.KindInvalid},
		{Err: ErrExists, Kind: appliance.KindExists},
		{Err: ErrState, Kind: appliance.KindConflict},
		{Err: chunkstore.ErrReadOnly, Kind: appliance.KindImmutable},
	}
}

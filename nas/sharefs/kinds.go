package sharefs

import (
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas"
)

// Kinds sorts the share manager's errors into the appliance's kinds, so
// each front end maps them to its protocol's status without knowing the
// nas packages.
func Kinds() []appliance.KindRule {
	return []appliance.KindRule{
		{Err: nas.ErrNoShare, Kind: appliance.KindNotFound},
		{Err: ErrInvalidShare, Kind: appliance.KindInvalid},
		{Err: ErrShareExists, Kind: appliance.KindExists},
	}
}

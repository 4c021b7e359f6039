package library

import (
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/vtl/changer"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

// Kinds sorts the errors of the libraries, their changers and drives into
// the appliance's kinds, so each front end maps them to its protocol's
// status without knowing the VTL's packages.
func Kinds() []appliance.KindRule {
	return []appliance.KindRule{
		{Err: ErrNotFound, Kind: appliance.KindNotFound},
		{Err: ErrInvalid, Kind: appliance.KindInvalid},
		{Err: changer.ErrBadElement, Kind: appliance.KindInvalid},
		{Err: ErrExists, Kind: appliance.KindExists},
		{Err: ErrNotEmpty, Kind: appliance.KindConflict},
		{Err: ErrBusy, Kind: appliance.KindConflict},
		{Err: ErrNoSlot, Kind: appliance.KindConflict},
		{Err: ErrDegraded, Kind: appliance.KindConflict},
		{Err: changer.ErrSourceEmpty, Kind: appliance.KindConflict},
		{Err: changer.ErrDestFull, Kind: appliance.KindConflict},
		{Err: changer.ErrPrevented, Kind: appliance.KindConflict},
		{Err: tape.ErrPrevented, Kind: appliance.KindConflict},
		{Err: tape.ErrFull, Kind: appliance.KindConflict},
	}
}

// Generation is an LTO generation a cartridge can be made of.
type Generation = tape.Generation

// Generations lists the LTO generations the drives emulate.
func Generations() []Generation { return tape.Generations() }

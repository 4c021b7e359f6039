package catalyst

import "github.com/backstop-appliance/backstop/catalyst/catalystpb"

// Errors of the protocol itself, besides the engine's. They are
// catalystpb's, which the client shares, so that errors.Is matches them on
// both sides of the wire.
var (
	// ErrPermission reports a user that may not use a store or do a call.
	ErrPermission = catalystpb.ErrPermission
	// ErrAuth reports a missing, unknown or wrong user or password.
	ErrAuth = catalystpb.ErrAuth
	// ErrProtocol reports a message out of order or malformed.
	ErrProtocol = catalystpb.ErrProtocol
)

// toStatus turns an error into the status a handler returns.
func toStatus(err error) error { return catalystpb.ToStatus(err) }

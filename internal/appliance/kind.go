package appliance

import (
	"errors"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Kind is what sort of failure an error is, whichever package made it.
// Each front end maps kinds to its protocol's answers (web: an HTTP status
// and an error code), so that the engine's and the core's errors are
// sorted in one place.
type Kind int

// The kinds of failure.
const (
	KindUnknown         Kind = iota // not one of the below: an internal error
	KindNotFound                    // no such store, item, user...
	KindInvalid                     // a malformed or out-of-range request
	KindExists                      // the name is taken
	KindConflict                    // not now: not empty, the last admin, a run in the way
	KindImmutable                   // retention or a read-only replica forbids it
	KindBusy                        // housekeeping or verify holds the engine
	KindBlackout                    // a blackout window is in force
	KindUnauthenticated             // wrong user name or password
	KindForbidden                   // the policy refuses
	KindFull                        // no space left
)

// KindRule says that errors matching Err (errors.Is) are of Kind.
type KindRule struct {
	Err  error
	Kind Kind
}

// coreKinds sorts the engine's and the appliance's errors, in the order
// they are tried.
func coreKinds() []KindRule {
	return []KindRule{
		{chunkstore.ErrNotFound, KindNotFound},
		{ErrNotFound, KindNotFound},
		{chunkstore.ErrInvalid, KindInvalid},
		{ErrInvalid, KindInvalid},
		{chunkstore.ErrExists, KindExists},
		{ErrExists, KindExists},
		{chunkstore.ErrNotEmpty, KindConflict},
		{chunkstore.ErrBusy, KindConflict},
		{chunkstore.ErrImmutable, KindImmutable},
		{chunkstore.ErrReadOnly, KindImmutable},
		{ErrLastAdmin, KindConflict},
		{ErrJobBusy, KindConflict},
		{ErrNotRunning, KindConflict},
		{ErrNotCancellable, KindConflict},
		{ErrBlackout, KindBlackout},
		{chunkstore.ErrMaintenance, KindBusy},
		{ErrBadCredentials, KindUnauthenticated},
		{ErrForbidden, KindForbidden},
		{chunkstore.ErrFull, KindFull},
	}
}

// Classify sorts err: first by rules (a front end's own services' errors),
// then by the engine's and the appliance's errors. nil and an unknown error
// are KindUnknown.
func Classify(err error, rules ...KindRule) Kind {
	if k := Match(err, rules); k != KindUnknown {
		return k
	}
	return Match(err, coreKinds())
}

// Match is the Kind of the first of rules err matches, or KindUnknown.
func Match(err error, rules []KindRule) Kind {
	if err == nil {
		return KindUnknown
	}
	for _, r := range rules {
		if errors.Is(err, r.Err) {
			return r.Kind
		}
	}
	return KindUnknown
}

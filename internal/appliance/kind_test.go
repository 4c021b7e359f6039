package appliance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
)

func TestClassify(t *testing.T) {
	errMine := errors.New("svc: no such thing")
	for _, tc := range []struct {
		name  string
		err   error
		rules []KindRule
		want  Kind
	}{
		{"nil", nil, nil, KindUnknown},
		{"unknown", errors.New("disk on fire"), nil, KindUnknown},
		{"store not found, wrapped", fmt.Errorf("open x: %w", chunkstore.ErrNotFound), nil, KindNotFound},
		{"user not found", ErrNotFound, nil, KindNotFound},
		{"invalid", chunkstore.ErrInvalid, nil, KindInvalid},
		{"exists", ErrExists, nil, KindExists},
		{"not empty", chunkstore.ErrNotEmpty, nil, KindConflict},
		{"last admin", ErrLastAdmin, nil, KindConflict},
		{"immutable", chunkstore.ErrImmutable, nil, KindImmutable},
		{"read-only replica", chunkstore.ErrReadOnly, nil, KindImmutable},
		{"maintenance", chunkstore.ErrMaintenance, nil, KindBusy},
		{"job busy", refuse(ErrJobBusy, "verify is running"), nil, KindConflict},
		{"nothing to pause", refuse(ErrNotRunning, "no running verify"), nil, KindConflict},
		{"blackout", refuse(ErrBlackout, "a window"), nil, KindBlackout},
		{"bad password", ErrBadCredentials, nil, KindUnauthenticated},
		{"policy", Policy{}.Allow(User{Name: "ro", Role: RoleReadOnly}, ActionAdmin, Appliance()), nil, KindForbidden},
		{"full", chunkstore.ErrFull, nil, KindFull},
		{"a service's own", fmt.Errorf("get: %w", errMine), []KindRule{{errMine, KindNotFound}}, KindNotFound},
		{"rules first", chunkstore.ErrReadOnly, []KindRule{{chunkstore.ErrReadOnly, KindConflict}}, KindConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err, tc.rules...); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
	if Match(chunkstore.ErrNotFound, nil) != KindUnknown {
		t.Fatal("Match used the core's rules")
	}
}

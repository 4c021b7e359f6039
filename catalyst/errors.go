package catalyst

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Errors of the protocol itself, besides the engine's.
var (
	// ErrPermission reports a user that may not use a store or do a call.
	ErrPermission = errors.New("catalyst: permission denied")
	// ErrAuth reports a missing, unknown or wrong user or password.
	ErrAuth = errors.New("catalyst: bad user or password")
	// ErrProtocol reports a message out of order or malformed.
	ErrProtocol = errors.New("catalyst: protocol violation")
)

// errorDomain names the ErrorInfo details of this protocol's statuses.
const errorDomain = "backstop.catalyst"

// reasons map errors to the gRPC code and ErrorInfo reason that carry them
// over the wire, so that a client gets the same sentinel back.
var reasons = []struct {
	err    error
	code   codes.Code
	reason string
}{
	{chunkstore.ErrNotFound, codes.NotFound, "NOT_FOUND"},
	{chunkstore.ErrExists, codes.AlreadyExists, "EXISTS"},
	{chunkstore.ErrBusy, codes.Aborted, "BUSY"},
	{chunkstore.ErrImmutable, codes.FailedPrecondition, "IMMUTABLE"},
	{chunkstore.ErrMissingChunk, codes.FailedPrecondition, "MISSING_CHUNK"},
	{chunkstore.ErrFingerprint, codes.InvalidArgument, "FINGERPRINT"},
	{chunkstore.ErrInvalid, codes.InvalidArgument, "INVALID"},
	{chunkstore.ErrFull, codes.ResourceExhausted, "FULL"},
	{chunkstore.ErrCorrupt, codes.DataLoss, "CORRUPT"},
	{chunkstore.ErrNotEmpty, codes.FailedPrecondition, "NOT_EMPTY"},
	{chunkstore.ErrClosed, codes.Unavailable, "CLOSED"},
	{ErrPermission, codes.PermissionDenied, "PERMISSION"},
	{ErrAuth, codes.Unauthenticated, "AUTH"},
	{ErrProtocol, codes.InvalidArgument, "PROTOCOL"},
}

// toStatus turns an error into the status a handler returns.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			st, derr := status.New(r.code, err.Error()).WithDetails(&errdetails.ErrorInfo{Reason: r.reason, Domain: errorDomain})
			if derr != nil {
				return status.Error(r.code, err.Error())
			}
			return st.Err()
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// remoteError is an error a server returned; errors.Is matches the
// sentinel the server's error matched.
type remoteError struct {
	msg      string
	sentinel error
	code     codes.Code
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// GRPCStatus lets status.Code and status.FromError see the code.
func (e *remoteError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// FromStatus turns an error of a call into one that errors.Is matches
// against the chunkstore and catalyst sentinels, as on the server.
func FromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.Domain != errorDomain {
			continue
		}
		for _, r := range reasons {
			if r.reason == info.Reason {
				return &remoteError{msg: st.Message(), sentinel: r.err, code: st.Code()}
			}
		}
	}
	return &remoteError{msg: st.Code().String() + ": " + st.Message(), code: st.Code()}
}

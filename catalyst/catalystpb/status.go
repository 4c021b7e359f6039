package catalystpb

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/dedup"
)

// Errors of the protocol itself, besides the engine's (package dedup's).
// Package catalyst re-exports them under the same names.
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

// reason maps an error to the gRPC code and ErrorInfo reason that carry it
// over the wire, so that a client gets the same sentinel back.
type reason struct {
	err    error
	code   codes.Code
	reason string
}

// reasons returns the mapping, in the order ToStatus tries it.
func reasons() []reason {
	return []reason{
		{dedup.ErrNotFound, codes.NotFound, "NOT_FOUND"},
		{dedup.ErrExists, codes.AlreadyExists, "EXISTS"},
		{dedup.ErrBusy, codes.Aborted, "BUSY"},
		{dedup.ErrImmutable, codes.FailedPrecondition, "IMMUTABLE"},
		{dedup.ErrMissingChunk, codes.FailedPrecondition, "MISSING_CHUNK"},
		{dedup.ErrFingerprint, codes.InvalidArgument, "FINGERPRINT"},
		{dedup.ErrInvalid, codes.InvalidArgument, "INVALID"},
		{dedup.ErrFull, codes.ResourceExhausted, "FULL"},
		{dedup.ErrCorrupt, codes.DataLoss, "CORRUPT"},
		{dedup.ErrNotEmpty, codes.FailedPrecondition, "NOT_EMPTY"},
		{dedup.ErrClosed, codes.Unavailable, "CLOSED"},
		{ErrPermission, codes.PermissionDenied, "PERMISSION"},
		{ErrAuth, codes.Unauthenticated, "AUTH"},
		{ErrProtocol, codes.InvalidArgument, "PROTOCOL"},
	}
}

// ToStatus turns an error into the status a handler returns.
func ToStatus(err error) error {
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
	for _, r := range reasons() {
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
// against the dedup (chunkstore) and catalyst sentinels, as on the server.
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
		for _, r := range reasons() {
			if r.reason == info.Reason {
				return &remoteError{msg: st.Message(), sentinel: r.err, code: st.Code()}
			}
		}
	}
	if st.Code() == codes.Unauthenticated {
		// The server checks credentials before a call's stream exists
		// (grpc.InTapHandle), and gRPC sends such a refusal without
		// details: the code alone says it.
		return &remoteError{msg: st.Message(), sentinel: ErrAuth, code: st.Code()}
	}
	return &remoteError{msg: st.Code().String() + ": " + st.Message(), code: st.Code()}
}

// Package errcode maps the SDK's sentinel errors to gRPC status codes and back, so
// both ends of the plugin protocol agree on what a code means.
package errcode

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The sentinels package sdk re-exports.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("conflict")
	ErrInvalid   = errors.New("invalid")
)

// sentinels pairs each sentinel with its code; a code appears once.
var sentinels = []struct {
	err  error
	code codes.Code
}{
	{ErrNotFound, codes.NotFound},
	{ErrForbidden, codes.PermissionDenied},
	{ErrConflict, codes.FailedPrecondition},
	{ErrInvalid, codes.InvalidArgument},
}

// ToStatus turns err into a gRPC status error for the other end. A sentinel (or a
// context error) keeps its meaning and its message; anything else becomes Internal
// with a generic message, so internal details stay on this side. A status error
// passes through. ToStatus(nil) returns nil.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return status.Error(s.code, err.Error())
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, "internal error")
}

// FromStatus turns a gRPC status error from the other end into an error that
// errors.Is matches against the sentinels (Unauthenticated counts as Forbidden) and
// the context errors, prefixed with op. FromStatus(op, nil) returns nil; an error
// that is not a status is wrapped unchanged.
func FromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &opError{op: op, err: err}
	}
	var kind error
	switch st.Code() {
	case codes.Unauthenticated:
		kind = ErrForbidden
	case codes.DeadlineExceeded:
		kind = context.DeadlineExceeded
	case codes.Canceled:
		kind = context.Canceled
	default:
		for _, s := range sentinels {
			if s.code == st.Code() {
				kind = s.err
			}
		}
	}
	return &opError{op: op, err: err, kind: kind}
}

// opError is a failed remote call: its message names the operation and the remote
// status; errors.Is sees the sentinel kind and the status error.
type opError struct {
	op   string
	err  error
	kind error
}

func (e *opError) Error() string {
	if st, ok := status.FromError(e.err); ok {
		return e.op + ": " + st.Code().String() + ": " + st.Message()
	}
	return e.op + ": " + e.err.Error()
}

func (e *opError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// Package fault defines the kinds of error domain packages return, so the API maps
// each kind to one HTTP problem response in one place.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the client can do about it.
type Kind uint8

// The kinds. Internal is the zero value: an error of no known kind is the server's fault.
const (
	Internal        Kind = iota
	Invalid              // the request is malformed or fails validation
	Unauthenticated      // no valid credentials
	Forbidden            // known user, not allowed
	NotFound             // no such thing, or the caller may not know it exists
	Conflict             // the state does not allow this (duplicate, edited meanwhile)
	TooLarge             // the request body is over a limit
	RateLimited          // too many requests; RetryAfter says when to come back
	Unavailable          // a dependency is down; try again later
)

// Field names one invalid part of a request.
type Field struct {
	Name    string `json:"field"`
	Message string `json:"message"`
}

// Error is an error with a kind, a stable machine code and a detail safe to show clients.
type Error struct {
	Kind       Kind
	Code       string        // e.g. "not_found", "feature_disabled"; empty: the kind's default
	Detail     string        // shown to the client: never secrets, never internals
	Fields     []Field       // which inputs were invalid
	RetryAfter time.Duration // for RateLimited and Unavailable
	Err        error         // the cause, for logs and errors.Is; never shown
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Code
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind with a machine code and a client-safe detail.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Wrap returns an error of kind that keeps err as its cause.
func Wrap(kind Kind, code string, err error, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: err}
}

// Invalidf returns an Invalid error about one field.
func Invalidf(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: Invalid, Code: "validation_failed", Detail: field + ": " + msg, Fields: []Field{{field, msg}}}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Detail: fmt.Sprintf(format, args...)}
}

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Code: "forbidden", Detail: fmt.Sprintf(format, args...)}
}

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: "conflict", Detail: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// KindOf returns the kind of err; Internal if it carries none.
func KindOf(err error) Kind {
	if fe := As(err); fe != nil {
		return fe.Kind
	}
	return Internal
}

// Is reports whether err is of kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

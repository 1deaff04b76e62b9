package sdk

import "github.com/pleinhq/plein/sdk/internal/errcode"

// Errors the Host methods return, wrapped with the operation and the host's message;
// test them with errors.Is. A deadline or cancellation matches
// context.DeadlineExceeded or context.Canceled. A plugin may return them (wrapped)
// from Init and Decorate too.
var (
	// ErrNotFound: the key, blob or item does not exist, or the acting user may not
	// read it.
	ErrNotFound = errcode.ErrNotFound
	// ErrForbidden: the acting user (or the plugin, in the background) may not do
	// this, or the call handle has expired.
	ErrForbidden = errcode.ErrForbidden
	// ErrConflict: a compare-and-set found another version.
	ErrConflict = errcode.ErrConflict
	// ErrInvalid: a malformed argument, e.g. an empty or oversized key.
	ErrInvalid = errcode.ErrInvalid
)

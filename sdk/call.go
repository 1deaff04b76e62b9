package sdk

import (
	"context"
	"slices"
	"time"
)

// Call is the request a plugin is serving, as the host describes it: who is acting
// and until when. The host hands a fresh Call with every HTTP request and Decorate;
// it expires with the request.
type Call struct {
	// Handle identifies the call to the host. Host methods send it back; the host
	// resolves it itself, so a Call grants nothing by itself.
	Handle string
	// RequestID is the host's request id (also the X-Request-Id header).
	RequestID string
	// UserID is the acting user.
	UserID string
	// Roles are the acting user's global roles.
	Roles []string
	// Deadline is when the host stops waiting; the context's deadline is no later.
	Deadline time.Time
}

// HasRole reports whether the acting user holds role.
func (c Call) HasRole(role string) bool {
	return slices.Contains(c.Roles, role)
}

type callKey struct{}

// CallFrom returns the Call ctx carries. It returns the zero Call (no user, empty
// handle) for background work such as event handling, where host methods act as the
// plugin itself.
func CallFrom(ctx context.Context) Call {
	c, _ := ctx.Value(callKey{}).(Call)
	return c
}

// WithCall returns a copy of ctx carrying c. The SDK uses it for every request;
// plugins rarely need it (a handler's unit test, say). Work that outlives a request
// must not keep its context: start it from context.Background, acting as the plugin,
// because the host refuses an expired handle.
func WithCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

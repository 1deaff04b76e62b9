package pluginhost

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/sdk"
)

// Calls issues the short-lived handles the host hands a plugin with every request it
// forwards and every decoration it asks for, and resolves them when the plugin sends
// them back on its host calls. A handle is 128 random bits, bound to one plugin, and
// dead once its request ends or its deadline passes, so a plugin can neither act as
// another user nor outlive the request it serves. It is safe for concurrent use.
type Calls struct {
	now func() time.Time

	mu    sync.Mutex
	calls map[string]*Call
	begun int
}

// Call is what a handle stands for.
type Call struct {
	// Plugin is the only plugin that may use the handle.
	Plugin string
	// Principal is the acting user; Readable the spaces whose content they may read.
	Principal *authz.Principal
	Readable  authz.SpaceSet
	// SDK is the call as the plugin receives it.
	SDK sdk.Call
}

// reader returns whose eyes the call's item reads use.
func (c *Call) reader() Reader {
	return Reader{UserID: c.Principal.UserID, Roles: c.Principal.Roles, Spaces: c.Readable}
}

// NewCalls returns an empty registry on the clock now (nil: time.Now).
func NewCalls(now func() time.Time) *Calls {
	if now == nil {
		now = time.Now
	}
	return &Calls{now: now, calls: map[string]*Call{}}
}

// Begin issues a handle for plugin acting as p, who may read the spaces in readable,
// for the request requestID, valid until deadline or until end is called, whichever
// comes first. Call end when the request is over; calling it twice is harmless.
func (c *Calls) Begin(plugin string, p *authz.Principal, readable authz.SpaceSet, requestID string, deadline time.Time) (call sdk.Call, end func()) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	call = sdk.Call{Handle: hex.EncodeToString(b[:]), RequestID: requestID, UserID: p.UserID,
		Roles: slices.Clone(p.Roles), Deadline: deadline}
	c.mu.Lock()
	c.calls[call.Handle] = &Call{Plugin: plugin, Principal: p, Readable: readable, SDK: call}
	c.begun++
	if c.begun%1024 == 0 {
		c.sweepLocked()
	}
	c.mu.Unlock()
	return call, func() {
		c.mu.Lock()
		delete(c.calls, call.Handle)
		c.mu.Unlock()
	}
}

// sweepLocked drops handles past their deadline whose end never came.
func (c *Calls) sweepLocked() {
	now := c.now()
	for h, call := range c.calls {
		if !now.Before(call.SDK.Deadline) {
			delete(c.calls, h)
		}
	}
}

// Resolve returns the call behind handle if plugin may use it now. "" returns nil
// and no error: background work, acting as the plugin itself. An unknown, ended or
// expired handle, or one issued to another plugin, returns an error matching
// sdk.ErrForbidden.
func (c *Calls) Resolve(plugin, handle string) (*Call, error) {
	if handle == "" {
		return nil, nil
	}
	c.mu.Lock()
	call, ok := c.calls[handle]
	c.mu.Unlock()
	if !ok || call.Plugin != plugin || !c.now().Before(call.SDK.Deadline) {
		return nil, fmt.Errorf("%w: unknown or expired call handle", sdk.ErrForbidden)
	}
	return call, nil
}

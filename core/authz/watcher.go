package authz

import (
	"context"
	"sync"
	"time"

	"github.com/casbin/casbin/v2/persist"

	"github.com/pleinhq/plein/core/changes"
)

// watcher is Casbin's policy watcher on the change notifier: Update tells every replica
// (this one at once, the others over the bus) that the stored policy changed, and the
// callback reloads it.
type watcher struct {
	n *changes.Notifier

	mu sync.Mutex
	cb func(string)
}

var _ persist.Watcher = (*watcher)(nil)

func newWatcher(n *changes.Notifier) *watcher {
	w := &watcher{n: n}
	n.Handle(func(c changes.Change) {
		if c.Kind != changes.Policy && c.Kind != changes.All {
			return
		}
		w.mu.Lock()
		cb := w.cb
		w.mu.Unlock()
		if cb != nil {
			cb(string(c.Kind))
		}
	})
	return w
}

// SetUpdateCallback sets what runs when the policy changed anywhere.
func (w *watcher) SetUpdateCallback(cb func(string)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cb = cb
	return nil
}

// Update announces a policy change.
func (w *watcher) Update() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.n.Publish(ctx, changes.Change{Kind: changes.Policy})
	return nil
}

// Close stops callbacks.
func (w *watcher) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cb = nil
}

package pluginhost

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/pleinhq/plein/core/changes"
)

// FieldsChangeKind is the kind of the changes.Change that tells other replicas which
// of a plugin's counters and KV entries changed (ID: the plugin, Keys: the names;
// no keys: all of them), so their decoration caches forget them.
const FieldsChangeKind changes.Kind = "plugin-data"

// maxNoticeKeys caps the names one notice carries; past it, the notice says "all".
const maxNoticeKeys = 4096

// fieldNotices gathers the names of plugin data this replica changed while the
// previous notice was on its way, so that under load one broadcast per plugin
// carries many writes (as counters' group commit does) and writers never wait.
type fieldNotices struct {
	mu      sync.Mutex
	pending map[string][]string // plugin -> names; nil names: all of the plugin's data
	wake    chan struct{}
}

func newFieldNotices() *fieldNotices {
	return &fieldNotices{pending: map[string][]string{}, wake: make(chan struct{}, 1)}
}

func (f *fieldNotices) add(plugin string, names []string) {
	if len(names) == 0 {
		return
	}
	f.mu.Lock()
	cur, seen := f.pending[plugin]
	switch {
	case seen && cur == nil: // already all of them
	case len(cur)+len(names) > maxNoticeKeys:
		f.pending[plugin] = nil
	default:
		f.pending[plugin] = append(cur, names...)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take returns what gathered and starts a new batch.
func (f *fieldNotices) take() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.pending
	f.pending = map[string][]string{}
	return out
}

// run broadcasts what gathers, one notice per plugin and round, until ctx ends.
func (f *fieldNotices) run(ctx context.Context, n *changes.Notifier) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		batch := f.take()
		for _, plugin := range slices.Sorted(maps.Keys(batch)) {
			keys := batch[plugin]
			if keys != nil {
				slices.Sort(keys)
				keys = slices.Compact(keys)
			}
			n.Broadcast(ctx, changes.Change{Kind: FieldsChangeKind, ID: plugin, Keys: keys})
		}
	}
}

package pluginhost

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// Config configures a Host. DB, Blobs, Changes, Items and Authz are required; zero
// durations and limits take the defaults named.
type Config struct {
	// Dir is the plugin directory.
	Dir     string
	DB      *store.DB
	Blobs   blob.Store
	Changes *changes.Notifier
	Items   Items
	Authz   Authorizer
	Log     *slog.Logger
	// LogLevel is passed to plugins as PLEIN_LOG_LEVEL, the only variable of their
	// environment; "" passes nothing (they log at info).
	LogLevel string
	// Counters, if set, keeps plugin counters in Redis in front of SQL.
	Counters *RedisCounters

	// BodyLimit caps a request body forwarded to a plugin; 0 means 32 MiB.
	BodyLimit int64
	// RequestTimeout bounds a forwarded request, response body included; 0 means
	// 60 seconds.
	RequestTimeout time.Duration
	// DecorateTimeout bounds each plugin's Decorate; 0 means 50 ms.
	DecorateTimeout time.Duration
	// MaxBlobSize caps each plugin blob; 0 means 1 GiB.
	MaxBlobSize int64

	// StartTimeout bounds launching and configuring a plugin; 0 means 10 seconds.
	StartTimeout time.Duration
	// HealthInterval is how often a running plugin is asked whether it is healthy;
	// 0 means 5 seconds. Three failures in a row restart it.
	HealthInterval time.Duration
	// ExitPoll is how often the supervisor looks whether a process exited; 0 means
	// 250 ms.
	ExitPoll time.Duration
	// DrainTimeout is how long a stopping plugin may finish its requests before it
	// is killed; 0 means 5 seconds.
	DrainTimeout time.Duration
	// MaxCrashes crashes within CrashWindow mark a plugin failed; 0 means 3 within
	// 10 minutes.
	MaxCrashes  int
	CrashWindow time.Duration
	// Backoff is the wait before restart n (1, 2, ...) after a crash, and before
	// delivery attempt n after a failed one; nil means 1 s doubling up to 1 minute.
	Backoff func(n int) time.Duration
	// ResyncInterval is how often the desired state is read again from SQL, in case
	// a change notice was lost; 0 means 30 seconds.
	ResyncInterval time.Duration
	// EventPoll is how often the outbox is read for other replicas' events; 0 means
	// 1 second.
	EventPoll time.Duration
	// EventRetention is how long the outbox keeps events; 0 means 30 days.
	EventRetention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultBackoff waits 1 s before the first restart and doubles up to 1 minute.
func DefaultBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 {
		return time.Minute
	}
	return min(time.Second<<(n-1), time.Minute)
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = 32 << 20
	}
	def(&c.RequestTimeout, 60*time.Second)
	def(&c.DecorateTimeout, 50*time.Millisecond)
	if c.MaxBlobSize <= 0 {
		c.MaxBlobSize = 1 << 30
	}
	def(&c.StartTimeout, 10*time.Second)
	def(&c.HealthInterval, 5*time.Second)
	def(&c.ExitPoll, 250*time.Millisecond)
	def(&c.DrainTimeout, 5*time.Second)
	if c.MaxCrashes <= 0 {
		c.MaxCrashes = 3
	}
	def(&c.CrashWindow, 10*time.Minute)
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	def(&c.ResyncInterval, 30*time.Second)
	def(&c.EventPoll, time.Second)
	def(&c.EventRetention, 30*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Host runs the plugins of one replica: it keeps their processes in the state managers
// asked for, serves them the host API, forwards requests to them, asks them for
// decorations and delivers events to them. It is safe for concurrent use.
type Host struct {
	cfg   Config
	reg   *Registry
	calls *Calls
	disp  *dispatcher
	// fields keeps what declared decoration fields read; notices tell other
	// replicas what this one's plugins wrote.
	fields  *fieldCache
	notices *fieldNotices

	mu        sync.Mutex
	slots     map[string]*instance
	records   map[string]Record // desired state as last read, by name
	pending   map[string]bool   // names to reconcile
	resyncAll bool
	kick      chan struct{}

	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a host over cfg. It registers for change notices, so call it before
// cfg.Changes.Start; it starts nothing else until Start.
func New(cfg Config) (*Host, error) {
	if cfg.DB == nil || cfg.Blobs == nil || cfg.Changes == nil || cfg.Items == nil || cfg.Authz == nil {
		return nil, errors.New("pluginhost: DB, Blobs, Changes, Items and Authz are required")
	}
	cfg.defaults()
	h := &Host{
		cfg:     cfg,
		calls:   NewCalls(cfg.Now),
		slots:   map[string]*instance{},
		records: map[string]Record{},
		pending: map[string]bool{},
		kick:    make(chan struct{}, 1),
		fields:  newFieldCache(fieldCacheSize),
		notices: newFieldNotices(),
	}
	policies, _ := cfg.Authz.(PolicyAdder)
	h.reg = NewRegistry(RegistryConfig{DB: cfg.DB, Dir: cfg.Dir, Changes: cfg.Changes, Log: cfg.Log, Now: cfg.Now, Policies: policies})
	h.disp = newDispatcher(h)
	cfg.Changes.Handle(h.onChange)
	return h, nil
}

// Start scans the plugin directory, launches the enabled plugins (without waiting for
// them) and starts following changes, the event outbox and the periodic resync. It
// returns an error if the plugin directory or the state table cannot be read; Start
// twice is an error.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("pluginhost: started twice")
	}
	h.started = true
	h.mu.Unlock()
	recs, err := h.reg.Scan(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		h.cfg.Log.Info("plugin found", "plugin", rec.Name, "enabled", rec.Enabled, "refused", rec.Refused)
	}
	bg, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(4)
	go func() { defer h.wg.Done(); h.notices.run(bg, h.cfg.Changes) }()
	go func() { defer h.wg.Done(); h.reconcileLoop(bg, recs) }()
	go func() { defer h.wg.Done(); h.disp.run(bg) }()
	go func() { defer h.wg.Done(); h.maintain(bg) }()
	return nil
}

// Close stops every plugin (each may finish its requests for DrainTimeout, then is
// killed) and the host's loops, and gives up this replica's event leases. A host
// is not restarted after Close.
func (h *Host) Close() error {
	h.mu.Lock()
	cancel := h.cancel
	h.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	h.wg.Wait() // the reconcile loop starts nothing from here on
	var wg sync.WaitGroup
	for _, in := range h.instancesList() {
		wg.Add(1)
		go func() { defer wg.Done(); in.halt() }()
	}
	wg.Wait()
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	h.disp.release(ctx)
	return nil
}

// Wake makes this replica's dispatcher read the outbox now, after a transaction that
// called PublishTx has committed.
func (h *Host) Wake() { h.disp.poke() }

// Publish appends e to the outbox outside any transaction and wakes the dispatcher;
// see PublishTx.
func (h *Host) Publish(ctx context.Context, e sdk.Event) (sdk.Event, error) {
	if e.Time.IsZero() {
		e.Time = h.cfg.Now()
	}
	e, err := PublishTx(ctx, h.cfg.DB, e)
	if err == nil {
		h.disp.poke()
	}
	return e, err
}

// onChange hears desired-state changes from this replica and the others. It runs on
// the bus's goroutine, so it only queues the work.
func (h *Host) onChange(c changes.Change) {
	switch c.Kind {
	case ChangeKind:
		h.queue(c.ID)
	case FieldsChangeKind:
		if c.Keys == nil {
			h.fields.clear()
		} else {
			h.fields.forget(c.ID, c.Keys)
		}
	case changes.All:
		h.fields.clear()
		h.queue("")
	}
}

// dataChanged is what a plugin's host service calls once a write of its data has
// committed (and counters are in Redis): this replica's decorations forget the
// names at once, other replicas when the notice reaches them.
func (h *Host) dataChanged(plugin string, names []string) {
	h.fields.forget(plugin, names)
	h.notices.add(plugin, names)
}

// queue asks the reconcile loop to look at a plugin again ("": all of them).
func (h *Host) queue(name string) {
	h.mu.Lock()
	if name == "" {
		h.resyncAll = true
	} else {
		h.pending[name] = true
	}
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// reconcileLoop applies desired state, one plugin at a time, so lifecycle decisions
// never race.
func (h *Host) reconcileLoop(ctx context.Context, initial []Record) {
	h.applyAll(ctx, initial)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		h.mu.Lock()
		all, names := h.resyncAll, make([]string, 0, len(h.pending))
		for n := range h.pending {
			names = append(names, n)
		}
		h.resyncAll, h.pending = false, map[string]bool{}
		h.mu.Unlock()
		if all {
			recs, err := h.reg.Scan(ctx)
			if err != nil {
				if ctx.Err() == nil { // not the host stopping
					h.cfg.Log.Error("read plugin state", "err", err)
				}
				continue
			}
			h.applyAll(ctx, recs)
			continue
		}
		slices.Sort(names)
		for _, n := range names {
			rec, err := h.reg.Get(ctx, n)
			switch {
			case fault.Is(err, fault.NotFound):
				h.forget(n)
			case ctx.Err() != nil: // the host is stopping
			case err != nil:
				h.cfg.Log.Error("read plugin state", "plugin", n, "err", err)
			default:
				h.apply(ctx, rec)
			}
		}
	}
}

// applyAll applies every record and forgets plugins no longer listed.
func (h *Host) applyAll(ctx context.Context, recs []Record) {
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.Name] = true
		h.apply(ctx, rec)
	}
	h.mu.Lock()
	var gone []string
	for n := range h.records {
		if !seen[n] {
			gone = append(gone, n)
		}
	}
	h.mu.Unlock()
	for _, n := range gone {
		h.forget(n)
	}
}

// forget stops a plugin that no longer exists.
func (h *Host) forget(name string) {
	h.mu.Lock()
	in := h.slots[name]
	delete(h.slots, name)
	delete(h.records, name)
	h.mu.Unlock()
	if in != nil {
		in.halt()
	}
}

// apply brings one plugin to its desired state on this replica.
func (h *Host) apply(ctx context.Context, rec Record) {
	h.mu.Lock()
	h.records[rec.Name] = rec
	in := h.slots[rec.Name]
	if in == nil {
		in = newInstance(h, rec.Name)
		h.slots[rec.Name] = in
	}
	h.mu.Unlock()
	in.apply(ctx, rec)
}

// maintain resyncs the desired state and prunes the outbox and expired KV entries.
func (h *Host) maintain(ctx context.Context) {
	resync := time.NewTicker(h.cfg.ResyncInterval)
	defer resync.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync.C:
			h.queue("")
		case <-prune.C:
			h.pruneEvents(ctx)
			if _, err := h.cfg.DB.ExecContext(ctx, `DELETE FROM plugin_kv WHERE expires_at IS NOT NULL AND expires_at <= $1`,
				store.Micros(h.cfg.Now())); err != nil && ctx.Err() == nil {
				h.cfg.Log.Warn("delete expired plugin KV entries", "err", err)
			}
		}
	}
}

// lookup returns a plugin's desired state and its slot on this replica.
func (h *Host) lookup(name string) (Record, *instance, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.records[name]
	return rec, h.slots[name], ok
}

// instancesList returns every slot, sorted by name.
func (h *Host) instancesList() []*instance {
	h.mu.Lock()
	out := make([]*instance, 0, len(h.slots))
	for _, in := range h.slots {
		out = append(out, in)
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b *instance) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return out
}

// hostService returns the host API bound to the named plugin.
func (h *Host) hostService(name string, log *slog.Logger) pluginrpc.HostService {
	return NewHostService(HostServiceConfig{
		Plugin: name, DB: h.cfg.DB, Blobs: h.cfg.Blobs, Items: h.cfg.Items, Authz: h.cfg.Authz, Calls: h.calls,
		Counters: h.cfg.Counters, Changed: func(names []string) { h.dataChanged(name, names) },
		Publish: func(ctx context.Context, e sdk.Event) error {
			_, err := h.Publish(ctx, e)
			return err
		},
		Spaces:      func() []string { return h.spacesOf(name) },
		MaxBlobSize: h.cfg.MaxBlobSize, Now: h.cfg.Now, Log: log,
	})
}

// spacesOf returns the spaces a plugin is on now (nil: all), for its host service.
func (h *Host) spacesOf(name string) []string {
	rec, _, ok := h.lookup(name)
	if !ok {
		return []string{}
	}
	return rec.Spaces
}

// Approve approves the current binary of a plugin; see Registry.Approve.
func (h *Host) Approve(ctx context.Context, name string) error { return h.reg.Approve(ctx, name) }

// Reset clears a plugin's failure; see Registry.Reset.
func (h *Host) Reset(ctx context.Context, name string) error { return h.reg.Reset(ctx, name) }

// Dir is the plugin directory.
func (h *Host) Dir() string { return h.reg.Dir() }

// SetState changes a plugin's desired state; see Registry.SetState.
func (h *Host) SetState(ctx context.Context, name string, u StateUpdate) (Record, error) {
	return h.reg.SetState(ctx, name, u)
}

// Install installs a plugin binary; see Registry.Install.
func (h *Host) Install(ctx context.Context, src string) (sdk.Manifest, error) {
	return h.reg.Install(ctx, src)
}

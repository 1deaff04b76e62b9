// Package app is Plein's composition root: it builds every part from a Config and runs the server.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/api"
	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/cache"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/config"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/core/pluginhost/contentitems"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
)

// startTimeout bounds how long a backend may take to answer at start.
const startTimeout = 15 * time.Second

// App is a configured Plein core with its backends open.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	version string

	DB        *store.DB
	Blobs     blob.Store
	Redis     *redis.Client // nil in the embedded mode
	Cache     cache.Cache
	Bus       bus.Bus
	Limiter   ratelimit.Limiter
	Metrics   *prometheus.Registry
	Changes   *changes.Notifier
	Users     *identity.Service
	Spaces    *spaces.Service
	Content   *content.Service
	Documents *documents.Service
	Authz     *authz.Authorizer
	Plugins   *pluginhost.Host
	Server    *api.Server

	closers []func() error // in opening order; Close runs them backwards
}

// OpenDB opens and migrates the SQL database the configuration names.
func OpenDB(ctx context.Context, cfg config.Config) (*store.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	opts := store.Options{MaxConns: cfg.DBMaxConns}
	var db *store.DB
	var err error
	if cfg.IsPostgres() {
		db, err = store.OpenPostgres(ctx, cfg.DatabaseURL, opts)
	} else {
		db, err = store.OpenSQLite(ctx, cfg.SQLitePath(), opts)
	}
	if err != nil {
		return nil, fmt.Errorf("PLEIN_DATABASE_URL: %w", err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// New opens every backend the configuration names and builds the server. It fails,
// naming the setting, when a configured backend does not answer.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, version: version, Metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	if a.DB, err = OpenDB(ctx, cfg); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.DB.Close)

	if err := a.openBlobs(ctx); err != nil {
		return nil, err
	}
	if err := a.openRedis(ctx); err != nil {
		return nil, err
	}

	if err := a.openDomain(ctx); err != nil {
		return nil, err
	}

	a.Metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	a.Server = api.New(api.Config{
		Log:            log,
		Metrics:        a.Metrics,
		BodyLimit:      cfg.BodyLimit,
		Checks:         a.checks(),
		Version:        version,
		TrustedProxies: cfg.TrustedProxies,
		Identity:       a.Users,
		Spaces:         a.Spaces,
		Content:        a.Content,
		Documents:      a.Documents,
		Authz:          a.Authz,
		PresignTTL:     cfg.PresignTTL,
		Plugins:        a.Plugins,
	})
	return a, nil
}

// openDomain builds the domain services and starts following other replicas' changes.
func (a *App) openDomain(ctx context.Context) error {
	a.Changes = changes.New(a.Bus, a.log)
	a.Users = identity.New(a.DB, a.Limiter, a.Changes, a.log, identity.Options{TokenTTL: a.cfg.TokenTTL})
	if err := a.Users.EnsureBuiltinRoles(ctx); err != nil {
		return err
	}
	a.Spaces = spaces.New(a.DB, a.Changes)
	az, err := authz.New(ctx, a.DB, authzsource.New(a.Users, a.Spaces), a.Changes, a.log)
	if err != nil {
		return err
	}
	a.Authz = az
	a.Content = content.New(a.DB, content.Options{Language: a.cfg.SearchLanguage})
	if err := a.Content.CheckLanguage(ctx); err != nil {
		return fmt.Errorf("PLEIN_SEARCH_LANGUAGE: %w", err)
	}
	retention := a.cfg.TrashRetention
	if retention == 0 {
		retention = documents.PurgeAtOnce
	}
	a.Documents = documents.New(a.DB, a.Blobs, a.Content, a.log, documents.Options{MaxSize: a.cfg.UploadLimit,
		Retention: retention, Concurrency: a.cfg.UploadSlots})
	// The plugin host registers for changes, so it comes before the notifier starts.
	a.Plugins, err = pluginhost.New(pluginhost.Config{Dir: a.cfg.PluginDir, DB: a.DB, Blobs: a.Blobs, Changes: a.Changes,
		Items: contentitems.New(a.Content, a.DB), Authz: a.Authz, Log: a.log, LogLevel: a.cfg.LogLevel.String(),
		Counters: a.counters(), BodyLimit: a.cfg.UploadLimit})
	if err != nil {
		return fmt.Errorf("PLEIN_PLUGIN_DIR: %w", err)
	}
	stop, err := a.Changes.Start(ctx)
	if err != nil {
		return fmt.Errorf("follow changes: %w", err)
	}
	a.closers = append(a.closers, func() error { stop(); return nil })
	if err := a.Plugins.Start(ctx); err != nil {
		return fmt.Errorf("start plugins: %w", err)
	}
	a.closers = append(a.closers, a.Plugins.Close)
	return nil
}

func (a *App) openBlobs(ctx context.Context) error {
	if !a.cfg.S3.Enabled() {
		local, err := blob.NewLocal(a.cfg.BlobDir())
		if err != nil {
			return fmt.Errorf("PLEIN_DATA_DIR: %w", err)
		}
		if n, err := local.SweepTemp(time.Hour); err != nil {
			a.log.Warn("sweep blob uploads", "err", err)
		} else if n > 0 {
			a.log.Info("removed unfinished uploads", "count", n)
		}
		a.Blobs = local
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	s3, err := blob.NewS3(ctx, blob.S3Config{
		Endpoint:  a.cfg.S3.Endpoint,
		Bucket:    a.cfg.S3.Bucket,
		AccessKey: a.cfg.S3.AccessKey,
		SecretKey: a.cfg.S3.SecretKey,
		Region:    a.cfg.S3.Region,
		UseSSL:    a.cfg.S3.UseSSL,
	})
	if err != nil {
		return fmt.Errorf("PLEIN_S3_ENDPOINT: %w", err)
	}
	a.Blobs = s3
	return nil
}

func (a *App) openRedis(ctx context.Context) error {
	if a.cfg.RedisURL == "" {
		a.Cache = cache.NewMemory(100_000)
		mem := bus.NewMemory()
		a.Bus = mem
		a.closers = append(a.closers, mem.Close)
		a.Limiter = ratelimit.NewMemory()
		return nil
	}
	opts, err := redis.ParseURL(a.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("PLEIN_REDIS_URL: %w", err)
	}
	a.Redis = redis.NewClient(opts)
	a.closers = append(a.closers, a.Redis.Close)
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := a.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("PLEIN_REDIS_URL: redis at %s does not answer: %w", opts.Addr, err)
	}
	a.Cache = cache.NewRedis(a.Redis, a.cfg.RedisPrefix+"cache:")
	rb := bus.NewRedis(a.Redis, a.cfg.RedisPrefix+"bus:", a.log)
	a.Bus = rb
	a.closers = append(a.closers, rb.Close)
	a.Limiter = ratelimit.NewRedis(a.Redis, a.cfg.RedisPrefix+"rate:")
	return nil
}

// counters keeps plugin counters in Redis when it is configured; nil keeps them in
// SQL alone.
func (a *App) counters() *pluginhost.RedisCounters {
	if a.Redis == nil {
		return nil
	}
	return pluginhost.NewRedisCounters(a.Redis, a.cfg.RedisPrefix+"counters:", a.log)
}

// checks lists the backends /readyz asks: always SQL and blobs, Redis when configured.
func (a *App) checks() []api.Check {
	cs := []api.Check{
		{Name: "sql", Backend: string(a.DB.Dialect()), Ping: a.DB.Ping},
		{Name: "blob", Backend: a.Blobs.Backend(), Ping: a.Blobs.Ping},
	}
	if a.Redis != nil {
		cs = append(cs, api.Check{Name: "redis", Backend: "redis", Ping: func(ctx context.Context) error {
			return a.Redis.Ping(ctx).Err()
		}})
	}
	return cs
}

// Run serves on the configured address until ctx ends, then lets in-flight requests
// finish (up to the shutdown timeout) and returns. It returns nil after a clean stop.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("PLEIN_ADDR: %w", err)
	}
	a.log.Info("plein listening", "addr", ln.Addr().String(), "version", a.version, "config", a.cfg)
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- a.Server.Serve(ln) }()
	go a.sweepTokens(ctx)
	go a.sweepDocuments(ctx)
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight requests", "timeout", a.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Server.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// A shutdown that came before fasthttp began serving leaves it serving on: closing
	// the listener ends it either way.
	_ = ln.Close()
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// sweepTokens deletes expired tokens every hour until ctx ends.
func (a *App) sweepTokens(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.Users.SweepExpiredTokens(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("sweep expired tokens", "err", err)
		} else if n > 0 {
			a.log.Info("swept expired tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepDocuments cleans up unfinished uploads and purges the document trash every
// sweep interval until ctx ends.
func (a *App) sweepDocuments(ctx context.Context) {
	t := time.NewTicker(a.cfg.SweepInterval)
	defer t.Stop()
	for {
		res, err := a.Documents.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("sweep documents", "err", err)
		case res != (documents.SweepResult{}):
			a.log.Info("swept documents", "abandoned_uploads", res.Abandoned, "purged", res.Purged,
				"blobs_deleted", res.Deleted, "blobs_left", res.Left)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases every backend, newest first.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

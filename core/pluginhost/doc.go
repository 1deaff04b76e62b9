// Package pluginhost is the host side of Plein's plugins: it keeps the installed
// binaries and their desired state, runs each enabled plugin as its own process,
// serves it the host API, forwards its routes, asks it for decorations and delivers
// events to it. It owns authentication of plugin calls, authorization, namespaces
// and limits; plugins own their feature logic and trust only what it hands them.
//
// # Parts
//
//   - Registry (registry.go): the plugin directory and plugin_state. A binary seen
//     for the first time has its SHA-256 recorded and starts disabled; a binary that
//     differs from the recorded checksum is refused until Approve. Install copies a
//     binary in atomically and reads its manifest with "<binary> manifest".
//     SetState, Approve and Reset publish a changes.Change of ChangeKind, so every
//     replica applies them within a second.
//   - Supervisor (supervisor.go): per enabled plugin, pluginrpc.Launch with the
//     recorded checksum (go-plugin verifies it at every launch), AutoMTLS and an
//     environment holding only PLEIN_LOG_LEVEL; Describe, ServeHost, Configure; a
//     health check every HealthInterval; restarts with Backoff; MaxCrashes crashes
//     within CrashWindow mark it failed until Reset. States: starting, running,
//     stopped, failed, refused.
//   - Host API (hostapi*.go): a pluginrpc.HostService bound to one plugin's name:
//     KV, counters, blobs under "plugins/<name>/", items, authorization, events.
//     Calls issues the short-lived handles that make a host call act as a user.
//   - Router (router.go), decorations (decorate.go), features (features.go) and the
//     events outbox with its dispatcher (events.go).
//   - The field cache (fieldcache.go, fieldnotices.go): the declared decoration
//     fields lists read, forgotten by every host write after it commits, and on
//     other replicas through "plugin-data" change notices.
//
// # Wiring
//
// The composition root (core/app) builds one Host after the domain services and
// before starting the change notifier, and closes it before the database:
//
//	items := contentitems.New(a.Content, a.DB)
//	a.Plugins, err = pluginhost.New(pluginhost.Config{
//		Dir: cfg.PluginDir, DB: a.DB, Blobs: a.Blobs, Changes: a.Changes,
//		Items: items, Authz: a.Authz, Log: a.log, LogLevel: cfg.LogLevel.String(),
//		BodyLimit: cfg.UploadLimit,
//	})
//	// ... a.Changes.Start(ctx) as now, then:
//	err = a.Plugins.Start(ctx)
//	a.closers = append(a.closers, a.Plugins.Close)
//
// *authz.Authorizer satisfies Authorizer as it is. The API (core/api) then needs:
//
//	ANY  /api/v1/plugins/:name/*  -> Host.Route(ctx, Request{...}); copy Status and
//	                                 Header, stream Body (fasthttp closes it)
//	GET  /api/v1/features         -> Host.Features(principal, c.Query("space"))
//	GET  /api/v1/admin/plugins    -> Host.Plugins(ctx)          (plugins manage)
//	GET  /api/v1/admin/plugins/:n -> Host.Plugin(ctx, name)
//	PUT  /api/v1/admin/plugins/:n -> Host.SetState(ctx, name, StateUpdate{...})
//	POST /api/v1/admin/plugins/:n/approve -> Host.Approve; /reset -> Host.Reset
//
// Feed, search and item reads call Host.Decorate(ctx, principal, requestID, refs)
// once per page and put result[item.ID] into each item's Features. Core changes
// record events with PublishTx in the transaction that makes them (item.deleted,
// user.deleted, space.deleted), then call Host.Wake. "plein plugins install"
// uses NewRegistry(...).Install without a Host.
package pluginhost

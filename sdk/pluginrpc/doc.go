// Package pluginrpc is the host's side of the plugin protocol: it launches a plugin
// binary over go-plugin, calls its Plugin service through a typed Client, and serves
// a HostService (the core's storage, items and authorization, bound to one plugin) to
// it on the go-plugin broker. The core's plugin host uses it so it needs no protocol
// glue of its own; plugins never import it.
//
// The order for one plugin process:
//
//	p, err := pluginrpc.Launch(pluginrpc.Config{Path: bin, SHA256: sum, Logger: log})
//	c := p.Client()
//	m, err := c.Describe(ctx)                 // check m.Name, routes, events
//	id, err := c.ServeHost(svc, log)          // svc is bound to m.Name
//	err = c.Configure(ctx, settings, id)      // within 5 s of ServeHost
//	resp, err := c.HandleHTTP(ctx, req)       // per request
//	fields, err := c.Decorate(ctx, call, refs) // per feed page
//	handled, err := c.Deliver(ctx, events)    // per event batch
//	err = c.Health(ctx)
//	p.Kill()
package pluginrpc

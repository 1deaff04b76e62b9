// Package sdk is what a Plein plugin imports: a plugin is a Go type implementing
// Plugin (plus EventHandler and Decorator if it wants events and feed fields), and its
// main calls Serve. The plugin serves its routes with an ordinary net/http Handler and
// reaches the host (storage, items, authorization, events) through the Host it gets in
// Init.
//
// The host authenticates every request, checks the route's permission and hands the
// plugin the acting user; CallFrom returns it. Host methods act as that user when
// their context comes from a request, and as the plugin itself otherwise.
//
// Package plugintest runs a plugin against an in-memory host in a plain go test;
// package pluginrpc is the host's side of the protocol.
package sdk

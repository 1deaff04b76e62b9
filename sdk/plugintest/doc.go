// Package plugintest runs a plugin against an in-memory host in a plain go test. The
// plugin is served over an in-memory gRPC connection with the SDK's real host client
// and HTTP adapter and the host's real protocol code (package pluginrpc), so a test
// exercises what production runs, without processes:
//
//	h := plugintest.New(t, &myPlugin{}, plugintest.Options{})
//	id := h.AddItem(plugintest.Item{Item: sdk.Item{Title: "Budget 2026"}})
//	h.AllowRead("ann", id)
//	resp := h.Do(plugintest.User{ID: "ann"}, "PUT", "/items/"+id+"/like", nil)
//
// The harness does what the host does before a request reaches the plugin only in
// part: it refuses routes missing from the manifest, but it does not check route
// permissions, so the plugin's own checks are what a test sees.
package plugintest

//go:build race

package pluginrpc_test

// raceEnabled builds plugin binaries with -race too, so they reuse the test's
// build cache.
const raceEnabled = true

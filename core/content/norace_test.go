//go:build !race

package content_test

// raceEnabled is whether the race detector is on.
const raceEnabled = false

//go:build race

package content_test

// raceEnabled is whether the race detector is on: it makes SQLite (C translated to Go)
// some twenty times slower, so the heaviest tests do less under it.
const raceEnabled = true

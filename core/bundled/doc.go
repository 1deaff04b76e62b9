// Package bundled holds the integration tests of the plugins Plein ships in
// plugins/: each runs the core in-process with real HTTP on SQLite and PostgreSQL,
// and the plugins as real processes built from plugins/<name>.
package bundled

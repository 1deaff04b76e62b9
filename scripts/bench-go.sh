#!/usr/bin/env bash
# make bench-go: starts the local services and runs the Go benchmarks: authorization
# decisions and readable-space sets, and feed and search latency (p50/p99) at 100k items
# (PLEIN_BENCH_ITEMS to change) on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
eval "$(scripts/services.sh)"
go test -run '^$' -bench . -benchmem ./core/authz/
go test -run '^$' -bench . -benchtime "${PLEIN_BENCH_TIME:-200x}" -timeout 30m ./core/content/

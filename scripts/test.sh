#!/usr/bin/env bash
# make test: starts the local services, lints, runs the whole suite with -race, and
# prints how many store and blob tests ran on each backend.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

eval "$(scripts/services.sh)"

echo "== lint"
make -s lint

echo "== go test -race ./..."
log=$(mktemp -t plein-test.XXXXXX)
trap 'rm -f "$log"' EXIT
set +e
go test -race -count=1 -timeout 20m -v ./... >"$log" 2>&1
status=$?
set -e

if [ $status -ne 0 ]; then
	cat "$log"
	echo "== FAILED"
	grep -E '^(--- FAIL|FAIL|panic:)|^\s+--- FAIL' "$log" || true
	exit $status
fi

grep -E '^(ok|FAIL|\?)\s' "$log"
echo "== backends (passed subtests)"
for backend in sqlite postgres; do
	printf '  store/%-8s %s\n' "$backend" "$(grep -cE -- "--- PASS: .*/$backend " "$log" || true)"
done
printf '  blob/%-9s %s\n' local "$(grep -cE -- '--- PASS: TestLocalConformance/' "$log" || true)"
printf '  blob/%-9s %s\n' minio "$(grep -cE -- '--- PASS: TestS3Conformance/' "$log" || true)"
printf '  %-14s %s\n' redis "$(grep -cE -- '--- PASS: .*/redis ' "$log" || true)"
echo "== skipped"
grep -E -- '--- SKIP' "$log" || echo "  none"
echo "== PASS"

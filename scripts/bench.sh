#!/usr/bin/env bash
# make bench (full) and make bench-quick (quick): a load benchmark of Plein in production
# mode. Starts PostgreSQL, Redis and MinIO on loopback (scripts/services.sh), makes a
# fresh database (plein_bench, dropped first), a fresh Redis key prefix and a MinIO
# bucket, builds bin/plein and the plugins, seeds the demo organisation with every
# plugin on and grows it (plein seed scale), serves it on a free loopback port, and
# drives a mixed load with bin/plein-load: a warm-up, the measured mix, then some
# operations alone. Prints one table per phase and the processes' memory; the server
# is stopped on exit, whatever happens.
#
# Settings (environment), full / quick defaults:
#   PLEIN_BENCH_USERS      users added to the demo's 190        2000 / 300
#   PLEIN_BENCH_ITEMS      items added                          100000 / 5000
#   PLEIN_BENCH_LIKES      likes added                          1000000 / 30000
#   PLEIN_BENCH_DOCUMENTS  documents added (256 KiB each)       20 / 6
#   PLEIN_BENCH_CLIENTS    concurrent clients                   50
#   PLEIN_BENCH_LOGINS     distinct users logged in             200 / 100
#   PLEIN_BENCH_WARMUP     unmeasured mix first                 20s / 3s
#   PLEIN_BENCH_DURATION   the measured mix                     90s / 15s
#   PLEIN_BENCH_ISOLATE    operations then measured alone       read,like,feed / read,like
#   PLEIN_BENCH_ISOLATE_DURATION  each of those                 20s / 6s
#   PLEIN_BENCH_MIX        operations and weights               plein-load's default
#   PLEIN_BENCH_DB         database name (dropped and made)     plein_bench
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

mode=${1:-full}
case $mode in
full) d_users=2000 d_items=100000 d_likes=1000000 d_docs=20 d_logins=200 d_warmup=20s d_duration=90s d_isolate=read,like,feed d_isolate_for=20s ;;
quick) d_users=300 d_items=5000 d_likes=30000 d_docs=6 d_logins=100 d_warmup=3s d_duration=15s d_isolate=read,like d_isolate_for=6s ;;
*) echo "usage: scripts/bench.sh full|quick" >&2; exit 2 ;;
esac
users=${PLEIN_BENCH_USERS:-$d_users}
items=${PLEIN_BENCH_ITEMS:-$d_items}
likes=${PLEIN_BENCH_LIKES:-$d_likes}
docs=${PLEIN_BENCH_DOCUMENTS:-$d_docs}
clients=${PLEIN_BENCH_CLIENTS:-50}
logins=${PLEIN_BENCH_LOGINS:-$d_logins}
warmup=${PLEIN_BENCH_WARMUP:-$d_warmup}
duration=${PLEIN_BENCH_DURATION:-$d_duration}
isolate=${PLEIN_BENCH_ISOLATE-$d_isolate}
isolate_for=${PLEIN_BENCH_ISOLATE_DURATION:-$d_isolate_for}
mix=${PLEIN_BENCH_MIX:-}
dbname=${PLEIN_BENCH_DB:-plein_bench}
[[ $dbname =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bench: PLEIN_BENCH_DB=$dbname: want lower-case letters, digits and _" >&2; exit 2; }

started=$(date +%s)
log() { echo "bench: $*" >&2; }
elapsed() { echo "$(($(date +%s) - started))s"; }

eval "$(scripts/services.sh)"

work=$(mktemp -d -t plein-bench.XXXXXX)
server_pid=
prefix="plein-bench-$(od -An -N4 -tx4 /dev/urandom | tr -d ' '):"
cleanup() {
	local status=$?
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	redis-cli -h 127.0.0.1 -p "${redis_port:-6379}" --scan --pattern "${prefix}*" 2>/dev/null |
		xargs -r -n 500 redis-cli -h 127.0.0.1 -p "${redis_port:-6379}" del >/dev/null 2>&1 || true
	rm -rf "$work"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh database on the services' PostgreSQL.
pg_server=${PLEIN_TEST_POSTGRES_URL%%\?*}
pg_server=${pg_server%/*}
pg_admin="$pg_server/postgres?sslmode=disable"
psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >&2
psql "$pg_admin" -qc "CREATE DATABASE $dbname" >&2
redis_port=$(sed -E 's#.*:([0-9]+)(/.*)?$#\1#' <<<"$PLEIN_TEST_REDIS_URL")

port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { log "no free port"; exit 1; }

export PLEIN_DATABASE_URL="$pg_server/$dbname?sslmode=disable"
export PLEIN_REDIS_URL=$PLEIN_TEST_REDIS_URL PLEIN_REDIS_PREFIX=$prefix
export PLEIN_S3_ENDPOINT=$PLEIN_TEST_S3_ENDPOINT PLEIN_S3_ACCESS_KEY=$PLEIN_TEST_S3_ACCESS_KEY PLEIN_S3_SECRET_KEY=$PLEIN_TEST_S3_SECRET_KEY
export PLEIN_S3_BUCKET=plein-bench PLEIN_ADDR=127.0.0.1:$port PLEIN_LOG_LEVEL=warn PLEIN_DATA_DIR=$work/data
unset PLEIN_PLUGIN_DIR # bin/plugins, beside bin/plein

log "build ($(elapsed))"
make -s build >&2
go build -o bin/plein-load ./core/cmd/plein-load

log "seed the demo organisation, every plugin on ($(elapsed))"
bin/plein seed demo --enable-plugins >"$work/seed-demo.log" 2>&1 || { cat "$work/seed-demo.log" >&2; exit 1; }
log "grow it: $users users, $items items, $likes likes, $docs documents ($(elapsed))"
seed_start=$(date +%s%N)
bin/plein seed scale --users "$users" --items "$items" --likes "$likes" --documents "$docs" --manifest "$work/manifest.json" >&2
seed_ms=$((($(date +%s%N) - seed_start) / 1000000))

log "serve on 127.0.0.1:$port ($(elapsed))"
bin/plein serve 2>"$work/serve.log" &
server_pid=$!
ready=
for _ in $(seq 600); do
	if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || { log "the server did not become ready"; cat "$work/serve.log" >&2; exit 1; }
# The plugins start beside the server: wait until every one runs, so none answers 503.
token=$(curl -fsS "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"email\":\"manager@demo.plein\",\"password\":\"${PLEIN_DEMO_PASSWORD:-plein-demo}\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
for _ in $(seq 300); do
	states=$(curl -fsS "http://127.0.0.1:$port/api/v1/admin/plugins" -H "Authorization: Bearer $token" | grep -o '"state":"[a-z]*"' || true)
	if [ -n "$states" ] && ! grep -qv '"state":"running"' <<<"$states"; then break; fi
	sleep 0.1
done
log "plugins: $(tr '\n' ' ' <<<"$states")"

echo "== make bench ($mode), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: demo + $users users, $items items, $likes likes, $docs documents on PostgreSQL $(psql "$pg_admin" -Atc 'show server_version' | cut -d' ' -f1); grown in $((seed_ms / 1000)).$((seed_ms % 1000 / 100)) s"
args=(-url "http://127.0.0.1:$port" -manifest "$work/manifest.json" -pid "$server_pid" -c "$clients" -users "$logins"
	-warmup "$warmup" -duration "$duration")
[ -n "$isolate" ] && args+=(-isolate "$isolate" -isolate-duration "$isolate_for")
[ -n "$mix" ] && args+=(-mix "$mix")
# CPU time of the services, which are not the server's children, around the load: clock
# ticks (1/100 s) from /proc/<pid>/stat, utime + stime (fields 14 and 15).
cpu_of() {
	local pid t=0
	for pid in $(pgrep -x "$1"); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
services=(postgres redis-server minio)
declare -A cpu_before
for s in "${services[@]}"; do cpu_before[$s]=$(cpu_of "$s"); done
# The whole machine's busy ticks (/proc/stat: all but idle and iowait), and how many
# connections PostgreSQL opened for the database (a pool should open few).
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
pg_sessions() { psql "$pg_admin" -Atc "SELECT sessions FROM pg_stat_database WHERE datname = '$dbname'" 2>/dev/null || echo 0; }
busy_before=$(busy)
sessions_before=$(pg_sessions)
load_start=$(date +%s)
set +e
bin/plein-load "${args[@]}"
load_status=$?
set -e
load_secs=$(($(date +%s) - load_start))
busy_after=$(busy)
sessions_after=$(pg_sessions)
echo
echo "services' CPU time during plein-load ($load_secs s, its setup included; processes that exited are not counted):"
for s in "${services[@]}"; do
	used=$(($(cpu_of "$s") - ${cpu_before[$s]}))
	echo "  $s: $(awk -v u="$used" -v t="$load_secs" 'BEGIN {printf "%.1f s (%.2f cores)", u / 100, (t > 0 ? u / 100 / t : 0)}')"
done
echo "  the whole machine: $(awk -v u="$((busy_after - busy_before))" -v t="$load_secs" -v n="$(nproc)" \
	'BEGIN {printf "%.1f s busy (%.2f of %d cores)", u / 100, (t > 0 ? u / 100 / t : 0), n}')"
echo "  PostgreSQL connections opened to $dbname: $((sessions_after - sessions_before))"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); total $(elapsed)"
if [ -s "$work/serve.log" ]; then
	# Kept past the cleanup, for the causes of errors.
	kept=${TMPDIR:-/tmp}/plein-bench-serve.log
	cp "$work/serve.log" "$kept"
	echo "server log: $(grep -c '"level":"WARN"' "$kept") warnings, $(grep -c '"level":"ERROR"' "$kept") errors (kept in $kept); by message:"
	sed -nE 's/.*"level":"(WARN|ERROR)","msg":"([^"]*)".*"err":"([^"]{0,80}).*/  \1 \2: \3/p' "$kept" | sort | uniq -c | sort -rn | head -8 || true
fi
case $load_status in
0) ;;
3) log "some requests failed (see the errors above)"; exit 1 ;;
*) exit "$load_status" ;;
esac

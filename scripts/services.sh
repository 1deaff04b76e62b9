#!/usr/bin/env bash
# Starts PostgreSQL, Redis and MinIO on loopback for Plein's tests and benchmarks,
# installing what is missing (apt-get, go install). Idempotent and quick when they run.
#
# Prints `export NAME=value` lines for the test environment on stdout; progress goes
# to stderr. Use it as:  eval "$(scripts/services.sh)"
#
# Settings (environment): PLEIN_SERVICES_DIR (state, default /var/tmp/plein-services),
# PLEIN_PG_PORT (5432), PLEIN_REDIS_PORT (6379), PLEIN_MINIO_PORT (59000).
set -euo pipefail

STATE=${PLEIN_SERVICES_DIR:-/var/tmp/plein-services}
PG_PORT=${PLEIN_PG_PORT:-5432}
OWN_PG_PORT=55432 # our own cluster, used when nothing trust-authenticated answers on PG_PORT
REDIS_PORT=${PLEIN_REDIS_PORT:-6379}
MINIO_PORT=${PLEIN_MINIO_PORT:-59000}
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c # github.com/minio/minio, pinned
PG_DB=plein_test

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }
mkdir -p "$STATE"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
	command -v apt-get >/dev/null || die "need $* but apt-get is missing; install it by hand"
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		as_root apt-get update -qq >&2
		apt_updated=1
	fi
	log "apt-get install $*"
	# Packages' own service starts may fail without systemd; we start what we need below.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || true
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local secs=$1 what=$2
	shift 2
	for _ in $(seq $((secs * 10))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	die "$what did not come up in ${secs}s"
}

# --- PostgreSQL -----------------------------------------------------------------------
pg_trusts() { psql "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable&connect_timeout=3" -Atqc 'select 1' >/dev/null 2>&1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

start_own_postgres() {
	local bin dir=$STATE/pg run_as=()
	bin=$(pg_bin)
	[ -n "$bin" ] || { apt_install postgresql postgresql-client; bin=$(pg_bin); }
	[ -n "$bin" ] || die "postgresql did not install"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
		run_as=(runuser -u postgres --)
	fi
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		log "initdb $dir/data"
		"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >&2
	fi
	log "starting PostgreSQL on 127.0.0.1:$OWN_PG_PORT"
	"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start \
		-o "-p $OWN_PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c fsync=off" >&2
}

command -v psql >/dev/null || apt_install postgresql-client
if pg_trusts "$PG_PORT"; then
	port=$PG_PORT
elif pg_trusts "$OWN_PG_PORT"; then
	port=$OWN_PG_PORT
else
	start_own_postgres
	port=$OWN_PG_PORT
	wait_for 30 PostgreSQL pg_trusts "$port"
fi
admin="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
if [ "$(psql "$admin" -Atqc "select 1 from pg_database where datname='$PG_DB'")" != 1 ]; then
	psql "$admin" -qc "create database $PG_DB" >&2
fi
log "PostgreSQL ready on 127.0.0.1:$port (database $PG_DB)"

# --- Redis ----------------------------------------------------------------------------
command -v redis-server >/dev/null || apt_install redis-server
command -v redis-server >/dev/null || die "redis-server did not install"
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
if ! redis_up; then
	mkdir -p "$STATE/redis"
	log "starting Redis on 127.0.0.1:$REDIS_PORT"
	redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
		--dir "$STATE/redis" --logfile "$STATE/redis/redis.log" >&2
	wait_for 10 Redis redis_up
fi
log "Redis ready on 127.0.0.1:$REDIS_PORT"

# --- MinIO ----------------------------------------------------------------------------
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin=$(go env GOPATH)/bin
minio=$gobin/minio
if [ ! -x "$minio" ] || ! go version -m "$minio" 2>/dev/null | grep -q "$MINIO_VERSION"; then
	log "go install github.com/minio/minio@$MINIO_VERSION (a few minutes, once; cached in $gobin)"
	GOTOOLCHAIN=local go install "github.com/minio/minio@$MINIO_VERSION" >&2
fi
creds=$STATE/minio/credentials
mkdir -p "$STATE/minio/data"
if [ ! -s "$creds" ]; then
	# Random per machine: a throwaway test server, but still no secret in the repository.
	umask 077
	printf 'MINIO_ROOT_USER=plein%s\nMINIO_ROOT_PASSWORD=%s\n' \
		"$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')" "$(od -An -N16 -tx4 /dev/urandom | tr -d ' ')" >"$creds"
	umask 022
fi
# shellcheck disable=SC1090
. "$creds"
minio_up() { curl -fsS "http://127.0.0.1:$MINIO_PORT/minio/health/live" >/dev/null 2>&1; }
if ! minio_up; then
	log "starting MinIO on 127.0.0.1:$MINIO_PORT"
	MINIO_ROOT_USER=$MINIO_ROOT_USER MINIO_ROOT_PASSWORD=$MINIO_ROOT_PASSWORD MINIO_BROWSER=off \
		nohup "$minio" server --quiet --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$((MINIO_PORT + 1))" "$STATE/minio/data" \
		>"$STATE/minio/minio.log" 2>&1 </dev/null &
	wait_for 60 MinIO minio_up
fi
log "MinIO ready on 127.0.0.1:$MINIO_PORT"

cat <<EOF
export PLEIN_TEST_REQUIRE_SERVICES=1
export PLEIN_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/$PG_DB?sslmode=disable'
export PLEIN_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'
export PLEIN_TEST_REDIS_SERVER='$(command -v redis-server)'
export PLEIN_TEST_S3_ENDPOINT='127.0.0.1:$MINIO_PORT'
export PLEIN_TEST_S3_ACCESS_KEY='$MINIO_ROOT_USER'
export PLEIN_TEST_S3_SECRET_KEY='$MINIO_ROOT_PASSWORD'
export PLEIN_TEST_MINIO_SERVER='$minio'
EOF

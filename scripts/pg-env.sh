#!/bin/sh
# pg-env.sh — a private PostgreSQL cluster for the storage-pg suites and the storage bench.
#
#   scripts/pg-env.sh start        prints `export VAR=…` lines to eval; starts a fresh cluster
#   scripts/pg-env.sh stop <dir>   stops the cluster `start` made in <dir> and removes <dir>
#   scripts/pg-env.sh run CMD…     start, run CMD with the variables set, stop; exits with CMD's status
#   scripts/pg-env.sh down <dir>   stops the server of that cluster (fast: clients are disconnected), keeps its data
#   scripts/pg-env.sh up <dir>     starts it again on the same socket (a restart under load: down, then up)
#
# Debian's postgresql-15: initdb into a temporary folder (trust authentication), pg_ctl start
# with a unix socket in that folder and no TCP at all. initdb and postgres refuse to run as
# root, so as root both run as the `postgres` user on a folder it owns.
# Exports PROMOBOT_TEST_PG (a libpq URI: postgresql:///postgres?host=<dir>) and PROMOBOT_PG_ENV_DIR.
# PROMOBOT_SKIP_PG=1 disables the storage-pg suites; this script then says so and starts nothing.
set -u

log() { echo "pg-env: $*" >&2; }
. "$(dirname "$0")/engine-lib.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# as_pg CMD…: runs CMD as the postgres user when we are root, else as ourselves.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

do_stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	[ -f "$dir/promobot-pg-env" ] || { log "refusing to clean $dir: not made by pg-env.sh"; return 1; }
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			log "pg_ctl stop failed; see $dir/pg.log"
	fi
	rm -rf "$dir"
}

# Starts the server of the cluster in $1 and waits until it accepts connections.
do_up() {
	dir=$1
	# Unix socket in $dir only; fsync off: a test cluster is thrown away, never recovered.
	if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
		-o "-c listen_addresses='' -k $dir -c fsync=off -c max_connections=200" start >/dev/null 2>&1; then
		log "pg_ctl start failed; last log lines:"
		tail -n 20 "$dir/pg.log" >&2
		return 1
	fi
	if ! wait_for 30 "$PG_BIN/pg_isready" -q -h "$dir" -U postgres; then
		log "the cluster did not become ready within 30 s"
		return 1
	fi
}

# Stops the server of the cluster in $1 (fast shutdown), keeping the data for do_up.
do_down() {
	dir=$1
	[ -f "$dir/promobot-pg-env" ] || { log "refusing: $dir was not made by pg-env.sh"; return 1; }
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || {
		log "pg_ctl stop failed; see $dir/pg.log"
		return 1
	}
}

do_start() {
	if [ "${PROMOBOT_SKIP_PG:-}" = 1 ]; then
		log "PROMOBOT_SKIP_PG=1: the storage-pg suites are DISABLED (not run, not counted)"
		echo "export PROMOBOT_SKIP_PG=1"
		return 0
	fi
	[ -x "$PG_BIN/initdb" ] || {
		log "$PG_BIN/initdb not found: install Debian's postgresql-15 (scripts/deps.sh test),"
		log "or set PROMOBOT_SKIP_PG=1 to disable the storage-pg suites"
		return 1
	}
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		log "running as root but there is no postgres user to run the cluster as"
		return 1
	fi
	dir=$(mktemp -d /tmp/promobot-pg.XXXXXX) || return 1
	touch "$dir/promobot-pg-env"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	if ! as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
		log "initdb failed; last lines:"
		tail -n 20 "$dir/initdb.log" >&2
		do_stop "$dir"
		return 1
	fi
	if ! do_up "$dir"; then
		do_stop "$dir"
		return 1
	fi
	log "private PostgreSQL on the unix socket in $dir"
	echo "export PROMOBOT_TEST_PG='postgresql:///postgres?host=$dir&user=postgres'"
	echo "export PROMOBOT_PG_ENV_DIR=$dir"
}

case "${1:-}" in
down) [ $# -eq 2 ] || { log "usage: $0 down <dir>"; exit 2; }; do_down "$2" ;;
up) [ $# -eq 2 ] || { log "usage: $0 up <dir>"; exit 2; }; [ -f "$2/promobot-pg-env" ] && do_up "$2" ;;
*) env_main PROMOBOT_PG_ENV_DIR "start | stop <dir> | down <dir> | up <dir> | run CMD…" "$@" ;;
esac

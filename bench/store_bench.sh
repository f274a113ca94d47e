#!/bin/sh
# store_bench.sh — storage write transactions per second and p99 on each backend, one line each.
# usage: bench/store_bench.sh [TRANSACTIONS, default 5000]   (BUILD=/tmp/build-bench to choose the dir)
# Each transaction is what a command does most: BEGIN (the write lock), a compare-and-swap
# transition of a promotion, its audit event, COMMIT. SQLite: a file in a temporary folder
# (WAL, synchronous=NORMAL, as the bot runs it). PostgreSQL: a private cluster on a unix socket
# (scripts/pg-env.sh: fsync=off there, so the figure is the protocol and locking cost, not a disk's).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-/tmp/build-bench}
n=${1:-5000}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" bench/store_bench >/dev/null
tmp=$(mktemp -d /tmp/promobot-store-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/store_bench" sqlite "$tmp/bench.db" "$n"
PROMOBOT_SKIP_PG=0 "$src/scripts/pg-env.sh" run sh -c '"$0" postgres "$PROMOBOT_TEST_PG" "$1"' \
	"$build/bench/store_bench" "$n"

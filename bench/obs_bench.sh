#!/bin/sh
# obs_bench.sh — builds an optimised (non-sanitizer) tree and runs the observation benchmark.
# usage: bench/obs_bench.sh [IANA zone, default Europe/Berlin]   (BUILD=/tmp/build-bench to choose the dir)
# Prints: all daily reports of 1,000 components from a full day at 60 s (1.44 M samples), the 7-day
# verdict of 1,000 components at 300 s (2.0 M samples), and bytes per sample stored in SQLite.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-/tmp/build-bench}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" bench/obs_bench >/dev/null
exec "$build/bench/obs_bench" "${1:-Europe/Berlin}"

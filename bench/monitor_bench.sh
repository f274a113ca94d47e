#!/bin/sh
# monitor_bench.sh — builds an optimised (non-sanitizer) tree and runs the bot observing 1,000 components.
# usage: bench/monitor_bench.sh [WINDOW_S=120] [COMPONENTS=1000] [INTERVAL_S=10]   (BUILD=DIR to choose the build dir)
# Prints the bot's own CPU (utime+stime from /proc over the window, after a warm-up) against 5 % of one
# core, and storage growth per sample (main file after a full WAL checkpoint, samples counted) against 40 bytes.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
# one release tree per source tree: /tmp is shared with other checkouts
build=${BUILD:-/tmp/build-bench-$(printf %s "$src" | cksum | cut -d" " -f1)}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" promobot bench/monitor_bench >/dev/null
exec "$build/bench/monitor_bench" "$build/promobot" "${1:-120}" "${2:-1000}" "${3:-10}"

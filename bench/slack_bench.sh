#!/bin/sh
# slack_bench.sh — builds an optimised (non-sanitizer) tree and runs the Slack benchmark.
# usage: bench/slack_bench.sh [N=1000] [workers=4] [in-flight window=200]   (BUILD=/tmp/build-bench to choose the dir)
# Prints promobot's ack latency for BENCH_SEQ_N (2000) sequential commands next to the floor client's,
# then the N-commands-in-flight figures; BENCH_MODE=seq|flight runs one part only.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-/tmp/build-bench}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" promobot bench/slack_bench bench/floor_client >/dev/null
PROMOBOT_BIN="$build/promobot" FLOOR_BIN="$build/bench/floor_client" \
	exec "$build/bench/slack_bench" "${1:-1000}" "${2:-4}" "${3:-200}"

#!/bin/sh
# slack_bench.sh — builds an optimised (non-sanitizer) tree and runs the Slack benchmark.
# usage: bench/slack_bench.sh [N=1000] [workers=4] [in-flight window=200]   (BUILD=/tmp/build-bench to choose the dir)
# Prints promobot's ack latency for BENCH_SEQ_N (2000) sequential commands next to the floor client's
# (p50/p95/p99/max, the client's own share and the ratio of the p99s), then the N-commands-in-flight
# figures; BENCH_MODE=seq|flight runs one part only; BENCH_MODE=replicas runs the in-flight part with one
# promobot, then with two sharing one store (round-robin over their Socket Mode connections). The command and the machine's load come first:
# on a shared machine the harness's own threads wait for a CPU too, so compare runs with similar load.
# BENCH_WORKER_NICE=0..19 writes worker_nice into promobot's config (default: the bot's own default, 19);
# BENCH_WORKER_IDLE=1 writes worker_idle: true (SCHED_IDLE workers); BENCH_WORKER_CPUS=N writes worker_cpus
# (0: no CPU lanes, as before they existed; unset: the bot's default, CPUs - 1); BENCH_WORKER_PIN=0 writes
# worker_pin: false (the lanes' threads not pinned to the last CPUs). BENCH_SEQ_ROUNDS (5) alternating
# floor/promobot rounds, summarised as the median of the per-round p99 ratios; BENCH_SEQ_DUMP=prefix
# writes every sequential sample to prefix.<client>.<round>.
# BENCH_AUTOGROUP_NICE=-10 (needs CAP_SYS_NICE) runs the whole bench (harness, floor, promobot) in a
# session of its own whose scheduler autogroup has that nice: other sessions' load then weighs less,
# while the bench's own threads keep their weights relative to each other. The line says when it is on.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-/tmp/build-bench}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" promobot bench/slack_bench bench/floor_client >/dev/null
echo "command: BENCH_WORKER_NICE=${BENCH_WORKER_NICE:-} BENCH_WORKER_IDLE=${BENCH_WORKER_IDLE:-0} BENCH_WORKER_CPUS=${BENCH_WORKER_CPUS:-} BENCH_WORKER_PIN=${BENCH_WORKER_PIN:-} BENCH_SEQ_ROUNDS=${BENCH_SEQ_ROUNDS:-5} BENCH_MODE=${BENCH_MODE:-all} BENCH_REPLICAS=${BENCH_REPLICAS:-1} BENCH_SEQ_N=${BENCH_SEQ_N:-2000} PROMOBOT_BIN=$build/promobot" \
	"FLOOR_BIN=$build/bench/floor_client $build/bench/slack_bench ${1:-1000} ${2:-4} ${3:-200}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; kernel $(uname -r)"
export PROMOBOT_BIN="$build/promobot" FLOOR_BIN="$build/bench/floor_client"
rc=0
if [ -n "${BENCH_AUTOGROUP_NICE:-}" ]; then
	echo "autogroup nice: ${BENCH_AUTOGROUP_NICE} (own session)"
	setsid -w sh -c 'echo "$1" > /proc/self/autogroup && shift && exec "$@"' sh "$BENCH_AUTOGROUP_NICE" \
		"$build/bench/slack_bench" "${1:-1000}" "${2:-4}" "${3:-200}" || rc=$?
else
	"$build/bench/slack_bench" "${1:-1000}" "${2:-4}" "${3:-200}" || rc=$?
fi
# the load during the run, not only before it: other processes may have started meanwhile
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"

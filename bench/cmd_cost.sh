#!/bin/sh
# cmd_cost.sh — CPU cost of one `/promote status` slash command per promobot thread, in instructions (callgrind).
# usage: bench/cmd_cost.sh [N=400] [workers=4]   (BUILD=DIR for the release tree; PROMOBOT_BIN / FLOOR_BIN to
#        measure other binaries, e.g. an older build; CMD_COST_TOP=12 rows of the per-function tables;
#        CMD_COST_KEEP=1 keeps the callgrind files)
# Drives promobot and the floor client (bench/floor_client: acks only) through bench/slack_bench's sequential
# part under `valgrind --tool=callgrind --separate-threads=yes`, twice: with W=100 commands and with W+N. The
# figures are the difference of the two runs divided by N (start-up, connection set-up and exit cancel out),
# per thread role: loop (lws service: envelope parse + ack + hand-off), command workers (dedupe claim,
# dispatch, storage, rendering), poster (chat.postEphemeral over HTTP), background pool, other threads.
# Instruction counts do not depend on the machine's load; they vary by a few per cent between runs (WAL
# checkpoints, how often the loop wakes). The per-function tables show where the loop's and the workers'
# instructions go (self cost, summed over the role's threads). Kernel time (syscalls) is not in Ir.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-/tmp/build-bench}
n=${1:-400}
workers=${2:-4}
warm=100
top=${CMD_COST_TOP:-12}
[ -d "$build" ] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
ninja -C "$build" promobot bench/slack_bench bench/floor_client >/dev/null
pb_bin=${PROMOBOT_BIN:-$build/promobot}
fl_bin=${FLOOR_BIN:-$build/bench/floor_client}
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
	{ echo "cmd_cost: needs valgrind (callgrind_annotate)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/pb-cmd-cost-XXXXXX)
[ -n "${CMD_COST_KEEP:-}" ] && echo "callgrind files kept in $tmp" || trap 'rm -rf "$tmp"' EXIT

echo "command: BUILD=$build PROMOBOT_BIN=$pb_bin FLOOR_BIN=$fl_bin bench/cmd_cost.sh $n $workers"
echo "valgrind: $(valgrind --version); runs of $warm and $((warm + n)) sequential commands, figures = difference / $n"

# One wrapper per client: slack_bench execs it in place of the binary.
for who in pb fl; do
	real=$pb_bin
	[ "$who" = fl ] && real=$fl_bin
	printf '#!/bin/sh\nexec valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$CG_OUT/%s.%%p" %s "$@"\n' \
		"$who" "$real" >"$tmp/$who.sh"
	chmod +x "$tmp/$who.sh"
done

run() { # $1 = commands, $2 = output dir
	mkdir -p "$2"
	if ! CG_OUT=$2 PROMOBOT_BIN=$tmp/pb.sh FLOOR_BIN=$tmp/fl.sh BENCH_MODE=seq BENCH_SEQ_N=$1 BENCH_SEQ_ROUNDS=1 BENCH_SLOW=10 \
		"$build/bench/slack_bench" 1000 "$workers" 200 >"$2/bench.log" 2>&1; then
		echo "cmd_cost: the run of $1 commands failed:" >&2
		cat "$2/bench.log" >&2
		exit 1
	fi
}

# role of one per-thread callgrind file, by the function that owns the thread
role() {
	if grep -q ') pb_loop_run$' "$1"; then echo loop
	elif grep -q ') worker_init$' "$1"; then echo commands
	elif grep -q ') bg_init$' "$1"; then echo background
	elif grep -q ') poster_main$' "$1"; then echo poster
	else echo other; fi
}

# "<role> <Ir>" per thread file of one run (the floor's threads are all "floor")
totals() {
	for f in "$1"/pb.*-*; do
		echo "$(role "$f") $(sed -n 's/^summary: //p' "$f")"
	done
	for f in "$1"/fl.*-*; do
		echo "floor $(sed -n 's/^summary: //p' "$f")"
	done
}

# "<Ir> <function [object]>" self cost per function, summed over the files of one role
functions() { # $1 = dir, $2 = role
	for f in "$1"/pb.*-*; do
		[ "$(role "$f")" = "$2" ] || continue
		callgrind_annotate --threshold=100 "$f" 2>/dev/null |
			sed -n 's/^ *\([0-9,][0-9,]*\) ([ 0-9.]*%)  [^ ]*:\([^ ]*\) \[\(.*\/\)\{0,1\}\([^/]*\)\]$/\1 \2 [\4]/p' |
			tr -d ,
	done
}

run "$warm" "$tmp/a"
run "$((warm + n))" "$tmp/b"

totals "$tmp/a" >"$tmp/a.tot"
totals "$tmp/b" >"$tmp/b.tot"
echo
echo "instructions per command (Ir), by thread"
awk -v n="$n" '
	FNR == NR { a[$1] += $2; next }
	{ b[$1] += $2 }
	END {
		split("loop commands poster background other", r, " ")
		printf "%-36s %14s\n", "promobot thread", "Ir/command"
		for (i = 1; i <= 5; i++) {
			d = (b[r[i]] - a[r[i]]) / n
			t += d
			printf "%-36s %14.0f\n", r[i] (r[i] == "loop" ? " (parse, ack, hand-off)" : ""), d
		}
		printf "%-36s %14.0f\n", "promobot, all threads", t
		printf "%-36s %14.0f\n", "floor client (acks only), all", (b["floor"] - a["floor"]) / n
	}' "$tmp/a.tot" "$tmp/b.tot"

for r in loop commands poster; do
	functions "$tmp/a" "$r" >"$tmp/a.$r"
	functions "$tmp/b" "$r" >"$tmp/b.$r"
	echo
	echo "top $top functions by self Ir per command: $r"
	awk -v n="$n" '
		FNR == NR { k = $0; sub(/^[0-9]+ /, "", k); a[k] += $1; next }
		{ k = $0; sub(/^[0-9]+ /, "", k); b[k] += $1 }
		END { for (k in b) { d = (b[k] - a[k]) / n; if (d >= 1) printf "%12.0f  %s\n", d, k } }' \
		"$tmp/a.$r" "$tmp/b.$r" | sort -rn | head -n "$top"
done

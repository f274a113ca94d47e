#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer harnesses (clang, ASan+UBSan, build-fuzz/) and runs each for SECONDS,
# one at a time under nice, printing one summary line per harness (execs, coverage, crashes).
# usage: scripts/fuzz.sh [--ci] SECONDS [harness...]
#   --ci   seed corpus copied to a temp dir (the committed corpus never grows); default: the corpus
#          grows in build-fuzz/corpus/<harness> across runs (seeded from tests/fuzz/corpus).
# A crash leaves its reproducer in build-fuzz/crashes/<harness>-crash-…; the script then exits 1.
# Replay one: build-fuzz/tests/fuzz/fuzz_<harness> build-fuzz/crashes/<file>
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ci=0
if [ "${1:-}" = --ci ]; then ci=1; shift; fi
secs=${1:-}
case "$secs" in ''|*[!0-9]*) echo "usage: $0 [--ci] SECONDS [harness...]" >&2; exit 2 ;; esac
shift
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(cmd_parse dispatch slack_envelope config docker_list docker_inspect
	docker_stats docker_pull docker_logs neo4j logscan tz github link_header maturity docker_events
	lessons ghbody)

# Dictionaries per harness (libFuzzer takes one file: they are concatenated).
dicts_for() {
	case "$1" in
	cmd_parse|dispatch) echo cmd ;;
	slack_envelope) echo "json slack" ;;
	config) echo json ;;
	docker_*) echo "json docker" ;;
	neo4j) echo "json neo4j" ;;
	github) echo "json github" ;;
	link_header) echo link ;;
	maturity) echo maturity ;;
	ghbody) echo ghbody ;;
	*) ;;
	esac
}

command -v clang >/dev/null || { echo "fuzz.sh: clang not found (scripts/deps.sh test installs it)" >&2; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || exit 1
fi
nice -n 10 ninja -C build-fuzz >/dev/null || { echo "fuzz.sh: build-fuzz does not build" >&2; exit 1; }
mkdir -p build-fuzz/crashes

tmp=$(mktemp -d /tmp/promobot-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
for h in "${harnesses[@]}"; do
	bin=build-fuzz/tests/fuzz/fuzz_$h
	[ -x "$bin" ] || { echo "fuzz: $h: no such harness ($bin)"; failed=$((failed + 1)); continue; }
	if [ $ci = 1 ]; then
		corpus=$tmp/corpus-$h
		mkdir -p "$corpus"
	else
		corpus=build-fuzz/corpus/$h
		mkdir -p "$corpus"
	fi
	cp -n tests/fuzz/corpus/$h/* "$corpus"/ 2>/dev/null
	dict=$tmp/$h.dict
	: >"$dict"
	for d in $(dicts_for "$h"); do cat tests/fuzz/dict/$d.dict >>"$dict"; done
	dargs=()
	[ -s "$dict" ] && dargs=(-dict="$dict")
	# The dispatcher runs every command against SQLite (and validate forks the checks): short inputs,
	# a few commands each, keep it near 100 inputs a second instead of a few.
	[ "$h" = dispatch ] && dargs+=(-max_len=512)
	before=$(ls build-fuzz/crashes | wc -l)
	log=$tmp/$h.log
	# -timeout: one input running 10 s is a hang (reported like a crash); -rss_limit_mb bounds memory.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		nice -n 10 "$bin" "$corpus" "${dargs[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$root/build-fuzz/crashes/$h-" -print_final_stats=1 >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
	crashes=$(( $(ls build-fuzz/crashes | wc -l) - before ))
	if [ $rc -eq 0 ] && [ "$crashes" -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz: $h: ${execs:-0} execs in ${secs} s, ${cov:-cov: ?}, crashes 0"
	else
		failed=$((failed + 1))
		echo "fuzz: $h: FAILED (exit $rc) after ${execs:-?} execs, ${cov:-cov: ?}, crashes $crashes — reproducer(s):"
		ls -t build-fuzz/crashes | head -n "$((crashes > 0 ? crashes : 1))" | sed 's|^|  build-fuzz/crashes/|'
		grep -E 'ERROR: |runtime error|SUMMARY|Assertion' "$log" | head -5 | sed 's/^/  /'
		cp "$log" build-fuzz/crashes/$h.log
	fi
done
echo "fuzz-summary: $passed passed, $failed failed"
[ $failed -eq 0 ]

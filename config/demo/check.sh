#!/bin/sh
# check.sh — simulates a component's CI output (pytest, coverage, ruff, mypy, bandit) for the promobot demo.
#
# Usage: sh check.sh <tests|coverage|lint|types|security> <component-id>
#
# Nothing is really tested: the script prints what the real tools print so
# that `/promote validate` has realistic output to parse. Knobs for demos:
#   DEMO_LOW_COVERAGE=<component-id>   that component reports 60 % coverage
#                                      (below the staging threshold of 70 %)
#   DEMO_FAIL=<criterion>[,<criterion>...]   those criteria fail (exit 1)
set -u

criterion=${1:-}
component=${2:-component}

case "$criterion" in
tests|coverage|lint|types|security) ;;
*)
	echo "usage: sh check.sh <tests|coverage|lint|types|security> <component-id>" >&2
	exit 2
	;;
esac

fails() {
	case ",${DEMO_FAIL:-}," in
	*",$1,"*) return 0 ;;
	esac
	return 1
}

# Per-component module names and sizes (statements, missed lines); Cover is rounded like coverage.py.
case "$component" in
neo4j)
	pkg=neo4j_adapter
	mods="driver:412:58 schema:276:41 queries:358:67 health:188:44"
	ntests=48 nfiles=37
	;;
graph-api)
	pkg=graph_api
	mods="routes:520:77 resolvers:644:118 auth:301:52 cache:215:31"
	ntests=112 nfiles=54
	;;
*)
	pkg=$(printf '%s' "$component" | tr '-' '_')
	mods="pipeline:388:49 extract:240:37 load:297:55"
	ntests=31 nfiles=22
	;;
esac

run_tests() {
	echo "============================= test session starts =============================="
	echo "platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0"
	echo "rootdir: /srv/ci/$component"
	echo "collected $ntests items"
	echo
	for m in $mods; do
		echo "tests/test_${m%%:*}.py ............                                     [ ok ]"
	done
	echo
	if fails tests; then
		echo "FAILED tests/test_${mods%%:*}.py::test_reconnect_after_restart - ConnectionError"
		echo "======================== 1 failed, $((ntests - 1)) passed in 3.21s ========================="
		exit 1
	fi
	echo "============================== $ntests passed in 3.21s =============================="
}

run_coverage() {
	low=0
	[ "${DEMO_LOW_COVERAGE:-}" = "$component" ] && low=1
	printf '%-32s %6s %6s %6s\n' "Name" "Stmts" "Miss" "Cover"
	echo "-----------------------------------------------------------"
	tstmts=0 tmiss=0
	for m in $mods; do
		name=${m%%:*}
		rest=${m#*:}
		stmts=${rest%%:*}
		miss=${rest#*:}
		[ "$low" = 1 ] && miss=$((stmts * 40 / 100))
		tstmts=$((tstmts + stmts))
		tmiss=$((tmiss + miss))
		printf '%-32s %6d %6d %5d%%\n' "$pkg/$name.py" "$stmts" "$miss" \
			$((((stmts - miss) * 100 + stmts / 2) / stmts))
	done
	echo "-----------------------------------------------------------"
	printf '%-32s %6d %6d %5d%%\n' "TOTAL" "$tstmts" "$tmiss" $((((tstmts - tmiss) * 100 + tstmts / 2) / tstmts))
	if fails coverage; then
		echo "coverage: error: no data collected" >&2
		exit 1
	fi
}

run_lint() {
	if fails lint; then
		echo "$pkg/${mods%%:*}.py:42:80: E501 Line too long (97 > 79 characters)"
		echo "Found 1 error."
		exit 1
	fi
	echo "All checks passed!"
}

run_types() {
	if fails types; then
		echo "$pkg/${mods%%:*}.py:118: error: Incompatible return value type (got \"None\", expected \"str\")  [return-value]"
		echo "Found 1 error in 1 file (checked $nfiles source files)"
		exit 1
	fi
	echo "Success: no issues found in $nfiles source files"
}

run_security() {
	echo "[main]	INFO	profile include tests: None"
	echo "[main]	INFO	running on Python 3.11.2"
	echo "Run started:2026-11-25 09:00:00"
	echo
	echo "Test results:"
	if fails security; then
		echo ">> Issue: [B105:hardcoded_password_string] Possible hardcoded password: 'neo4j'"
		echo "   Severity: Low   Confidence: Medium"
		exit 1
	fi
	echo "	No issues identified."
	echo
	echo "Code scanned:"
	echo "	Total lines of code: 4127"
	echo "	Total lines skipped (#nosec): 0"
}

case "$criterion" in
tests) run_tests ;;
coverage) run_coverage ;;
lint) run_lint ;;
types) run_types ;;
security) run_security ;;
esac
exit 0

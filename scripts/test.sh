#!/usr/bin/env bash
# test.sh — the whole test suite: sanitizer build + every Criterion suite (a real dockerd for the
# Docker suites, fakes for Slack/Neo4j), then the end-to-end suite again under valgrind.
# usage: scripts/test.sh        PROMOBOT_SKIP_DOCKER=1 disables the Docker suites (reported).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh test || exit 1

notes=()
fail=0

# 1. ASan + UBSan build, all suites.
if [ ! -f build-test/build.ninja ]; then
	meson setup build-test -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
fi
ninja -C build-test || exit 1

docker_dir=""
if [ "${PROMOBOT_SKIP_DOCKER:-0}" = 1 ]; then
	notes+=("docker suites DISABLED by PROMOBOT_SKIP_DOCKER=1 (not run, not counted)")
else
	env_lines=$(scripts/docker-env.sh start) || {
		echo "test.sh: no Docker engine available and none could be started;" >&2
		echo "  set DOCKER_HOST to a running engine, or PROMOBOT_SKIP_DOCKER=1 to disable the docker suites" >&2
		fail=1
	}
	eval "$env_lines"
	docker_dir=${PROMOBOT_DOCKER_ENV_DIR:-}
fi
cleanup() { [ -n "$docker_dir" ] && scripts/docker-env.sh stop "$docker_dir" >/dev/null 2>&1; }
trap cleanup EXIT

meson test -C build-test --print-errorlogs --num-processes 2 --timeout-multiplier 2
[ $? -eq 0 ] || fail=1
summary=$(python3 - "$root/build-test/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    r = t.get("result")
    if r == "OK": ok += 1
    elif r == "SKIP": skip += 1
    else: bad += 1
print(ok, bad, skip)
PY
)
read -r ok bad skip <<<"$summary"

# 2. The end-to-end suite once more, against a build without sanitizers, under valgrind
#    (leaks and invalid accesses make promobot exit non-zero, which the suite asserts).
if [ ! -f build-valgrind/build.ninja ]; then
	meson setup build-valgrind --buildtype=debug >/dev/null || exit 1
fi
ninja -C build-valgrind tests/e2e/test_e2e promobot >/dev/null || exit 1
if PROMOBOT_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
	PROMOBOT_BIN="$root/build-valgrind/promobot" PROMOBOT_SRC="$root" \
	build-valgrind/tests/e2e/test_e2e --jobs 1 >build-valgrind/e2e-valgrind.log 2>&1; then
	ok=$((ok + 1))
	notes+=("e2e under valgrind: clean (build-valgrind/e2e-valgrind.log)")
else
	bad=$((bad + 1)); fail=1
	tail -40 build-valgrind/e2e-valgrind.log
	notes+=("e2e under valgrind: FAILED (build-valgrind/e2e-valgrind.log)")
fi

echo
for n in "${notes[@]}"; do echo "note: $n"; done
if [ "$skip" -gt 0 ]; then
	echo "tests: $ok passed, $bad failed, $skip skipped"
else
	echo "tests: $ok passed, $bad failed"
fi
exit $fail

#!/usr/bin/env bash
# test.sh — the whole test suite: sanitizer build + every Criterion suite (a real dockerd for the
# Docker suites, fakes for Slack/Neo4j), the Docker suites again against podman, then the
# end-to-end suite again under valgrind, then every libFuzzer harness for a short fixed time.
# usage: scripts/test.sh   PROMOBOT_SKIP_DOCKER=1 disables the Docker suites, PROMOBOT_SKIP_PODMAN=1
#                          only their podman run (both reported in the summary, never counted as passed).
#                          PROMOBOT_SKIP_PG=1 disables the storage-pg suites, replicas_pg and docker_replicas_pg
#                          (a private PostgreSQL otherwise, up for both engine runs).
#                          PROMOBOT_SKIP_FUZZ=1 skips the libFuzzer harnesses (PROMOBOT_FUZZ_SECONDS: time each, 12).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh test || exit 1

notes=()
fail=0

# count_results TESTLOG_JSON: prints "ok failed skipped" from a meson test log.
count_results() {
	python3 - "$1" <<'PY'
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r == "OK": ok += 1
    elif r == "SKIP": skip += 1
    else: bad += 1
print(ok, bad, skip)
PY
}

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
# The storage suites run a second time on a private PostgreSQL (suite storage-pg).
pg_dir=""
if [ "${PROMOBOT_SKIP_PG:-0}" = 1 ]; then
	notes+=("storage-pg suites, replicas_pg and docker_replicas_pg DISABLED by PROMOBOT_SKIP_PG=1 (reported SKIP, not counted)")
else
	pg_lines=$(scripts/pg-env.sh start) || {
		echo "test.sh: could not start a private PostgreSQL (scripts/pg-env.sh said why);" >&2
		echo "  install postgresql-15, or PROMOBOT_SKIP_PG=1 to disable the storage-pg suites" >&2
		fail=1
	}
	eval "$pg_lines"
	pg_dir=${PROMOBOT_PG_ENV_DIR:-}
fi
cleanup() {
	[ -n "$docker_dir" ] && scripts/docker-env.sh stop "$docker_dir" >/dev/null 2>&1
	[ -n "$pg_dir" ] && scripts/pg-env.sh stop "$pg_dir" >/dev/null 2>&1
}
trap cleanup EXIT

meson test -C build-test --print-errorlogs --num-processes 2 --timeout-multiplier 2
[ $? -eq 0 ] || fail=1
read -r ok bad skip <<<"$(count_results build-test/meson-logs/testlog.json)"

# 1b. The Docker suites a second time, against podman's Docker-compatible API (a private service);
#     the PostgreSQL cluster is still up for docker_replicas_pg.
if [ "${PROMOBOT_SKIP_DOCKER:-0}" = 1 ] || [ "${PROMOBOT_SKIP_PODMAN:-0}" = 1 ]; then
	notes+=("docker suites against podman DISABLED by PROMOBOT_SKIP_DOCKER/PROMOBOT_SKIP_PODMAN=1 (not run, not counted)")
else
	rm -f build-test/meson-logs/testlog-podman.json
	if scripts/podman-env.sh run meson test -C build-test --suite docker --logbase testlog-podman \
		--print-errorlogs --timeout-multiplier 2; then
		notes+=("docker suites against podman: OK (build-test/meson-logs/testlog-podman.txt)")
	else
		fail=1
		notes+=("docker suites against podman: FAILED (build-test/meson-logs/testlog-podman.txt)")
	fi
	if [ -f build-test/meson-logs/testlog-podman.json ]; then
		read -r pok pbad pskip <<<"$(count_results build-test/meson-logs/testlog-podman.json)"
		ok=$((ok + pok)); bad=$((bad + pbad)); skip=$((skip + pskip))
	else
		bad=$((bad + 1)) # podman could not be started: podman-env.sh said why
	fi
fi
if [ -n "$pg_dir" ]; then
	scripts/pg-env.sh stop "$pg_dir" >/dev/null 2>&1
	pg_dir=""
fi

# 2. The end-to-end suite once more, against a build without sanitizers, under valgrind
#    (leaks and invalid accesses make promobot exit non-zero, which the suite asserts).
if [ ! -f build-valgrind/build.ninja ]; then
	meson setup build-valgrind --buildtype=debug >/dev/null || exit 1
fi
ninja -C build-valgrind tests/e2e/test_e2e tests/e2e/test_e2e_github tests/e2e/test_e2e_ghpoll promobot >/dev/null || exit 1
for suite in e2e e2e_github e2e_ghpoll; do
	if PROMOBOT_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
		PROMOBOT_BIN="$root/build-valgrind/promobot" PROMOBOT_SRC="$root" \
		build-valgrind/tests/e2e/test_$suite --jobs 1 >build-valgrind/$suite-valgrind.log 2>&1; then
		ok=$((ok + 1))
		notes+=("$suite under valgrind: clean (build-valgrind/$suite-valgrind.log)")
	else
		bad=$((bad + 1)); fail=1
		tail -40 build-valgrind/$suite-valgrind.log
		notes+=("$suite under valgrind: FAILED (build-valgrind/$suite-valgrind.log)")
	fi
done

# 3. Every libFuzzer harness (tests/fuzz) for a short fixed time, seeded from the committed corpus (copied:
#    CI never grows it); each harness counts as one test, a crash fails the run and leaves its reproducer.
if [ "${PROMOBOT_SKIP_FUZZ:-0}" = 1 ]; then
	notes+=("fuzz harnesses DISABLED by PROMOBOT_SKIP_FUZZ=1 (not run, not counted)")
else
	# 18 harnesses × 12 s: about the 3 minutes the first 12 took at 15 s each.
	fuzz_secs=${PROMOBOT_FUZZ_SECONDS:-12}
	scripts/fuzz.sh --ci "$fuzz_secs" | tee build-test/fuzz-ci.log
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
	read -r fok fbad <<<"$(sed -n 's/^fuzz-summary: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' build-test/fuzz-ci.log)"
	if [ -z "${fok:-}" ]; then
		fok=0; fbad=1; fail=1   # the harnesses did not build: fuzz.sh said why
	fi
	ok=$((ok + fok)); bad=$((bad + fbad))
	notes+=("fuzz harnesses: $fok passed, $fbad failed, ${fuzz_secs} s each (build-test/fuzz-ci.log; reproducers in build-fuzz/crashes/)")
fi

echo
for n in "${notes[@]}"; do echo "note: $n"; done
if [ "$skip" -gt 0 ]; then
	echo "tests: $ok passed, $bad failed, $skip skipped"
else
	echo "tests: $ok passed, $bad failed"
fi
exit $fail

#!/bin/sh
# pg_run.sh — runs one storage suite binary against PostgreSQL (suite storage-pg).
# Needs PROMOBOT_TEST_PG (scripts/pg-env.sh starts a cluster and sets it); without it the run
# FAILS, unless PROMOBOT_SKIP_PG=1 says to skip (exit 77: meson reports SKIP, never a pass).
if [ -z "${PROMOBOT_TEST_PG:-}" ]; then
	if [ "${PROMOBOT_SKIP_PG:-0}" = 1 ]; then
		echo "storage-pg: DISABLED by PROMOBOT_SKIP_PG=1 (not run)"
		exit 77
	fi
	echo "storage-pg: PROMOBOT_TEST_PG is not set: run under scripts/pg-env.sh run … (scripts/test.sh" \
		"does), or set PROMOBOT_SKIP_PG=1 to disable the PostgreSQL runs" >&2
	exit 1
fi
PROMOBOT_TEST_BACKEND=pg
export PROMOBOT_TEST_BACKEND
exec "$@"

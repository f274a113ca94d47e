/* test_flow.c — request/validate/gate/blockers/cancel/complete/history through the dispatcher. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static th h;
static void setup(void) { th_setup(&h, "{\"observation_days\": 0}"); }
static void teardown(void) { th_teardown(&h); }
TestSuite(flow, .init = setup, .fini = teardown);

Test(flow, request_opens_the_thread)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging first graph pilot"), 0, "%s", th_out(&h));
	cr_expect_eq(h.nopen, 1, "the parent card opens the thread");
	cr_expect(strstr(th_out(&h), "neo4j → staging #1"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_REQUESTED);
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), PB_E_REFUSED, "one open promotion");
	cr_expect(strstr(th_out(&h), "already has an open promotion"), "%s", th_out(&h));
}

Test(flow, only_the_next_stage_can_be_requested)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j production"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "neo4j is at Development; it can only be promoted to Staging"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "request neo4j qa"), PB_E_INVALID);
}

Test(flow, dependency_gate_names_the_dependency)
{
	cr_assert_eq(th_run(&h, "alice", "request graph-api staging"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "graph-api depends on neo4j, which is at Development"), "%s", th_out(&h));
	/* neo4j reaches staging → graph-api may follow */
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0);
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	th_force_state(&h, "neo4j", PB_ST_OBSERVING); /* deploy needs an engine: tested elsewhere */
	/* nothing was monitored (no checks ran): INCONCLUSIVE, so an admin completes with a reason */
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "is now at Staging"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "request graph-api staging"), 0, "%s", th_out(&h));
}

Test(flow, failing_coverage_blocks)
{
	cr_assert_eq(th_run(&h, "alice", "request lowcov staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate lowcov"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "lowcov"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "coverage 64.5% < 70%"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Validation failed"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve lowcov"), PB_E_REFUSED);
}

Test(flow, passing_validation_lists_every_criterion)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
	cr_expect(strstr(th_out(&h), "tests passing"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "coverage 85.0% ≥ 70%"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "lint passing"));
	cr_expect(strstr(th_out(&h), "types passing"));
	cr_expect(strstr(th_out(&h), "security passing"));
	cr_expect(strstr(th_out(&h), "rev-1"));
}

Test(flow, validate_dry_run_prints_the_plan)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j --dry-run"), 0);
	cr_expect(strstr(th_out(&h), "would run 5 checks"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_REQUESTED);
}

Test(flow, blockers_open_list_resolve)
{
	cr_assert_eq(th_run(&h, "dave", "block neo4j medium flaky backup job"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "dave", "block neo4j high heap pressure"), 0);
	cr_assert_eq(th_run(&h, "dave", "block neo4j severe x"), PB_E_INVALID);
	cr_assert_eq(th_run(&h, "stranger", "blockers neo4j"), 0);
	cr_expect(strstr(th_out(&h), "#2 [high] heap pressure"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "#1 [medium] flaky backup job"));
	cr_expect(strstr(th_out(&h), "#2") < strstr(th_out(&h), "#1"), "most severe first");
	cr_assert_eq(th_run(&h, "dave", "unblock 2"), 0);
	cr_assert_eq(th_run(&h, "dave", "unblock 2"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "already resolved"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "dave", "unblock 99"), PB_E_NOTFOUND);
	cr_assert_eq(th_run(&h, "dave", "unblock abc"), PB_E_INVALID);
	cr_assert_eq(th_run(&h, "dave", "blockers neo4j"), 0);
	cr_expect_null(strstr(th_out(&h), "heap pressure"));
}

Test(flow, cancel_by_requester_or_admin_only)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "dave", "cancel neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "only the requester (alice) or an admin"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "carol", "cancel neo4j wrong quarter"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "no open promotion left");
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0, "a new one can start");
}

Test(flow, deploy_refused_without_engine_and_state_kept)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0);
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "is in_review: deploy is not possible now"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "no deploy engine is configured"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
	cr_assert_eq(th_run(&h, "carol", "rollback neo4j"), PB_E_REFUSED);
}

Test(flow, complete_waits_for_observation_period)
{
	th_teardown(&h);
	th_setup(&h, "{\"observation_days\": 7}");
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	th_force_state(&h, "neo4j", PB_ST_VALIDATING);
	th_force_state(&h, "neo4j", PB_ST_IN_REVIEW);
	th_force_state(&h, "neo4j", PB_ST_APPROVED);
	th_force_state(&h, "neo4j", PB_ST_DEPLOYING);
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "7-day observation period of neo4j ends 2026-12-02 09:00 UTC"), "%s",
		  th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_OBSERVING);
	/* the services' clock, not the machine's, decides: one second short, then exactly 7 days */
	pb_fake_clock_advance(&h.clock, 7 * 86400 * 1000LL - 1000);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), PB_E_REFUSED, "%s", th_out(&h));
	pb_fake_clock_advance(&h.clock, 1000);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), PB_E_REFUSED, "no checks ran: INCONCLUSIVE");
	cr_expect(strstr(th_out(&h), "INCONCLUSIVE"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "override of INCONCLUSIVE"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "completed");
}

/* Renames a table behind the store's back, so its next read of it fails for real. */
static void break_table(th *t, const char *sql)
{
	char path[300];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/promobot.db", t->dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(flow, storage_failure_during_status_is_reported_not_shown_as_dash)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	break_table(&h, "ALTER TABLE promotions RENAME TO promotions_gone");
	cr_assert_lt(th_run(&h, "stranger", "status"), 0, "%s", th_out(&h));
	cr_expect_eq(h.nerrors, 1, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "storage"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "no such table"), "%s", th_out(&h));
	cr_expect_null(strstr(th_out(&h), "COMPONENT"), "no table with \"-\" rows: %s", th_out(&h));
	cr_assert_lt(th_run(&h, "stranger", "status neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "no such table"), "%s", th_out(&h));
}

Test(flow, status_table_and_history)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0);
	cr_assert_eq(th_run(&h, "stranger", "status"), 0);
	cr_expect(strstr(th_out(&h), "neo4j"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "#1 staging in_review"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "graph-api"));
	cr_assert_eq(th_run(&h, "stranger", "history neo4j"), 0);
	cr_expect(strstr(th_out(&h), "requested"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "requested → validating"));
	cr_expect(strstr(th_out(&h), "validating → in_review"));
	cr_assert_eq(th_run(&h, "stranger", "status neo4j"), 0);
	cr_expect(strstr(th_out(&h), "in_review"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Approvals"));
}

Test(flow, interrupted_deploy_is_marked_failed)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	th_force_state(&h, "neo4j", PB_ST_VALIDATING);
	th_force_state(&h, "neo4j", PB_ST_IN_REVIEW);
	th_force_state(&h, "neo4j", PB_ST_APPROVED);
	th_force_state(&h, "neo4j", PB_ST_DEPLOYING); /* the deployer died here */
	cr_assert_eq(th_run(&h, "carol", "cancel neo4j"), PB_E_REFUSED, "deploying cannot be cancelled");
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), PB_E_FAILED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "was interrupted"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "the promotion is closed as failed");
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0, "a new promotion can start");
}

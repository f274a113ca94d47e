/* test_flow.c — request/validate/gate/blockers/cancel/complete/history through the dispatcher. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pb_lease_keeper.h"
#include "pb_monitor.h"
#include "pb_workflow.h"

static th h;
static void setup(void) { th_setup(&h, "{\"observation_days\": 0}"); }
static void teardown(void) { th_teardown(&h); }
TestSuite(flow, .init = setup, .fini = teardown);

/* neo4j → staging #1 in observing (deploy needs an engine: tested elsewhere). */
static void observing_neo4j(void)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	th_force_state(&h, "neo4j", PB_ST_VALIDATING);
	th_force_state(&h, "neo4j", PB_ST_IN_REVIEW);
	th_force_state(&h, "neo4j", PB_ST_APPROVED);
	th_force_state(&h, "neo4j", PB_ST_DEPLOYING);
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);
}

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
	observing_neo4j();
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

Test(flow, status_reads_without_writing)
{
	int stage = -1;

	/* any write to components fails: status must not need one (no seeding on a read) */
	break_table(&h, "CREATE TRIGGER components_read_only BEFORE INSERT ON components"
			" BEGIN SELECT RAISE(ABORT, 'components are read-only here'); END");
	cr_assert_eq(th_run(&h, "stranger", "status"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "neo4j            development"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "stranger", "status neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Development"), "the configured stage: %s", th_out(&h));
	cr_expect_eq(pb_store_component_stage(h.store, "neo4j", &stage, NULL), PB_E_NOTFOUND, "nothing was seeded");
	cr_expect_eq(th_run(&h, "alice", "request neo4j staging"), -EIO, "a mutation still seeds: %s", th_out(&h));
	cr_expect(strstr(th_out(&h), "read-only here"), "%s", th_out(&h));
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

/* ---- external deployments: deployed by other tooling, validated and watched ---- */

static int ext_fd = -1, ext_port;

/* A loopback listener: the externally deployed target the validation and the probe reach. */
static void ext_listen(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	ext_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(ext_fd, 0);
	cr_assert_eq(bind(ext_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(ext_fd, 16), 0);
	getsockname(ext_fd, (struct sockaddr *)&a, &al);
	ext_port = ntohs(a.sin_port);
}

/*
 * neo4j's staging is external and probed by tcp on our listener. An engine is
 * configured (at a socket nobody serves): an external deploy must not need it.
 */
static void ext_setup(void)
{
	char staging[512];

	ext_listen();
	snprintf(staging, sizeof(staging),
		 "{\"deployment\": \"external\", \"healthy_timeout_s\": 1,"
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 500},"
		 " \"monitoring\": {\"interval_s\": 5, \"fail_threshold\": 1}}", ext_port);
	th_setup_ex(&h, "{\"observation_days\": 7}", "\"docker\": {\"host\": \"unix:///nonexistent/docker.sock\"},",
		    staging);
	h.svc.system_sink = &h.sink;
}

static void ext_teardown(void)
{
	if (ext_fd >= 0)
		close(ext_fd);
	ext_fd = -1;
	th_teardown(&h);
}

TestSuite(external, .init = ext_setup, .fini = ext_teardown);

static void ext_approved(void)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0, "%s", th_out(&h));
}

Test(external, deploy_validates_the_running_target_and_observes_it)
{
	pb_deployment dep;
	pb_monitor_state ms;
	pb_promotion p;
	pb_monitor *mon = NULL;
	pb_err e;

	ext_approved();
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j --dry-run"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "external (deployed by other tooling"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED, "a dry run changes nothing");
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "deployed to staging by other tooling"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "tcp connect"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Deployed — observing"), "%s", th_out(&h));
	cr_expect_eq(h.nerrors, 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "neo4j"), PB_ST_OBSERVING);
	cr_assert_eq(pb_store_promotion_open_for(h.store, "neo4j", &p, NULL), 0);
	cr_expect_eq(p.observing_since, th_now(&h));
	/* the deployment row: validated, no container */
	cr_assert_eq(pb_store_deployment_latest(h.store, p.id, &dep, NULL), 0);
	cr_expect_str_eq(dep.status, "succeeded");
	cr_expect_str_eq(dep.container_id, "");
	cr_expect_str_eq(dep.container_name, "");
	cr_expect(strstr(dep.detail, "external deployment validated at 127.0.0.1:"), "%s", dep.detail);
	/* a check asks no engine (the configured one is unreachable) and is the probe alone: UP */
	cr_assert_eq(pb_monitor_new(h.cfg, &mon, NULL), 0);
	pb_err_init(&e);
	cr_assert_eq(pb_monitor_check(mon, &h.svc, p.id, p.observing_since, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_store_monitor_get(h.store, p.id, &ms, NULL), 0);
	cr_expect_eq(ms.checks, 1);
	cr_expect_eq(ms.last_state, PB_SAMPLE_UP, "class %d", ms.last_cls);
	cr_expect_geq(ms.last_latency_us, 0);
	/* the target goes away: the next check is DOWN with the probe's class, not the engine's */
	close(ext_fd);
	ext_fd = -1;
	cr_assert_eq(pb_monitor_check(mon, &h.svc, p.id, p.observing_since + 5, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_store_monitor_get(h.store, p.id, &ms, NULL), 0);
	cr_expect_eq(ms.last_state, PB_SAMPLE_DOWN);
	cr_expect_eq(ms.last_cls, PB_CHK_PROBE_ERROR, "class %d", ms.last_cls);
	pb_monitor_free(mon);
}

Test(external, failed_validation_fails_the_promotion_with_the_cause)
{
	ext_approved();
	close(ext_fd); /* nothing answers where the other tooling should have deployed */
	ext_fd = -1;
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), PB_E_FAILED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Deploy failed"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "refused"), "the cause is shown: %s", th_out(&h));
	cr_expect_null(strstr(th_out(&h), "Rolled back"), "nothing of ours to roll back: %s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "failed closes the promotion");
	cr_assert_eq(th_run(&h, "stranger", "history neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "deploying → failed"), "%s", th_out(&h));
}

Test(external, rollback_is_refused_with_the_reason)
{
	ext_approved();
	cr_assert_eq(th_run(&h, "carol", "deploy neo4j"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "stranger", "status neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Next: complete"), "%s", th_out(&h));
	cr_expect_null(strstr(th_out(&h), "rollback"), "not offered: %s", th_out(&h));
	cr_assert_eq(th_run(&h, "carol", "rollback neo4j"), PB_E_REFUSED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "deployment is external (deployed by other tooling)"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "/promote cancel neo4j"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_OBSERVING, "nothing changed");
	cr_assert_eq(th_run(&h, "carol", "rollback neo4j --dry-run"), PB_E_REFUSED, "%s", th_out(&h));
}

/* ---- step 11: complete edits the component's maturity_file ---- */

static const char maturity_before[] =
	"# Neo4j Maturity Status\n\n**Current Stage**: Development\n**Last Updated**: 2025-10-07\n"
	"**Owner**: theinterneti\n\n## Maturity Criteria\n\n- [x] Core features complete\n\n"
	"## Promotion History\n- **2025-10-07**: Promoted to Development\n\n## Known Issues\n\n- none\n";

Test(flow, complete_updates_maturity_md_in_place)
{
	char *after;

	th_write_file(&h, "MATURITY.md", maturity_before, strlen(maturity_before));
	observing_neo4j();
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "MATURITY.md: updated: **Current Stage**: Staging (promoted from Development on "
			 "2026-11-25); history: - **2026-11-25**: Promoted to Staging (Promotion #1)"), "%s", th_out(&h));
	after = th_read_file(&h, "MATURITY.md", NULL);
	cr_assert_not_null(after);
	cr_expect_str_eq(after,
			 "# Neo4j Maturity Status\n\n**Current Stage**: Staging (promoted from Development on 2026-11-25)\n"
			 "**Last Updated**: 2026-11-25\n**Owner**: theinterneti\n\n## Maturity Criteria\n\n"
			 "- [x] Core features complete\n\n## Promotion History\n- **2025-10-07**: Promoted to Development\n"
			 "- **2026-11-25**: Promoted to Staging (Promotion #1)\n\n## Known Issues\n\n- none\n");
	free(after);
	cr_assert_eq(th_run(&h, "bob", "history neo4j"), 0);
	cr_expect(strstr(th_out(&h), "maturity.updated"), "the edit is audited: %s", th_out(&h));
}

Test(flow, complete_names_the_issue_when_the_promotion_has_one)
{
	pb_promotion p;
	char *after;

	th_write_file(&h, "MATURITY.md", maturity_before, strlen(maturity_before));
	observing_neo4j();
	cr_assert_eq(pb_store_promotion_open_for(h.store, "neo4j", &p, NULL), 0);
	cr_assert_eq(pb_store_promotion_set_issue(h.store, p.id, 42, th_now(&h), NULL), 0);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand"), 0, "%s", th_out(&h));
	after = th_read_file(&h, "MATURITY.md", NULL);
	cr_expect(strstr(after, "- **2026-11-25**: Promoted to Staging (Issue #42)\n"), "%s", after);
	cr_expect_null(strstr(after, "Promotion #1"), "%s", after);
	free(after);
}

Test(flow, complete_dry_run_shows_the_edit_and_leaves_the_file)
{
	char *after;

	th_write_file(&h, "MATURITY.md", maturity_before, strlen(maturity_before));
	observing_neo4j();
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand --dry-run"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "MATURITY.md: would update: **Current Stage**: Staging"), "%s", th_out(&h));
	after = th_read_file(&h, "MATURITY.md", NULL);
	cr_expect_str_eq(after, maturity_before);
	free(after);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_OBSERVING);
}

Test(flow, complete_without_a_readable_maturity_file_completes_and_says_so)
{
	pb_stage st;

	observing_neo4j(); /* no MATURITY.md in the folder */
	cr_assert_eq(th_run(&h, "carol", "complete neo4j checked by hand"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "is now at Staging"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "MATURITY.md: ⚠️ NOT updated: cannot read"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Set by hand in"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "- **2026-11-25**: Promoted to Staging (Promotion #1)"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "completed all the same");
	cr_assert_eq(th_run(&h, "bob", "history neo4j"), 0);
	cr_expect(strstr(th_out(&h), "maturity.failed"), "the failure is audited: %s", th_out(&h));
	cr_expect_null(th_read_file(&h, "MATURITY.md", NULL), "nothing was created");
	{
		pb_cmd_ctx ctx = { .svc = &h.svc };
		const pb_component *c = pb_config_component(h.cfg, "neo4j");

		pb_err_init(&ctx.err);
		cr_assert_eq(pb_cmd_component_stage(&ctx, c, &st), 0);
		cr_expect_eq(st, PB_STAGE_STAGING);
	}
}

/* ---- a long command keeps its component lease; a lost lease is noticed ---- */

/* Polls (bounded, real time: the keeper runs on a thread of its own) until cond(ud). */
static bool within_ms(bool (*cond)(void *), void *ud, int ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + ms;

	while (pb_clock_mono_ms(NULL) < deadline) {
		if (cond(ud))
			return true;
		poll(NULL, 0, 20);
	}
	return cond(ud);
}

static bool renewed_after_start(void *ud)
{
	pb_lease l;

	return pb_store_lease_get(h.store, "component:neo4j", &l, NULL) == 0 && l.renewed_at > *(int64_t *)ud;
}

static bool keeper_lost(void *ud)
{
	return pb_lease_keeper_lost(ud, NULL, 0);
}

Test(flow, a_lease_keeper_renews_the_component_lease_and_notices_when_it_is_lost)
{
	pb_lease_keeper *k = NULL;
	int64_t t0 = th_now(&h);
	char why[300];
	pb_err e;

	pb_err_init(&e);
	/* not held by this worker: nothing to keep */
	cr_assert_eq(pb_lease_keeper_start(&h.svc, "neo4j", &k, &e), 0, "%s", pb_err_text(&e));
	cr_assert_null(k);
	h.cfg->ha.lease_s = 5;          /* renewed every 1.67 s (real time) */
	pb_store_set_lease_s(h.store, 5);
	cr_assert_eq(pb_store_lock_acquire(h.store, "neo4j", h.svc.lock_owner, "deploy", t0, &e), 0, "%s",
		     pb_err_text(&e));
	cr_assert_eq(pb_lease_keeper_start(&h.svc, "neo4j", &k, &e), 0, "%s", pb_err_text(&e));
	cr_assert_not_null(k);
	pb_fake_clock_advance(&h.clock, 3000);
	cr_assert(within_ms(renewed_after_start, &t0, 10000), "never renewed");
	cr_assert_not(pb_lease_keeper_lost(k, NULL, 0));
	/* another replica takes it (it expired there, say): the next renewal fails */
	pb_store_lock_release(h.store, "neo4j", h.svc.lock_owner);
	cr_assert_eq(pb_store_lock_acquire(h.store, "neo4j", "host-b:9:0:slack-1", "deploy", th_now(&h), NULL), 0);
	cr_assert(within_ms(keeper_lost, k, 10000), "the lost lease went unnoticed");
	cr_assert(pb_lease_keeper_lost(k, why, sizeof(why)));
	cr_expect(strstr(why, "was lost"), "%s", why);
	pb_lease_keeper_stop(k);
}

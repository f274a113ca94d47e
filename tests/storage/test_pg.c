/* test_pg.c — what only the PostgreSQL backend does: reconnecting, lost transactions, value mapping (suite storage-pg only). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pb_str.h"
#include "st_helpers.h"

static char app_name[64];

/* The fixture's store reopened under an application_name of its own, so a test ends only its session. */
static void pg_only(void)
{
	char target[4200];
	pb_err err;

	cr_assert(st_pg(), "test_pg runs only under PROMOBOT_TEST_BACKEND=pg (tests/storage/pg_run.sh)");
	st_fixture_init();
	pb_store_close(st_store);
	st_store = NULL;
	snprintf(app_name, sizeof(app_name), "pbtest%ld", (long)getpid());
	snprintf(target, sizeof(target), "%s&application_name=%s", st_db_path(), app_name);
	pb_err_init(&err);
	cr_assert_eq(pb_store_open(target, &st_store, &err), 0, "%s", pb_err_text(&err));
}

TestSuite(pg, .init = pg_only, .fini = st_fixture_fini);

/* Ends the store's session (found by its application_name) from a raw connection. */
static void kill_store_sessions(void)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
		 " WHERE application_name = '%s') AS s WHERE ok",
		 app_name);
	cr_assert_eq(st_sql_int(st_db_path(), sql), 1, "the store's session was not found");
}

Test(pg, a_dropped_connection_is_reported_then_reestablished)
{
	pb_promotion p;
	pb_err err;
	int64_t id = st_promotion(st_store, "neo4j", 2);
	int r;

	kill_store_sessions();
	pb_err_init(&err);
	r = pb_store_promotion_get(st_store, id, &p, &err);
	cr_assert_eq(r, -EIO, "%d %s", r, pb_err_text(&err));
	cr_assert(strstr(pb_err_text(&err), "connection to PostgreSQL lost"), "%s", pb_err_text(&err));
	/* the next call reconnects, with the prepared statements made again */
	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(p.component, "neo4j");
	cr_assert_eq(pb_store_promotion_set_state(st_store, id, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, &err), 0,
		     "%s", pb_err_text(&err));
}

Test(pg, a_transaction_lost_with_the_connection_is_never_replayed)
{
	pb_promotion p;
	pb_err err;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_promotion_set_state(st_store, id, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, &err), 0);
	kill_store_sessions();
	/* the rest of the transaction fails, its commit too; nothing runs outside it */
	cr_assert_lt(pb_store_promotion_set_state(st_store, id, PB_ST_VALIDATING, PB_ST_IN_REVIEW, ST_NOW, &err), 0);
	cr_assert_lt(pb_store_promotion_set_issue(st_store, id, 42, ST_NOW, NULL), 0);
	cr_assert_lt(pb_store_commit(st_store, NULL), 0);
	pb_store_rollback(st_store);
	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(p.state, PB_ST_REQUESTED);
	cr_assert_eq(p.issue_number, 0);
}

Test(pg, a_failed_statement_fails_the_commit)
{
	pb_promotion p;
	pb_approval a;
	pb_err err;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	memset(&a, 0, sizeof(a));
	a.promotion_id = 999;
	a.at = ST_NOW;
	pb_strlcpy(a.approver, "U-x", sizeof(a.approver));
	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_promotion_set_issue(st_store, id, 42, ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_approval_add(st_store, &a, NULL), PB_E_NOTFOUND);
	/* PostgreSQL ended the transaction at the error: COMMIT must not look like success */
	cr_assert_lt(pb_store_commit(st_store, &err), 0);
	cr_assert(strstr(pb_err_text(&err), "storage: commit: "), "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, NULL), 0);
	cr_assert_eq(p.issue_number, 0);
}

Test(pg, text_with_question_marks_and_quotes_is_data)
{
	pb_promotion p;
	int64_t id;

	memset(&p, 0, sizeof(p));
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.from_stage = 1;
	p.target_stage = 2;
	p.created_at = ST_NOW;
	pb_strlcpy(p.requester, "U-alice", sizeof(p.requester));
	pb_strlcpy(p.justification, "why ?1 and '?2' or $1 -- '; DROP TABLE promotions; --", sizeof(p.justification));
	cr_assert_eq(pb_store_promotion_insert(st_store, &p, NULL), 0);
	id = p.id;
	memset(&p, 0, sizeof(p));
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, NULL), 0);
	cr_assert_str_eq(p.justification, "why ?1 and '?2' or $1 -- '; DROP TABLE promotions; --");
}

Test(pg, a_newer_schema_is_refused)
{
	pb_store *st = NULL;
	char sql[96];
	pb_err err;

	snprintf(sql, sizeof(sql), "UPDATE promobot_schema SET version = %d", PB_STORE_SCHEMA_VERSION + 1);
	cr_assert_eq(st_sql(st_db_path(), sql), 0);
	pb_err_init(&err);
	cr_assert_lt(pb_store_open(st_db_path(), &st, &err), 0);
	cr_assert(strstr(pb_err_text(&err), "refusing"), "%s", pb_err_text(&err));
	cr_assert_str_eq(pb_store_backend(st_store), "postgres");
}

Test(pg, the_write_lock_is_per_schema)
{
	char other_target[4200];
	pb_store *same = NULL, *other = NULL;
	pb_err err;

	st_pg_schema_new("other", other_target, sizeof(other_target));
	pb_err_init(&err);
	cr_assert_eq(pb_store_open(st_db_path(), &same, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_open(other_target, &other, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_begin(st_store, &err), 0, "%s", pb_err_text(&err));
	/* another installation (schema) writes meanwhile; the same one waits and gives up */
	cr_assert_eq(pb_store_begin(other, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_commit(other, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_begin(same, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "database busy"), "%s", pb_err_text(&err));
	pb_store_rollback(st_store);
	pb_store_close(same);
	pb_store_close(other);
}

Test(pg, probe_reads_the_version_and_changes_nothing)
{
	char fresh[4200];
	int version = -1;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_probe(st_db_path(), NULL, &version, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(version, PB_STORE_SCHEMA_VERSION);
	st_pg_schema_new("probe", fresh, sizeof(fresh));
	cr_assert_eq(pb_store_probe(fresh, NULL, &version, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(version, 0);
	cr_assert_eq(st_sql_int(fresh, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), 0,
		     "the probe created something");
	cr_assert_lt(pb_store_probe("postgresql:///absent?host=/nonexistent-dir", "pw", &version, &err), 0);
}

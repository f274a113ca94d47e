/* test_store.c — opening, pragmas, transactions and error mapping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(store, .init = st_fixture_init, .fini = st_fixture_fini);

Test(store, open_sets_wal_and_latest_version)
{
	cr_assert_eq(pb_store_schema_version(st_store), PB_STORE_SCHEMA_VERSION);
	if (st_pg())
		cr_assert_eq(st_sql_int(st_db_path(), "SELECT version FROM promobot_schema"), PB_STORE_SCHEMA_VERSION);
	else
		cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	/* Reopening an up-to-date database is a no-op. */
	pb_store_close(st_store);
	st_store = st_open();
	cr_assert_eq(pb_store_schema_version(st_store), PB_STORE_SCHEMA_VERSION);
}

Test(store, foreign_keys_are_enforced)
{
	pb_approval a;

	memset(&a, 0, sizeof(a));
	a.at = ST_NOW;
	a.promotion_id = 5;
	pb_strlcpy(a.approver, "U-x", sizeof(a.approver));
	cr_assert_eq(pb_store_approval_add(st_store, &a, NULL), PB_E_NOTFOUND);
}

Test(store, unopenable_path_is_a_clear_error)
{
	pb_store *st = (pb_store *)1;
	pb_err err;
	int r;

	pb_err_init(&err);
	r = pb_store_open("/nonexistent-dir/x/db.sqlite", &st, &err);
	cr_assert_lt(r, 0);
	cr_assert_null(st);
	cr_assert(strstr(pb_err_text(&err), "storage: "), "%s", pb_err_text(&err));
}

Test(store, not_a_database_is_refused)
{
	pb_store *st = NULL;
	pb_err err;
	FILE *f;

	pb_store_close(st_store);
	st_store = NULL;
	if (st_pg()) {
		/* PostgreSQL: a database that is not there is refused clearly, the password never shown */
		pb_err_init(&err);
		cr_assert_lt(pb_store_open_with("postgresql:///promobot_absent_db?host=/nonexistent-dir", "s3cret-pw",
						&st, &err), 0);
		cr_assert_null(st);
		cr_assert(strstr(pb_err_text(&err), "storage: cannot connect to PostgreSQL at "), "%s",
			  pb_err_text(&err));
		cr_assert_null(strstr(pb_err_text(&err), "s3cret-pw"), "%s", pb_err_text(&err));
		pb_err_init(&err);
		cr_assert_lt(pb_store_open("postgresql://alice:s3cret-pw@/db?host=/nonexistent-dir", &st, &err), 0);
		cr_assert_null(strstr(pb_err_text(&err), "s3cret-pw"), "%s", pb_err_text(&err));
		return;
	}
	f = fopen(st_db_path(), "w");
	cr_assert_not_null(f);
	fputs("this is not an sqlite file, just some text that is long enough to matter......"
	      "..............................................................................", f);
	fclose(f);
	pb_err_init(&err);
	cr_assert_lt(pb_store_open(st_db_path(), &st, &err), 0);
	cr_assert(strstr(pb_err_text(&err), "not a database"), "%s", pb_err_text(&err));
}

Test(store, transactions_commit_and_roll_back)
{
	pb_promotion p;
	pb_err err;
	int64_t id;

	pb_err_init(&err);
	/* rollback without a transaction is harmless; commit is an error. */
	pb_store_rollback(st_store);
	cr_assert_lt(pb_store_commit(st_store, &err), 0);
	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_lt(pb_store_begin(st_store, &err), 0, "nested begin must fail");
	id = st_promotion(st_store, "neo4j", 2);
	pb_store_rollback(st_store);
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, NULL), PB_E_NOTFOUND);

	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	id = st_promotion(st_store, "neo4j", 2);
	cr_assert_eq(pb_store_commit(st_store, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_promotion_get(st_store, id, &p, NULL), 0);
}

/* A second writer gives up with PB_E_BUSY once the 5 s busy timeout expires. */
Test(store, busy_timeout_maps_to_pb_e_busy)
{
	pb_store *other = st_open();
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_begin(other, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "storage: begin: "), "%s", pb_err_text(&err));
	pb_store_rollback(st_store);
	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(other, &err), 0, "%s", pb_err_text(&err));
	pb_store_rollback(other);
	pb_store_close(other);
}

Test(store, components_keep_their_stage)
{
	int stage = -1;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_component_stage(st_store, "neo4j", &stage, &err), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_component_ensure(st_store, "neo4j", 1, ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_component_stage(st_store, "neo4j", &stage, NULL), 0);
	cr_assert_eq(stage, 1);
	cr_assert_eq(pb_store_component_set_stage(st_store, "neo4j", 3, ST_NOW, NULL), 0);
	/* ensure never resets an existing stage */
	cr_assert_eq(pb_store_component_ensure(st_store, "neo4j", 1, ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_component_stage(st_store, "neo4j", &stage, NULL), 0);
	cr_assert_eq(stage, 3);
	cr_assert_eq(pb_store_component_set_stage(st_store, "ghost", 2, ST_NOW, NULL), PB_E_NOTFOUND);
}

/* Workers of one process open their connections at the same time on a new file. */
#define RACERS 16
static pthread_barrier_t race_start;
static char race_path[512];

static void *race_open(void *arg)
{
	pb_store *st = NULL;
	pb_err e;
	int *result = arg;

	pb_err_init(&e);
	pthread_barrier_wait(&race_start);
	*result = pb_store_open(race_path, &st, &e);
	if (*result)
		fprintf(stderr, "racer: %s\n", pb_err_text(&e));
	pb_store_close(st);
	return NULL;
}

Test(store, concurrent_first_open_of_a_new_file_succeeds)
{
	pthread_t th[RACERS];
	int results[RACERS];

	/* SQLite's busy-on-first-open is rare, so many rounds; on PostgreSQL a round (16 connections,
	 * nine DDL migrations under the advisory lock) costs ~1.7 s on a loaded 2-core machine. */
	int rounds = st_pg() ? 8 : 60;

	for (int round = 0; round < rounds; round++) {
		if (st_pg())
			st_pg_schema_new("race", race_path, sizeof(race_path));
		else
			snprintf(race_path, sizeof(race_path), "%s.race%d", st_db_path(), round);
		pthread_barrier_init(&race_start, NULL, RACERS);
		for (int i = 0; i < RACERS; i++)
			cr_assert_eq(pthread_create(&th[i], NULL, race_open, &results[i]), 0);
		for (int i = 0; i < RACERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&race_start);
		for (int i = 0; i < RACERS; i++)
			cr_expect_eq(results[i], 0, "round %d racer %d failed to open", round, i);
		cr_expect_eq(st_sql_int(race_path, st_pg() ? "SELECT version FROM promobot_schema" : "PRAGMA user_version"),
			     PB_STORE_SCHEMA_VERSION);
		for (const char *const *sfx = (const char *const[]){ "", "-wal", "-shm", NULL }; *sfx; sfx++) {
			char f[600];

			snprintf(f, sizeof(f), "%s%s", race_path, *sfx);
			unlink(f);
		}
	}
}

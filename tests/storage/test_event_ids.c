/* test_event_ids.c — idempotency keys: first claim wins, prune forgets old ones. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "st_helpers.h"

TestSuite(event_ids, .init = st_fixture_init, .fini = st_fixture_fini);

Test(event_ids, second_claim_conflicts_even_from_another_connection)
{
	pb_store *other = st_open();
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_event_id_claim(st_store, "Ev123", ST_NOW, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_event_id_claim(st_store, "Ev123", ST_NOW, &err), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "already processed"), "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_event_id_claim(other, "Ev123", ST_NOW, NULL), PB_E_CONFLICT);
	cr_assert_eq(pb_store_event_id_claim(other, "Ev124", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_event_id_claim(st_store, "", ST_NOW, NULL), PB_E_INVALID);
	pb_store_close(other);
}

Test(event_ids, prune_forgets_only_older_ids)
{
	cr_assert_eq(pb_store_event_id_claim(st_store, "old", ST_NOW, NULL), 0);
	cr_assert_eq(st_sql(st_db_path(), "UPDATE processed_event_ids SET seen_at = 100 WHERE key = 'old'"), 0);
	cr_assert_eq(pb_store_event_id_claim(st_store, "new", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_event_ids_prune(st_store, 1000, NULL), 0);
	cr_assert_eq(pb_store_event_id_claim(st_store, "old", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_event_id_claim(st_store, "new", ST_NOW, NULL), PB_E_CONFLICT);
}

Test(event_ids, heartbeat_is_one_row_per_owner_replaced)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_heartbeat(st_store, "bot-1", ST_NOW, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_heartbeat(st_store, "bot-1", ST_NOW + 10, &err), 0);
	cr_assert_eq(pb_store_heartbeat(st_store, "bot-2", ST_NOW, &err), 0);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM heartbeats"), 2);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT at FROM heartbeats WHERE owner = 'bot-1'"), ST_NOW + 10);
	cr_assert_eq(pb_store_heartbeat(st_store, "bot-1", 0, NULL), -EINVAL, "the caller gives the time");
}

/*
 * pb_store_read_begin: on SQLite the reads until pb_store_read_end see one
 * snapshot (a lease taken meanwhile by another connection is not seen); on
 * PostgreSQL nothing is opened and each statement sees the latest commit.
 * Inside an open transaction nothing new is opened either.
 */
Test(event_ids, a_read_run_sees_one_snapshot_on_sqlite)
{
	pb_store *other = st_open();
	bool opened = true;
	pb_lease l;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_read_begin(st_store, &opened, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(opened, !st_pg());
	cr_assert_eq(pb_store_lease_get(st_store, "snap", &l, NULL), PB_E_NOTFOUND, "the first read takes the snapshot");
	cr_assert_eq(pb_store_lease_acquire(other, "snap", "other", "test", ST_NOW, 30, NULL, NULL), 0,
		     "a read run never blocks a writer");
	cr_assert_eq(pb_store_lease_get(st_store, "snap", &l, NULL), st_pg() ? 0 : PB_E_NOTFOUND,
		     "SQLite: still the snapshot; PostgreSQL: the latest commit");
	pb_store_read_end(st_store, opened);
	cr_assert(!pb_store_in_tx(st_store), "the read run is over");
	cr_assert_eq(pb_store_lease_get(st_store, "snap", &l, NULL), 0);
	cr_assert_str_eq(l.owner, "other");
	cr_assert_eq(pb_store_begin(st_store, NULL), 0);
	cr_assert_eq(pb_store_read_begin(st_store, &opened, NULL), 0);
	cr_assert(!opened, "inside a transaction nothing new is opened");
	cr_assert_eq(pb_store_commit(st_store, NULL), 0);
	pb_store_close(other);
}

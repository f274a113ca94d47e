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

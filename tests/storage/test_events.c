/* test_events.c — the audit trail: order, limits, optional promotion, append-only. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(events, .init = st_fixture_init, .fini = st_fixture_fini);

static void append(int64_t promotion_id, const char *component, const char *kind, const char *detail)
{
	pb_event ev;
	pb_err err;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.at = ST_NOW;
	pb_err_init(&err);
	ev.promotion_id = promotion_id;
	pb_strlcpy(ev.component, component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "U-bob", sizeof(ev.actor));
	pb_strlcpy(ev.kind, kind, sizeof(ev.kind));
	pb_strlcpy(ev.detail, detail, sizeof(ev.detail));
	if (strcmp(kind, "state") == 0) {
		pb_strlcpy(ev.from_state, "requested", sizeof(ev.from_state));
		pb_strlcpy(ev.to_state, "validating", sizeof(ev.to_state));
	}
	r = pb_store_event_append(st_store, &ev, &err);
	cr_assert_eq(r, 0, "append: %d %s", r, pb_err_text(&err));
}

Test(events, component_events_come_oldest_first)
{
	pb_event *list = NULL;
	size_t n = 0;
	pb_err err;
	char d[16];

	pb_err_init(&err);
	for (int i = 0; i < 5; i++) {
		snprintf(d, sizeof(d), "e%d", i);
		append(0, "neo4j", "note", d);
		append(0, "redis", "note", "other");
	}
	cr_assert_eq(pb_store_events_for_component(st_store, "neo4j", 0, &list, &n, &err), 0);
	cr_assert_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "e%zu", i);
		cr_assert_str_eq(list[i].detail, d);
		cr_assert_str_eq(list[i].component, "neo4j");
		cr_assert_str_eq(list[i].actor, "U-bob");
		cr_assert_eq(list[i].promotion_id, 0);
		cr_assert_gt(list[i].at, 0);
		if (i)
			cr_assert_gt(list[i].id, list[i - 1].id);
	}
	free(list);
}

Test(events, limit_keeps_the_most_recent_in_order)
{
	pb_event *list = NULL;
	size_t n = 0;
	char d[16];

	for (int i = 0; i < 6; i++) {
		snprintf(d, sizeof(d), "e%d", i);
		append(0, "neo4j", "note", d);
	}
	cr_assert_eq(pb_store_events_for_component(st_store, "neo4j", 2, &list, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].detail, "e4");
	cr_assert_str_eq(list[1].detail, "e5");
	free(list);
}

Test(events, promotion_events_with_transitions)
{
	pb_event *list = NULL;
	size_t n = 0;
	int64_t id = st_promotion(st_store, "neo4j", 2);
	int64_t other = st_promotion(st_store, "redis", 2);

	append(id, "neo4j", "requested", "");
	append(other, "redis", "requested", "");
	append(id, "neo4j", "state", "validation started");
	cr_assert_eq(pb_store_events_for_promotion(st_store, id, &list, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].kind, "requested");
	cr_assert_eq(list[0].promotion_id, id);
	cr_assert_str_eq(list[1].kind, "state");
	cr_assert_str_eq(list[1].from_state, "requested");
	cr_assert_str_eq(list[1].to_state, "validating");
	cr_assert_str_eq(list[1].detail, "validation started");
	free(list);
	cr_assert_eq(pb_store_events_for_promotion(st_store, 999, &list, &n, NULL), 0);
	cr_assert_eq(n, 0);
	free(list);
}

Test(events, unknown_promotion_or_missing_kind_is_refused)
{
	pb_event ev;
	pb_err err;

	memset(&ev, 0, sizeof(ev));
	ev.at = ST_NOW;
	pb_err_init(&err);
	ev.promotion_id = 4242;
	pb_strlcpy(ev.kind, "note", sizeof(ev.kind));
	cr_assert_eq(pb_store_event_append(st_store, &ev, &err), PB_E_NOTFOUND);
	memset(&ev, 0, sizeof(ev));
	ev.at = ST_NOW;
	cr_assert_eq(pb_store_event_append(st_store, &ev, NULL), PB_E_INVALID);
}

Test(events, rows_cannot_be_updated_or_deleted)
{
	append(0, "neo4j", "note", "original");
	cr_assert_eq(st_sql(st_db_path(), "UPDATE events SET detail = 'forged'") & 0xff, SQLITE_CONSTRAINT);
	cr_assert_eq(st_sql(st_db_path(), "DELETE FROM events") & 0xff, SQLITE_CONSTRAINT);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM events WHERE detail = 'original'"), 1);
}

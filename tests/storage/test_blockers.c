/* test_blockers.c — blockers: ordering by severity, resolve once, critical count. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(blockers, .init = st_fixture_init, .fini = st_fixture_fini);

static int64_t block(const char *component, pb_severity sev, const char *text)
{
	pb_blocker b;
	pb_err err;
	int r;

	memset(&b, 0, sizeof(b));
	b.opened_at = ST_NOW;
	pb_err_init(&err);
	pb_strlcpy(b.component, component, sizeof(b.component));
	b.severity = sev;
	pb_strlcpy(b.text, text, sizeof(b.text));
	pb_strlcpy(b.opened_by, "U-gina", sizeof(b.opened_by));
	b.issue_number = 12;
	r = pb_store_blocker_add(st_store, &b, &err);
	cr_assert_eq(r, 0, "blocker add: %d %s", r, pb_err_text(&err));
	cr_assert_gt(b.id, 0);
	cr_assert_gt(b.opened_at, 0);
	return b.id;
}

Test(blockers, open_list_is_most_severe_first)
{
	pb_blocker *list = NULL;
	size_t n = 0;

	block("neo4j", PB_SEV_LOW, "typo");
	block("neo4j", PB_SEV_CRITICAL, "data loss");
	block("neo4j", PB_SEV_MEDIUM, "slow");
	block("neo4j", PB_SEV_CRITICAL, "crash");
	block("redis", PB_SEV_HIGH, "other component");
	cr_assert_eq(pb_store_blockers_open(st_store, "neo4j", &list, &n, NULL), 0);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(list[0].text, "data loss");
	cr_assert_str_eq(list[1].text, "crash");
	cr_assert_str_eq(list[2].text, "slow");
	cr_assert_str_eq(list[3].text, "typo");
	cr_assert_eq(list[0].severity, PB_SEV_CRITICAL);
	cr_assert_eq(list[3].severity, PB_SEV_LOW);
	cr_assert_str_eq(list[0].opened_by, "U-gina");
	cr_assert_str_eq(list[0].resolved_by, "");
	cr_assert_eq(list[0].resolved_at, 0);
	cr_assert_eq(list[0].issue_number, 12);
	free(list);
}

Test(blockers, resolve_twice_is_a_conflict)
{
	int64_t id = block("neo4j", PB_SEV_HIGH, "flaky");
	pb_blocker b;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_blocker_resolve(st_store, id, "U-hank", ST_NOW, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_blocker_get(st_store, id, &b, &err), 0);
	cr_assert_str_eq(b.resolved_by, "U-hank");
	cr_assert_gt(b.resolved_at, 0);
	cr_assert_eq(pb_store_blocker_resolve(st_store, id, "U-ivy", ST_NOW, &err), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "already resolved by U-hank"), "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_blocker_get(st_store, id, &b, NULL), 0);
	cr_assert_str_eq(b.resolved_by, "U-hank");
}

Test(blockers, unknown_blocker_is_notfound)
{
	pb_blocker b;

	cr_assert_eq(pb_store_blocker_get(st_store, 77, &b, NULL), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_blocker_resolve(st_store, 77, "U-hank", ST_NOW, NULL), PB_E_NOTFOUND);
}

Test(blockers, resolved_blockers_leave_the_open_list)
{
	int64_t a = block("neo4j", PB_SEV_LOW, "a");
	pb_blocker *list = NULL;
	size_t n = 0;

	block("neo4j", PB_SEV_LOW, "b");
	cr_assert_eq(pb_store_blocker_resolve(st_store, a, "U-hank", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_blockers_open(st_store, "neo4j", &list, &n, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].text, "b");
	free(list);
	cr_assert_eq(pb_store_blockers_open(st_store, "nothing", &list, &n, NULL), 0);
	cr_assert_eq(n, 0);
	free(list);
}

Test(blockers, critical_count_ignores_resolved_and_others)
{
	int count = -1;
	int64_t c1;

	cr_assert_eq(pb_store_blockers_critical(st_store, "neo4j", &count, NULL), 0);
	cr_assert_eq(count, 0);
	c1 = block("neo4j", PB_SEV_CRITICAL, "one");
	block("neo4j", PB_SEV_CRITICAL, "two");
	block("neo4j", PB_SEV_HIGH, "not critical");
	block("redis", PB_SEV_CRITICAL, "other component");
	cr_assert_eq(pb_store_blockers_critical(st_store, "neo4j", &count, NULL), 0);
	cr_assert_eq(count, 2);
	cr_assert_eq(pb_store_blocker_resolve(st_store, c1, "U-hank", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_blockers_critical(st_store, "neo4j", &count, NULL), 0);
	cr_assert_eq(count, 1);
}

Test(blockers, invalid_severity_is_refused)
{
	pb_blocker b;

	memset(&b, 0, sizeof(b));
	b.opened_at = ST_NOW;
	pb_strlcpy(b.component, "neo4j", sizeof(b.component));
	b.severity = PB_SEV_COUNT;
	cr_assert_eq(pb_store_blocker_add(st_store, &b, NULL), PB_E_INVALID);
}

/* test_validations.c — validation runs: latest wins, JSON results kept verbatim. */
#include <criterion/criterion.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(validations, .init = st_fixture_init, .fini = st_fixture_fini);

static int64_t validate(int64_t promotion_id, const char *rev, bool passed, double cov, const char *json)
{
	pb_validation v;
	pb_err err;
	char *copy = json ? strdup(json) : NULL;
	int r;

	memset(&v, 0, sizeof(v));
	v.started_at = ST_NOW;
	pb_err_init(&err);
	v.promotion_id = promotion_id;
	pb_strlcpy(v.revision, rev, sizeof(v.revision));
	v.passed = passed;
	v.coverage = cov;
	v.result_json = copy;
	v.finished_at = 1700000100;
	r = pb_store_validation_add(st_store, &v, &err);
	cr_assert_eq(r, 0, "validation add: %d %s", r, pb_err_text(&err));
	cr_assert_gt(v.started_at, 0);
	pb_validation_deinit(&v);
	cr_assert_null(v.result_json);
	return v.id;
}

Test(validations, latest_wins_and_json_is_kept)
{
	const char *json = "{\"checks\":[{\"name\":\"unit\",\"ok\":true,\"note\":\"ü \\\"q\\\"\"}]}";
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_validation v;
	pb_err err;

	pb_err_init(&err);
	validate(id, "rev1", false, 41.5, "{\"checks\":[]}");
	int64_t second = validate(id, "rev2", true, 87.25, json);
	cr_assert_eq(pb_store_validation_latest(st_store, id, &v, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(v.id, second);
	cr_assert_eq(v.promotion_id, id);
	cr_assert_str_eq(v.revision, "rev2");
	cr_assert(v.passed);
	cr_assert_float_eq(v.coverage, 87.25, 1e-9);
	cr_assert_not_null(v.result_json);
	cr_assert_str_eq(v.result_json, json);
	cr_assert_eq(v.finished_at, 1700000100);
	pb_validation_deinit(&v);
	pb_validation_deinit(NULL);
}

Test(validations, unknown_coverage_and_no_json)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_validation v;

	validate(id, "rev1", false, -1, NULL);
	cr_assert_eq(pb_store_validation_latest(st_store, id, &v, NULL), 0);
	cr_assert_null(v.result_json);
	cr_assert_float_eq(v.coverage, -1, 1e-9);
	cr_assert_not(v.passed);
	pb_validation_deinit(&v);
}

Test(validations, none_yet_is_notfound)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_validation v;
	pb_validation orphan;

	cr_assert_eq(pb_store_validation_latest(st_store, id, &v, NULL), PB_E_NOTFOUND);
	cr_assert_null(v.result_json);
	memset(&orphan, 0, sizeof(orphan));
	orphan.started_at = ST_NOW;
	orphan.promotion_id = 999;
	cr_assert_eq(pb_store_validation_add(st_store, &orphan, NULL), PB_E_NOTFOUND);
}

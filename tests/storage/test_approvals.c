/* test_approvals.c — approvals bound to a revision: duplicates, listing, reset on re-validation. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(approvals, .init = st_fixture_init, .fini = st_fixture_fini);

static int approve(int64_t promotion_id, const char *who, const char *revision, pb_err *err)
{
	pb_approval a;

	memset(&a, 0, sizeof(a));
	a.at = ST_NOW;
	a.promotion_id = promotion_id;
	pb_strlcpy(a.approver, who, sizeof(a.approver));
	pb_strlcpy(a.revision, revision, sizeof(a.revision));
	pb_strlcpy(a.comment, "lgtm", sizeof(a.comment));
	return pb_store_approval_add(st_store, &a, err);
}

Test(approvals, duplicate_is_a_conflict)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(approve(id, "U-carol", "rev1", &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(approve(id, "U-carol", "rev1", &err), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "already approved"), "%s", pb_err_text(&err));
	/* The same person may approve a new revision. */
	cr_assert_eq(approve(id, "U-carol", "rev2", NULL), 0);
}

Test(approvals, list_is_per_revision)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	int64_t other = st_promotion(st_store, "redis", 2);
	pb_approval *list = NULL;
	size_t n = 0;

	cr_assert_eq(approve(id, "U-carol", "rev1", NULL), 0);
	cr_assert_eq(approve(id, "U-dave", "rev1", NULL), 0);
	cr_assert_eq(approve(id, "U-erin", "rev2", NULL), 0);
	cr_assert_eq(approve(other, "U-frank", "rev1", NULL), 0);
	cr_assert_eq(pb_store_approvals_list(st_store, id, "rev1", &list, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].approver, "U-carol");
	cr_assert_str_eq(list[1].approver, "U-dave");
	cr_assert_str_eq(list[0].revision, "rev1");
	cr_assert_str_eq(list[0].comment, "lgtm");
	cr_assert_eq(list[0].promotion_id, id);
	cr_assert_gt(list[0].at, 0);
	free(list);
	cr_assert_eq(pb_store_approvals_list(st_store, id, "rev3", &list, &n, NULL), 0);
	cr_assert_eq(n, 0);
	free(list);
}

Test(approvals, reset_keeps_only_the_current_revision)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_approval *list = NULL;
	size_t n = 0;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_set_revision(st_store, id, "rev1", ST_NOW, NULL), 0);
	cr_assert_eq(approve(id, "U-carol", "rev1", NULL), 0);
	cr_assert_eq(approve(id, "U-dave", "rev1", NULL), 0);
	/* Re-validation on a new revision. */
	cr_assert_eq(pb_store_promotion_set_revision(st_store, id, "rev2", ST_NOW, NULL), 0);
	cr_assert_eq(approve(id, "U-erin", "rev2", NULL), 0);
	cr_assert_eq(pb_store_approvals_reset(st_store, id, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_approvals_list(st_store, id, "rev1", &list, &n, NULL), 0);
	cr_assert_eq(n, 0);
	free(list);
	cr_assert_eq(pb_store_approvals_list(st_store, id, "rev2", &list, &n, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].approver, "U-erin");
	free(list);
	/* The old approver can approve again now. */
	cr_assert_eq(approve(id, "U-carol", "rev2", NULL), 0);
}

Test(approvals, unknown_promotion_is_notfound)
{
	cr_assert_eq(approve(999, "U-carol", "rev1", NULL), PB_E_NOTFOUND);
}

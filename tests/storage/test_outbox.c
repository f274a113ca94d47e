/* test_outbox.c — the GitHub outbox, drift rows and issue links through pb_store_* (both backends). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(outbox, .init = st_fixture_init, .fini = st_fixture_fini);

static int64_t add_op(int64_t promotion_id, const char *group, const char *kind, int64_t ref_id)
{
	pb_ghop op;
	pb_err e;

	memset(&op, 0, sizeof(op));
	pb_err_init(&e);
	op.promotion_id = promotion_id;
	pb_strlcpy(op.group, group, sizeof(op.group));
	pb_strlcpy(op.kind, kind, sizeof(op.kind));
	op.ref_id = ref_id;
	op.payload = "{\"title\":\"x\"}";
	op.created_at = ST_NOW;
	cr_assert_eq(pb_store_ghop_add(st_store, &op, &e), 0, "%s", pb_err_text(&e));
	return op.id;
}

Test(outbox, retry_fail_find_and_the_card_summary)
{
	int64_t pid = st_promotion(st_store, "neo4j", 2);
	char grp[64];
	int64_t a, b, c, max_id = -1;
	pb_ghops_summary sum;
	pb_ghop op, oldest;
	size_t pending = 0;
	bool maybe = true;

	snprintf(grp, sizeof(grp), "promotion:%lld", (long long)pid);
	a = add_op(pid, grp, "issue.open", 0);
	b = add_op(pid, grp, "comment", 7);
	c = add_op(pid, grp, "labels", 0);
	cr_assert_eq(pb_store_ghops_max_id(st_store, &max_id, NULL), 0);
	cr_assert_eq(max_id, c);
	cr_assert_eq(pb_store_ghops_pending_count(st_store, &pending, NULL), 0);
	cr_assert_eq(pending, 3);

	/* the head fails once (may have been sent), is retried later, then fails for good */
	cr_assert_eq(pb_store_ghop_claim(st_store, b, "me", ST_NOW, ST_NOW + 60, NULL, NULL), PB_E_CONFLICT);
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "me", ST_NOW, ST_NOW + 60, &maybe, NULL), 0);
	cr_assert(!maybe);
	cr_assert_eq(pb_store_ghop_retry(st_store, a, ST_NOW + 30, true, 502, "bad gateway", NULL), 0);
	cr_assert_eq(pb_store_ghop_get(st_store, a, &op, NULL), 0);
	cr_assert_eq(op.next_at, ST_NOW + 30);
	cr_assert(op.maybe_sent);
	cr_assert_eq(op.last_status, 502);
	pb_ghop_deinit(&op);
	cr_assert_eq(pb_store_ghops_summary(st_store, pid, &sum, NULL), 0);
	cr_assert_eq(sum.pending, 3);
	cr_assert_eq(sum.failed, 0);
	cr_assert_eq(sum.head_status, 502);
	cr_assert_str_eq(sum.head_error, "bad gateway");
	cr_assert_eq(sum.head_attempts, 1);
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "me", ST_NOW + 30, ST_NOW + 90, &maybe, NULL), 0);
	cr_assert(maybe);
	cr_assert_eq(pb_store_ghop_fail(st_store, a, 422, "validation failed", ST_NOW + 31, NULL), 0);
	cr_assert_eq(pb_store_ghops_summary(st_store, pid, &sum, NULL), 0);
	cr_assert_eq(sum.pending, 2);
	cr_assert_eq(sum.failed, 1);
	cr_assert_str_eq(sum.failed_error, "validation failed");

	/* the group moves on: b is the head now */
	memset(&oldest, 0, sizeof(oldest));
	cr_assert_eq(pb_store_ghops_pending_after(st_store, a, &pending, &oldest, NULL), 0);
	cr_assert_eq(pending, 2);
	cr_assert_eq(oldest.id, b);
	pb_ghop_deinit(&oldest);
	cr_assert_eq(pb_store_ghop_claim(st_store, b, "me", ST_NOW + 40, ST_NOW + 100, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_done(st_store, b, "{\"id\":99}", ST_NOW + 41, NULL), 0);
	cr_assert_eq(pb_store_ghop_find(st_store, grp, "comment", 7, &op, NULL), 0);
	cr_assert_eq(op.id, b);
	cr_assert_eq(op.state, PB_GHOP_DONE);
	cr_assert_str_eq(op.result, "{\"id\":99}");
	pb_ghop_deinit(&op);
	cr_assert_eq(pb_store_ghop_find(st_store, grp, "comment", 8, &op, NULL), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_ghops_pending_after(st_store, c, &pending, NULL, NULL), 0);
	cr_assert_eq(pending, 0);
}

Test(outbox, due_respects_next_at_leases_and_limit)
{
	pb_ghop *due = NULL;
	size_t n = 0;
	int64_t a = add_op(0, "blocker:1", "issue.open", 1);
	int64_t b = add_op(0, "blocker:2", "issue.open", 2);

	add_op(0, "blocker:3", "issue.open", 3);
	cr_assert_eq(pb_store_ghops_due(st_store, ST_NOW, 2, &due, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(due[0].id, a);
	cr_assert_eq(due[1].id, b);
	pb_ghops_free(due, n);
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "me", ST_NOW, ST_NOW + 60, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_retry(st_store, b, ST_NOW + 600, false, 0, "later", NULL), 0);
	cr_assert_eq(pb_store_ghops_due(st_store, ST_NOW, 0, &due, &n, NULL), 0);
	cr_assert_eq(n, 1, "a leased op and a not-yet-due op are not handed out");
	pb_ghops_free(due, n);
	/* the lease expires */
	cr_assert_eq(pb_store_ghops_due(st_store, ST_NOW + 60, 0, &due, &n, NULL), 0);
	cr_assert_eq(n, 2);
	pb_ghops_free(due, n);
}

/* The lease_until of op id (asserts it exists). */
static int64_t lease_until_of(int64_t id)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT lease_until FROM gh_ops WHERE id = %lld", (long long)id);
	return st_sql_int(st_db_path(), sql);
}

/*
 * A leader takeover: the claims of one process (every worker of it) are cut down
 * to the hold and marked maybe-sent; another process's — even one whose token
 * the prefix would match as a LIKE pattern ('_' in the host) or as a bare
 * string prefix (pid 11 vs 111) — and a claim already ending earlier are not.
 */
Test(outbox, release_process_cuts_only_that_process_claims_to_the_hold)
{
	int64_t a = add_op(0, "blocker:1", "issue.open", 1), b = add_op(0, "blocker:2", "issue.open", 2);
	int64_t c = add_op(0, "blocker:3", "issue.open", 3), d = add_op(0, "blocker:4", "issue.open", 4);
	int64_t e5 = add_op(0, "blocker:5", "issue.open", 5), f = add_op(0, "blocker:6", "issue.open", 6);
	pb_ghop *due = NULL;
	size_t n = 99;
	bool maybe = false;
	pb_ghop op;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "h_x:11:0000beef:slack-bg-0", ST_NOW, ST_NOW + 120, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_claim(st_store, b, "h_x:11:0000beef:slack-bg-1", ST_NOW, ST_NOW + 120, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_claim(st_store, c, "h_x:111:0000beef:slack-bg-0", ST_NOW, ST_NOW + 120, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_claim(st_store, d, "hAx:11:0000beef:slack-bg-0", ST_NOW, ST_NOW + 120, NULL, NULL), 0);
	cr_assert_eq(pb_store_ghop_claim(st_store, e5, "h_x:11:0000beef:slack-bg-0", ST_NOW, ST_NOW + 5, NULL, NULL), 0);
	/* f: pending, never claimed */

	cr_assert_eq(pb_store_ghops_release_process(st_store, "h_x:11:0000beef:", ST_NOW + 20, &n, &e), 0, "%s",
		     pb_err_text(&e));
	cr_assert_eq(n, 2);
	cr_assert_eq(lease_until_of(a), ST_NOW + 20);
	cr_assert_eq(lease_until_of(b), ST_NOW + 20);
	cr_assert_eq(lease_until_of(c), ST_NOW + 120, "pid 111 is another process");
	cr_assert_eq(lease_until_of(d), ST_NOW + 120, "'_' is no wildcard");
	cr_assert_eq(lease_until_of(e5), ST_NOW + 5, "a claim is never lengthened");
	cr_assert_eq(lease_until_of(f), 0);
	cr_assert_eq(pb_store_ghop_get(st_store, a, &op, NULL), 0);
	cr_assert(op.maybe_sent);
	cr_assert_eq(op.state, PB_GHOP_PENDING);
	pb_ghop_deinit(&op);

	/* held until the hold, not a second less; then the next claimer is told to look first */
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "new:22:0000cafe:bg-0", ST_NOW + 19, ST_NOW + 80, NULL, NULL),
		     PB_E_CONFLICT);
	cr_assert_eq(pb_store_ghops_due(st_store, ST_NOW + 19, 0, &due, &n, NULL), 0);
	cr_assert_eq(n, 2, "only e5 (its own claim ended) and the unclaimed f");
	pb_ghops_free(due, n);
	cr_assert_eq(pb_store_ghops_due(st_store, ST_NOW + 20, 0, &due, &n, NULL), 0);
	cr_assert_eq(n, 4);
	pb_ghops_free(due, n);
	cr_assert_eq(pb_store_ghop_claim(st_store, a, "new:22:0000cafe:bg-0", ST_NOW + 20, ST_NOW + 80, &maybe, NULL), 0);
	cr_assert(maybe, "the new leader looks before sending");

	/* nothing left of that process: a second takeover changes nothing; no prefix is refused */
	cr_assert_eq(pb_store_ghops_release_process(st_store, "h_x:11:0000beef:", ST_NOW + 20, &n, NULL), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(pb_store_ghops_release_process(st_store, "", ST_NOW + 20, &n, &e), -EINVAL);
}

Test(outbox, drift_rows_and_issue_links)
{
	int64_t pid = st_promotion(st_store, "neo4j", 2);
	pb_gh_drift d, got;
	pb_blocker b, found;
	char url[256];

	memset(&d, 0, sizeof(d));
	d.promotion_id = pid;
	d.issue_number = 12;
	pb_strlcpy(d.text, "issue #12 was closed by hand", sizeof(d.text));
	pb_strlcpy(d.state, "in_review", sizeof(d.state));
	d.updated_at = ST_NOW;
	d.first_seen_at = ST_NOW;
	d.checked_at = ST_NOW;
	cr_assert_eq(pb_store_gh_drift_get(st_store, pid, &got, NULL), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_gh_drift_put(st_store, &d, NULL), 0);
	d.confirmed = true;
	d.checked_at = ST_NOW + 60;
	cr_assert_eq(pb_store_gh_drift_put(st_store, &d, NULL), 0);
	cr_assert_eq(pb_store_gh_drift_get(st_store, pid, &got, NULL), 0);
	cr_assert(got.confirmed);
	cr_assert_eq(got.checked_at, ST_NOW + 60);
	cr_assert_str_eq(got.text, "issue #12 was closed by hand");
	cr_assert_eq(pb_store_gh_drift_clear(st_store, pid, NULL), 0);
	cr_assert_eq(pb_store_gh_drift_get(st_store, pid, &got, NULL), PB_E_NOTFOUND);

	cr_assert_eq(pb_store_promotion_set_issue_url(st_store, pid, 12, "https://github.com/o/r/issues/12", ST_NOW,
						      NULL), 0);
	cr_assert_eq(pb_store_promotion_issue_url(st_store, pid, url, sizeof(url), NULL), 0);
	cr_assert_str_eq(url, "https://github.com/o/r/issues/12");

	memset(&b, 0, sizeof(b));
	pb_strlcpy(b.component, "neo4j", sizeof(b.component));
	b.severity = PB_SEV_HIGH;
	pb_strlcpy(b.text, "flaky", sizeof(b.text));
	pb_strlcpy(b.opened_by, "U-a", sizeof(b.opened_by));
	b.opened_at = ST_NOW;
	cr_assert_eq(pb_store_blocker_add(st_store, &b, NULL), 0);
	cr_assert_eq(pb_store_blocker_set_issue(st_store, b.id, 40, NULL), 0);
	cr_assert_eq(pb_store_blocker_by_issue(st_store, "neo4j", 40, &found, NULL), 0);
	cr_assert_eq(found.id, b.id);
	cr_assert_eq(pb_store_blocker_by_issue(st_store, "neo4j", 41, &found, NULL), PB_E_NOTFOUND);
}

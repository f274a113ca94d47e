/* approvals.c — approvals, each bound to the revision that was validated. */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

int pb_store_approval_add(pb_store *st, const pb_approval *a, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(a->at, "approval add", err))
		return -EINVAL;

	if (!a->approver[0])
		return pb_err_set(err, PB_E_INVALID, "storage: an approval needs an approver");
	r = pb_sql_prepare(st,
			   "INSERT INTO approvals(promotion_id, approver, revision, comment, at)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
			   &stmt, "approval add", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, a->promotion_id);
	pb_sql_bind_text(stmt, 2, a->approver);
	pb_sql_bind_text(stmt, 3, a->revision);
	pb_sql_bind_text(stmt, 4, a->comment);
	pb_q_bind_i64(stmt, 5, a->at);
	r = pb_sql_step_done(st, stmt, "approval add", err);
	if (r == PB_E_CONFLICT)
		return pb_err_set(err, r, "%s already approved revision %s of promotion #%lld", a->approver,
				  a->revision[0] ? a->revision : "(none)", (long long)a->promotion_id);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)a->promotion_id);
	return r;
}

static int approval_row(pb_q *s, void *elem, pb_err *err)
{
	pb_approval *a = elem;

	(void)err;
	memset(a, 0, sizeof(*a));
	a->promotion_id = pb_q_col_i64(s, 0);
	pb_sql_col_text(s, 1, a->approver, sizeof(a->approver));
	pb_sql_col_text(s, 2, a->revision, sizeof(a->revision));
	pb_sql_col_text(s, 3, a->comment, sizeof(a->comment));
	a->at = pb_q_col_i64(s, 4);
	return 0;
}

int pb_store_approvals_list(pb_store *st, int64_t promotion_id, const char *revision,
			    pb_approval **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT promotion_id, approver, revision, comment, at FROM approvals"
			   " WHERE promotion_id = ?1 AND revision = ?2 ORDER BY at, approver",
			   &stmt, "approvals list", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	pb_sql_bind_text(stmt, 2, revision);
	return pb_sql_collect(st, stmt, sizeof(**out), approval_row, "approvals list", (void **)out, count,
			      err);
}

/*
 * The revision kept is the promotion's current (validated) revision as
 * stored: callers set it with pb_store_promotion_set_revision first, then
 * reset, so approvals of an older revision stop counting.
 */
int pb_store_approvals_reset(pb_store *st, int64_t promotion_id, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "DELETE FROM approvals WHERE promotion_id = ?1 AND revision IS DISTINCT FROM"
			   " (SELECT revision FROM promotions WHERE id = ?1)",
			   &stmt, "approvals reset", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_step_done(st, stmt, "approvals reset", err);
}

/* gh_drift.c — what an open promotion's GitHub issue contradicts, as the poller last saw it. */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

static int drift_row(pb_q *s, void *elem, pb_err *err)
{
	pb_gh_drift *d = elem;

	(void)err;
	memset(d, 0, sizeof(*d));
	d->promotion_id = pb_q_col_i64(s, 0);
	d->issue_number = pb_q_col_i64(s, 1);
	pb_sql_col_text(s, 2, d->text, sizeof(d->text));
	pb_sql_col_text(s, 3, d->state, sizeof(d->state));
	d->updated_at = pb_q_col_i64(s, 4);
	d->confirmed = pb_q_col_int(s, 5) != 0;
	d->first_seen_at = pb_q_col_i64(s, 6);
	d->checked_at = pb_q_col_i64(s, 7);
	return 0;
}

int pb_store_gh_drift_get(pb_store *st, int64_t promotion_id, pb_gh_drift *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT promotion_id, issue_number, text, state, updated_at, confirmed, first_seen_at,"
			   " checked_at FROM gh_drift WHERE promotion_id = ?1",
			   &stmt, "gh drift get", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_one(st, stmt, drift_row, out, "gh drift get", err);
}

int pb_store_gh_drift_put(pb_store *st, const pb_gh_drift *d, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(d->first_seen_at, "gh drift put", err) ||
	    pb_sql_need_time(d->checked_at, "gh drift put", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "INSERT INTO gh_drift(promotion_id, issue_number, text, state, updated_at,"
			   " confirmed, first_seen_at, checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			   " ON CONFLICT (promotion_id) DO UPDATE SET issue_number = excluded.issue_number,"
			   " text = excluded.text, state = excluded.state, updated_at = excluded.updated_at,"
			   " confirmed = excluded.confirmed, first_seen_at = excluded.first_seen_at,"
			   " checked_at = excluded.checked_at",
			   &stmt, "gh drift put", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, d->promotion_id);
	pb_q_bind_i64(stmt, 2, d->issue_number);
	pb_sql_bind_text(stmt, 3, d->text);
	pb_sql_bind_text(stmt, 4, d->state);
	pb_q_bind_i64(stmt, 5, d->updated_at);
	pb_q_bind_i64(stmt, 6, d->confirmed ? 1 : 0);
	pb_q_bind_i64(stmt, 7, d->first_seen_at);
	pb_q_bind_i64(stmt, 8, d->checked_at);
	r = pb_sql_step_done(st, stmt, "gh drift put", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, PB_E_NOTFOUND, "storage: no promotion #%lld", (long long)d->promotion_id);
	return r;
}

int pb_store_gh_drift_clear(pb_store *st, int64_t promotion_id, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "DELETE FROM gh_drift WHERE promotion_id = ?1", &stmt, "gh drift clear", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_step_done(st, stmt, "gh drift clear", err);
}

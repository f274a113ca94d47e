/* gh_drift.c — what an open promotion's GitHub issue contradicts, as the poller last saw it. */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

static int drift_row(sqlite3_stmt *s, void *elem, pb_err *err)
{
	pb_gh_drift *d = elem;

	(void)err;
	memset(d, 0, sizeof(*d));
	d->promotion_id = sqlite3_column_int64(s, 0);
	d->issue_number = sqlite3_column_int64(s, 1);
	pb_sql_col_text(s, 2, d->text, sizeof(d->text));
	pb_sql_col_text(s, 3, d->state, sizeof(d->state));
	d->updated_at = sqlite3_column_int64(s, 4);
	d->confirmed = sqlite3_column_int(s, 5) != 0;
	d->first_seen_at = sqlite3_column_int64(s, 6);
	d->checked_at = sqlite3_column_int64(s, 7);
	return 0;
}

int pb_store_gh_drift_get(pb_store *st, int64_t promotion_id, pb_gh_drift *out, pb_err *err)
{
	sqlite3_stmt *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT promotion_id, issue_number, text, state, updated_at, confirmed, first_seen_at,"
			   " checked_at FROM gh_drift WHERE promotion_id = ?1",
			   &stmt, "gh drift get", err);
	if (r)
		return r;
	sqlite3_bind_int64(stmt, 1, promotion_id);
	return pb_sql_one(st, stmt, drift_row, out, "gh drift get", err);
}

int pb_store_gh_drift_put(pb_store *st, const pb_gh_drift *d, pb_err *err)
{
	sqlite3_stmt *stmt;
	int r;

	if (pb_sql_need_time(d->first_seen_at, "gh drift put", err) ||
	    pb_sql_need_time(d->checked_at, "gh drift put", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "INSERT OR REPLACE INTO gh_drift(promotion_id, issue_number, text, state, updated_at,"
			   " confirmed, first_seen_at, checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			   &stmt, "gh drift put", err);
	if (r)
		return r;
	sqlite3_bind_int64(stmt, 1, d->promotion_id);
	sqlite3_bind_int64(stmt, 2, d->issue_number);
	pb_sql_bind_text(stmt, 3, d->text);
	pb_sql_bind_text(stmt, 4, d->state);
	sqlite3_bind_int64(stmt, 5, d->updated_at);
	sqlite3_bind_int(stmt, 6, d->confirmed ? 1 : 0);
	sqlite3_bind_int64(stmt, 7, d->first_seen_at);
	sqlite3_bind_int64(stmt, 8, d->checked_at);
	r = pb_sql_step_done(st, stmt, "gh drift put", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, PB_E_NOTFOUND, "storage: no promotion #%lld", (long long)d->promotion_id);
	return r;
}

int pb_store_gh_drift_clear(pb_store *st, int64_t promotion_id, pb_err *err)
{
	sqlite3_stmt *stmt;
	int r;

	r = pb_sql_prepare(st, "DELETE FROM gh_drift WHERE promotion_id = ?1", &stmt, "gh drift clear", err);
	if (r)
		return r;
	sqlite3_bind_int64(stmt, 1, promotion_id);
	return pb_sql_step_done(st, stmt, "gh drift clear", err);
}

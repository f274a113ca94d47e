/* events.c — the append-only audit trail (no update or delete API; triggers forbid both). */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

#define EVENT_COLS "id, promotion_id, component, actor, kind, from_state, to_state, detail, at"

int pb_store_event_append(pb_store *st, const pb_event *ev, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(ev->at, "event append", err))
		return -EINVAL;

	if (!ev->kind[0])
		return pb_err_set(err, PB_E_INVALID, "storage: an audit event needs a kind");
	r = pb_sql_prepare(st,
			   "INSERT INTO events(promotion_id, component, actor, kind, from_state, to_state,"
			   " detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			   &stmt, "event append", err);
	if (r)
		return r;
	pb_sql_bind_id_or_null(stmt, 1, ev->promotion_id);
	pb_sql_bind_text(stmt, 2, ev->component);
	pb_sql_bind_text(stmt, 3, ev->actor);
	pb_sql_bind_text(stmt, 4, ev->kind);
	pb_sql_bind_text(stmt, 5, ev->from_state);
	pb_sql_bind_text(stmt, 6, ev->to_state);
	pb_sql_bind_text(stmt, 7, ev->detail);
	pb_q_bind_i64(stmt, 8, ev->at);
	r = pb_sql_step_done(st, stmt, "event append", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "storage: event append: promotion #%lld does not exist",
				  (long long)ev->promotion_id);
	if (r == PB_E_CONFLICT)
		return pb_err_set(err, -EIO, "storage: event append: unexpected duplicate");
	return r;
}

static int event_row(pb_q *s, void *elem, pb_err *err)
{
	pb_event *ev = elem;

	(void)err;
	memset(ev, 0, sizeof(*ev));
	ev->id = pb_q_col_i64(s, 0);
	ev->promotion_id = pb_q_col_i64(s, 1); /* NULL reads as 0 */
	pb_sql_col_text(s, 2, ev->component, sizeof(ev->component));
	pb_sql_col_text(s, 3, ev->actor, sizeof(ev->actor));
	pb_sql_col_text(s, 4, ev->kind, sizeof(ev->kind));
	pb_sql_col_text(s, 5, ev->from_state, sizeof(ev->from_state));
	pb_sql_col_text(s, 6, ev->to_state, sizeof(ev->to_state));
	pb_sql_col_text(s, 7, ev->detail, sizeof(ev->detail));
	ev->at = pb_q_col_i64(s, 8);
	return 0;
}

/* Collects every row of a bound statement; finalizes it. */
static int event_list(pb_store *st, pb_q *stmt, pb_event **out, size_t *count, pb_err *err)
{
	return pb_sql_collect(st, stmt, sizeof(**out), event_row, "event list", (void **)out, count, err);
}

/* With a limit, the *most recent* `limit` events are returned, still oldest first,
 * which is what a history view wants. */
int pb_store_events_for_component(pb_store *st, const char *component, size_t limit,
				  pb_event **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT * FROM (SELECT " EVENT_COLS " FROM events WHERE component = ?1"
			   " ORDER BY id DESC LIMIT ?2) AS recent ORDER BY id",
			   &stmt, "events for component", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	/* no limit = the largest one both backends accept */
	pb_q_bind_i64(stmt, 2, limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	return event_list(st, stmt, out, count, err);
}

int pb_store_events_for_promotion(pb_store *st, int64_t promotion_id,
				  pb_event **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st, "SELECT " EVENT_COLS " FROM events WHERE promotion_id = ?1 ORDER BY id",
			   &stmt, "events for promotion", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return event_list(st, stmt, out, count, err);
}

/* blockers.c — blockers on a component: open, resolve, list by severity. */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

#define BLOCKER_COLS \
	"id, component, severity, text, opened_by, resolved_by, opened_at, resolved_at, issue_number"

/* Severity is stored by name (readable audit); this ranks it for ORDER BY. */
#define SEVERITY_RANK \
	"CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END"

static int blocker_row(pb_q *s, void *elem, pb_err *err)
{
	pb_blocker *b = elem;
	char sev[16];

	memset(b, 0, sizeof(*b));
	b->id = pb_q_col_i64(s, 0);
	pb_sql_col_text(s, 1, b->component, sizeof(b->component));
	pb_sql_col_text(s, 2, sev, sizeof(sev));
	pb_sql_col_text(s, 3, b->text, sizeof(b->text));
	pb_sql_col_text(s, 4, b->opened_by, sizeof(b->opened_by));
	pb_sql_col_text(s, 5, b->resolved_by, sizeof(b->resolved_by));
	b->opened_at = pb_q_col_i64(s, 6);
	b->resolved_at = pb_q_col_i64(s, 7);
	b->issue_number = pb_q_col_i64(s, 8);
	if (pb_severity_parse(sev, &b->severity))
		return pb_err_set(err, -EIO, "storage: blocker #%lld has unknown severity '%s'",
				  (long long)b->id, sev);
	return 0;
}

int pb_store_blocker_add(pb_store *st, pb_blocker *b, pb_err *err)
{
	pb_q *stmt;
	int64_t now = b->opened_at;
	int r;

	if (pb_sql_need_time(now, "blocker add", err))
		return -EINVAL;

	if ((unsigned)b->severity >= PB_SEV_COUNT)
		return pb_err_set(err, PB_E_INVALID, "storage: invalid blocker severity");
	if (!b->component[0])
		return pb_err_set(err, PB_E_INVALID, "storage: a blocker needs a component");
	r = pb_sql_prepare(st,
			   "INSERT INTO blockers(component, severity, text, opened_by, opened_at, issue_number)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
			   &stmt, "blocker add", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, b->component);
	pb_sql_bind_text(stmt, 2, pb_severity_name(b->severity));
	pb_sql_bind_text(stmt, 3, b->text);
	pb_sql_bind_text(stmt, 4, b->opened_by);
	pb_q_bind_i64(stmt, 5, now);
	pb_q_bind_i64(stmt, 6, b->issue_number);
	r = pb_sql_insert_id(st, stmt, &b->id, "blocker add", err);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: blocker add: unexpected constraint failure");
	if (r)
		return r;
	b->opened_at = now;
	b->resolved_at = 0;
	b->resolved_by[0] = '\0';
	return 0;
}

int pb_store_blocker_get(pb_store *st, int64_t id, pb_blocker *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "SELECT " BLOCKER_COLS " FROM blockers WHERE id = ?1", &stmt, "blocker get",
			   err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	return pb_sql_one(st, stmt, blocker_row, out, "blocker get", err);
}

int pb_store_blocker_resolve(pb_store *st, int64_t id, const char *actor, int64_t now, pb_err *err)
{
	pb_q *stmt;
	pb_blocker b;
	char when[64];
	int r;

	if (pb_sql_need_time(now, "blocker resolve", err))
		return -EINVAL;

	/* resolved_at = 0 means open; the UPDATE only wins while it still is. */
	r = pb_sql_prepare(st,
			   "UPDATE blockers SET resolved_by = ?1, resolved_at = ?2 WHERE id = ?3 AND resolved_at = 0",
			   &stmt, "blocker resolve", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, actor);
	pb_q_bind_i64(stmt, 2, now > 0 ? now : 1);
	pb_q_bind_i64(stmt, 3, id);
	r = pb_sql_step_done(st, stmt, "blocker resolve", err);
	if (r)
		return r;
	if (st->changes > 0)
		return 0;
	r = pb_store_blocker_get(st, id, &b, err);
	if (r)
		return r;
	pb_time_fmt(b.resolved_at, when, sizeof(when));
	return pb_err_set(err, PB_E_CONFLICT, "blocker #%lld was already resolved by %s at %s", (long long)id,
			  b.resolved_by[0] ? b.resolved_by : "someone", when);
}

int pb_store_blockers_open(pb_store *st, const char *component, pb_blocker **out,
			   size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT " BLOCKER_COLS " FROM blockers WHERE component = ?1 AND resolved_at = 0"
			   " ORDER BY " SEVERITY_RANK " DESC, opened_at, id",
			   &stmt, "open blockers", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	return pb_sql_collect(st, stmt, sizeof(**out), blocker_row, "open blockers", (void **)out, count,
			      err);
}

int pb_store_blockers_opened_between(pb_store *st, const char *component, int64_t from, int64_t to,
				     pb_blocker **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT " BLOCKER_COLS " FROM blockers WHERE component = ?1 AND opened_at >= ?2"
			   " AND opened_at < ?3 ORDER BY opened_at, id",
			   &stmt, "blockers opened between", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	pb_q_bind_i64(stmt, 2, from);
	pb_q_bind_i64(stmt, 3, to);
	return pb_sql_collect(st, stmt, sizeof(**out), blocker_row, "blockers opened between", (void **)out, count,
			      err);
}

int pb_store_blockers_critical(pb_store *st, const char *component, int *count, pb_err *err)
{
	pb_q *stmt;
	int64_t n = 0;
	int r;

	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT count(*) FROM blockers WHERE component = ?1 AND resolved_at = 0"
			   " AND severity = 'critical'",
			   &stmt, "critical blockers", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	r = pb_sql_one(st, stmt, pb_sql_row_i64, &n, "critical blockers", err);
	if (r == 0)
		*count = (int)n;
	return r;
}

int pb_store_blocker_by_issue(pb_store *st, const char *component, int64_t number, pb_blocker *out,
			      pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT " BLOCKER_COLS " FROM blockers WHERE component = ?1 AND issue_number = ?2"
			   " ORDER BY id DESC LIMIT 1",
			   &stmt, "blocker by issue", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	pb_q_bind_i64(stmt, 2, number);
	return pb_sql_one(st, stmt, blocker_row, out, "blocker by issue", err);
}

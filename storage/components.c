/* components.c — the current maturity stage of each component. */
#include "pb_str.h"
#include "store_priv.h"

int pb_store_component_ensure(pb_store *st, const char *id, int initial_stage, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "INSERT INTO components(id, stage, updated_at) VALUES (?1, ?2, ?3)"
			   " ON CONFLICT (id) DO NOTHING",
			   &stmt, "component ensure", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, initial_stage);
	pb_q_bind_i64(stmt, 3, now);
	return pb_sql_step_done(st, stmt, "component ensure", err);
}

static int stage_row(pb_q *s, void *elem, pb_err *err)
{
	(void)err;
	*(int *)elem = pb_q_col_int(s, 0);
	return 0;
}

int pb_store_component_stage(pb_store *st, const char *id, int *stage, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "SELECT stage FROM components WHERE id = ?1", &stmt, "component stage", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, id);
	r = pb_sql_one(st, stmt, stage_row, stage, "component stage", err);
	return r;
}

int pb_store_component_set_stage(pb_store *st, const char *id, int stage, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "UPDATE components SET stage = ?1, updated_at = ?2 WHERE id = ?3", &stmt,
			   "component set stage", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, stage);
	pb_q_bind_i64(stmt, 2, now);
	pb_sql_bind_text(stmt, 3, id);
	r = pb_sql_step_done(st, stmt, "component set stage", err);
	if (r == 0 && st->changes == 0)
		r = pb_err_set(err, PB_E_NOTFOUND, "component %s is unknown to storage", id);
	return r;
}

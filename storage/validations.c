/* validations.c — validation runs of a promotion, with their per-check JSON results. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

int pb_store_validation_add(pb_store *st, pb_validation *v, pb_err *err)
{
	pb_q *stmt;
	int64_t started = v->started_at;
	int r;

	if (pb_sql_need_time(started, "validation add", err))
		return -EINVAL;

	r = pb_sql_prepare(st,
			   "INSERT INTO validations(promotion_id, revision, passed, coverage, result_json,"
			   " started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
			   &stmt, "validation add", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, v->promotion_id);
	pb_sql_bind_text(stmt, 2, v->revision);
	pb_q_bind_i64(stmt, 3, v->passed ? 1 : 0);
	pb_q_bind_double(stmt, 4, v->coverage);
	if (v->result_json)
		pb_sql_bind_text(stmt, 5, v->result_json);
	else
		pb_q_bind_null(stmt, 5);
	pb_q_bind_i64(stmt, 6, started);
	pb_q_bind_i64(stmt, 7, v->finished_at);
	r = pb_sql_insert_id(st, stmt, &v->id, "validation add", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)v->promotion_id);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: validation add: unexpected constraint failure");
	if (r)
		return r;
	v->started_at = started;
	return 0;
}

/* Fills the fields of an already zeroed *out; only result_json is allocated. */
static int validation_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_validation *out = elem;
	const char *json = pb_q_col_text(stmt, 5);

	out->id = pb_q_col_i64(stmt, 0);
	out->promotion_id = pb_q_col_i64(stmt, 1);
	pb_sql_col_text(stmt, 2, out->revision, sizeof(out->revision));
	out->passed = pb_q_col_int(stmt, 3) != 0;
	out->coverage = pb_q_col_double(stmt, 4);
	out->started_at = pb_q_col_i64(stmt, 6);
	out->finished_at = pb_q_col_i64(stmt, 7);
	if (json) {
		out->result_json = strdup((const char *)json);
		if (!out->result_json)
			return pb_err_set(err, -ENOMEM, "storage: out of memory");
	}
	return 0;
}

/* validation_row for pb_sql_collect, whose elements are not zeroed. */
static int validation_row_zeroed(pb_q *stmt, void *elem, pb_err *err)
{
	memset(elem, 0, sizeof(pb_validation));
	return validation_row(stmt, elem, err);
}

int pb_store_validation_latest(pb_store *st, int64_t promotion_id, pb_validation *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	memset(out, 0, sizeof(*out));
	r = pb_sql_prepare(st,
			   "SELECT id, promotion_id, revision, passed, coverage, result_json, started_at,"
			   " finished_at FROM validations WHERE promotion_id = ?1 ORDER BY id DESC LIMIT 1",
			   &stmt, "latest validation", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	r = pb_sql_one(st, stmt, validation_row, out, "latest validation", err);
	if (r == PB_E_NOTFOUND)
		pb_err_set(err, r, "promotion #%lld has not been validated yet", (long long)promotion_id);
	return r;
}

int pb_store_validations_of(pb_store *st, int64_t promotion_id, pb_validation **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT id, promotion_id, revision, passed, coverage, result_json, started_at,"
			   " finished_at FROM validations WHERE promotion_id = ?1 ORDER BY id",
			   &stmt, "validations", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_collect(st, stmt, sizeof(**out), validation_row_zeroed, "validations", (void **)out, count, err);
}

void pb_validations_free(pb_validation *list, size_t count)
{
	for (size_t i = 0; list && i < count; i++)
		pb_validation_deinit(&list[i]);
	free(list);
}

void pb_validation_deinit(pb_validation *v)
{
	if (!v)
		return;
	free(v->result_json);
	v->result_json = NULL;
}

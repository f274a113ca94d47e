/* deployments.c — container deployments of a promotion, kept for status and rollback. */
#include <errno.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

/* Binds the mutable columns ?1..?12 shared by insert and update. */
static void deployment_bind(pb_q *stmt, const pb_deployment *d, int64_t started)
{
	pb_sql_bind_id_or_null(stmt, 1, d->promotion_id);
	pb_sql_bind_text(stmt, 2, d->component);
	pb_sql_bind_text(stmt, 3, d->environment);
	pb_sql_bind_text(stmt, 4, d->container_id);
	pb_sql_bind_text(stmt, 5, d->container_name);
	pb_sql_bind_text(stmt, 6, d->image);
	pb_sql_bind_text(stmt, 7, d->image_id);
	pb_sql_bind_text(stmt, 8, d->previous_container);
	pb_sql_bind_text(stmt, 9, d->ports);
	pb_sql_bind_text(stmt, 10, d->status);
	pb_sql_bind_text(stmt, 11, d->detail);
	pb_q_bind_i64(stmt, 12, started);
	pb_q_bind_i64(stmt, 13, d->finished_at);
}

int pb_store_deployment_add(pb_store *st, pb_deployment *d, pb_err *err)
{
	pb_q *stmt;
	int64_t started = d->started_at;
	int r;

	if (pb_sql_need_time(started, "deployment add", err))
		return -EINVAL;

	r = pb_sql_prepare(st,
			   "INSERT INTO deployments(promotion_id, component, environment, container_id,"
			   " container_name, image, image_id, previous_container, ports, status, detail,"
			   " started_at, finished_at)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
			   &stmt, "deployment add", err);
	if (r)
		return r;
	deployment_bind(stmt, d, started);
	r = pb_sql_insert_id(st, stmt, &d->id, "deployment add", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)d->promotion_id);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: deployment add: unexpected constraint failure");
	if (r)
		return r;
	d->started_at = started;
	return 0;
}

int pb_store_deployment_update(pb_store *st, const pb_deployment *d, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "UPDATE deployments SET promotion_id = ?1, component = ?2, environment = ?3,"
			   " container_id = ?4, container_name = ?5, image = ?6, image_id = ?7,"
			   " previous_container = ?8, ports = ?9, status = ?10, detail = ?11,"
			   " started_at = ?12, finished_at = ?13 WHERE id = ?14",
			   &stmt, "deployment update", err);
	if (r)
		return r;
	deployment_bind(stmt, d, d->started_at);
	pb_q_bind_i64(stmt, 14, d->id);
	r = pb_sql_step_done(st, stmt, "deployment update", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)d->promotion_id);
	if (r == 0 && st->changes == 0)
		return pb_err_set(err, PB_E_NOTFOUND, "deployment #%lld does not exist", (long long)d->id);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: deployment update: unexpected constraint failure");
	return r;
}

static int deployment_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_deployment *out = elem;

	(void)err;
	memset(out, 0, sizeof(*out));
	out->id = pb_q_col_i64(stmt, 0);
	out->promotion_id = pb_q_col_i64(stmt, 1);
	pb_sql_col_text(stmt, 2, out->component, sizeof(out->component));
	pb_sql_col_text(stmt, 3, out->environment, sizeof(out->environment));
	pb_sql_col_text(stmt, 4, out->container_id, sizeof(out->container_id));
	pb_sql_col_text(stmt, 5, out->container_name, sizeof(out->container_name));
	pb_sql_col_text(stmt, 6, out->image, sizeof(out->image));
	pb_sql_col_text(stmt, 7, out->image_id, sizeof(out->image_id));
	pb_sql_col_text(stmt, 8, out->previous_container, sizeof(out->previous_container));
	pb_sql_col_text(stmt, 9, out->ports, sizeof(out->ports));
	pb_sql_col_text(stmt, 10, out->status, sizeof(out->status));
	pb_sql_col_text(stmt, 11, out->detail, sizeof(out->detail));
	out->started_at = pb_q_col_i64(stmt, 12);
	out->finished_at = pb_q_col_i64(stmt, 13);
	return 0;
}

int pb_store_deployment_latest(pb_store *st, int64_t promotion_id, pb_deployment *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT id, promotion_id, component, environment, container_id, container_name,"
			   " image, image_id, previous_container, ports, status, detail, started_at,"
			   " finished_at FROM deployments WHERE promotion_id = ?1 ORDER BY id DESC LIMIT 1",
			   &stmt, "latest deployment", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	r = pb_sql_one(st, stmt, deployment_row, out, "latest deployment", err);
	if (r == PB_E_NOTFOUND)
		pb_err_set(err, r, "promotion #%lld has no deployment", (long long)promotion_id);
	return r;
}

int pb_store_deployments_of(pb_store *st, int64_t promotion_id, pb_deployment **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	*out = NULL;
	*count = 0;
	r = pb_sql_prepare(st,
			   "SELECT id, promotion_id, component, environment, container_id, container_name,"
			   " image, image_id, previous_container, ports, status, detail, started_at,"
			   " finished_at FROM deployments WHERE promotion_id = ?1 ORDER BY id",
			   &stmt, "deployments", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_collect(st, stmt, sizeof(**out), deployment_row, "deployments", (void **)out, count, err);
}

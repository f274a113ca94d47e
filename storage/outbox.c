/* outbox.c — the GitHub outbox: ops decided with a state change, delivered in order per group. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

#define OP_COLS \
	"SELECT id, promotion_id, grp, kind, ref_id, payload, state, attempts, maybe_sent, next_at," \
	" last_status, last_error, result, created_at, done_at FROM gh_ops"

static const char *const state_names[] = { "pending", "done", "failed" };

void pb_ghop_deinit(pb_ghop *op)
{
	if (!op)
		return;
	free(op->payload);
	free(op->result);
	op->payload = op->result = NULL;
}

void pb_ghops_free(pb_ghop *ops, size_t count)
{
	for (size_t i = 0; ops && i < count; i++)
		pb_ghop_deinit(&ops[i]);
	free(ops);
}

static int op_row(pb_q *s, void *elem, pb_err *err)
{
	pb_ghop *op = elem;
	const char *payload = pb_q_col_text(s, 5), *result = pb_q_col_text(s, 12);
	char state[16];

	memset(op, 0, sizeof(*op));
	op->id = pb_q_col_i64(s, 0);
	op->promotion_id = pb_q_col_i64(s, 1);
	pb_sql_col_text(s, 2, op->group, sizeof(op->group));
	pb_sql_col_text(s, 3, op->kind, sizeof(op->kind));
	op->ref_id = pb_q_col_i64(s, 4);
	pb_sql_col_text(s, 6, state, sizeof(state));
	op->attempts = pb_q_col_int(s, 7);
	op->maybe_sent = pb_q_col_int(s, 8) != 0;
	op->next_at = pb_q_col_i64(s, 9);
	op->last_status = pb_q_col_int(s, 10);
	pb_sql_col_text(s, 11, op->last_error, sizeof(op->last_error));
	op->created_at = pb_q_col_i64(s, 13);
	op->done_at = pb_q_col_i64(s, 14);
	op->state = !strcmp(state, "done") ? PB_GHOP_DONE : !strcmp(state, "failed") ? PB_GHOP_FAILED
										    : PB_GHOP_PENDING;
	op->payload = strdup(payload ? (const char *)payload : "");
	op->result = strdup(result ? (const char *)result : "");
	if (!op->payload || !op->result) {
		pb_ghop_deinit(op);
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	}
	return 0;
}

static void op_deinit(void *elem)
{
	pb_ghop_deinit(elem);
}

/* Rows own heap text: a failing row must not leak the ones before it. */
static int collect_ops(pb_store *st, pb_q *stmt, const char *what, pb_ghop **out, size_t *count,
		       pb_err *err)
{
	return pb_sql_collect_owned(st, stmt, sizeof(pb_ghop), op_row, op_deinit, what, (void **)out, count, err);
}

int pb_store_ghop_add(pb_store *st, pb_ghop *op, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(op->created_at, "outbox add", err))
		return -EINVAL;
	if (!op->group[0] || !op->kind[0] || !op->payload)
		return pb_err_set(err, -EINVAL, "storage: an outbox op needs a group, a kind and a payload");
	r = pb_sql_prepare(st,
			   "INSERT INTO gh_ops(promotion_id, grp, kind, ref_id, payload, next_at, created_at)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
			   &stmt, "outbox add", err);
	if (r)
		return r;
	pb_sql_bind_id_or_null(stmt, 1, op->promotion_id);
	pb_sql_bind_text(stmt, 2, op->group);
	pb_sql_bind_text(stmt, 3, op->kind);
	pb_q_bind_i64(stmt, 4, op->ref_id);
	pb_sql_bind_text(stmt, 5, op->payload);
	pb_q_bind_i64(stmt, 6, op->created_at);
	r = pb_sql_insert_id(st, stmt, &op->id, "outbox add", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "storage: outbox add: promotion #%lld does not exist",
				  (long long)op->promotion_id);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: outbox add: unexpected constraint failure");
	if (r == 0) {
		op->state = PB_GHOP_PENDING;
		op->next_at = op->created_at;
	}
	return r;
}

int pb_store_ghop_get(pb_store *st, int64_t id, pb_ghop *out, pb_err *err)
{
	pb_q *stmt;
	int r = pb_sql_prepare(st, OP_COLS " WHERE id = ?1", &stmt, "outbox op", err);

	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	return pb_sql_one(st, stmt, op_row, out, "outbox op", err);
}

int pb_store_ghops_due(pb_store *st, int64_t now, size_t limit, pb_ghop **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	/* the head of a group is its lowest pending id; only a due, unleased head is handed out */
	r = pb_sql_prepare(st,
			   OP_COLS " o WHERE state = 'pending' AND next_at <= ?1 AND lease_until <= ?1"
			   " AND id = (SELECT min(id) FROM gh_ops h WHERE h.grp = o.grp AND h.state = 'pending')"
			   " ORDER BY id LIMIT ?2",
			   &stmt, "outbox due", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, now);
	pb_q_bind_i64(stmt, 2, limit && limit < INT64_MAX ? (int64_t)limit : INT64_MAX);
	return collect_ops(st, stmt, "outbox due", out, count, err);
}

/* One UPDATE whose WHERE decides; PB_E_CONFLICT (no text) when it changed no row. */
static int update_one(pb_store *st, pb_q *stmt, const char *what, pb_err *err)
{
	int r = pb_sql_step_done(st, stmt, what, err);

	if (r)
		return r > 0 ? pb_err_set(err, -EIO, "storage: %s: unexpected constraint failure", what) : r;
	return st->changes == 1 ? 0 : PB_E_CONFLICT;
}

int pb_store_ghop_claim(pb_store *st, int64_t id, const char *owner, int64_t now, int64_t lease_until,
			bool *was_maybe_sent, pb_err *err)
{
	pb_q *stmt;
	int64_t prior = 0;
	int r;

	r = pb_sql_prepare(st, "SELECT maybe_sent FROM gh_ops WHERE id = ?1", &stmt, "outbox claim", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	r = pb_sql_one(st, stmt, pb_sql_row_i64, &prior, "outbox claim", err);
	if (r < 0)
		return r;
	r = pb_sql_prepare(st,
			   "UPDATE gh_ops SET lease_owner = ?2, lease_until = ?4, maybe_sent = 1,"
			   " attempts = attempts + 1"
			   " WHERE id = ?1 AND state = 'pending' AND lease_until <= ?3"
			   " AND id = (SELECT min(id) FROM gh_ops h WHERE h.grp = gh_ops.grp AND h.state = 'pending')",
			   &stmt, "outbox claim", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_sql_bind_text(stmt, 2, owner);
	pb_q_bind_i64(stmt, 3, now);
	pb_q_bind_i64(stmt, 4, lease_until);
	r = update_one(st, stmt, "outbox claim", err);
	if (r == 0 && was_maybe_sent)
		*was_maybe_sent = prior != 0;
	return r;
}

int pb_store_ghops_release_process(pb_store *st, const char *process, int64_t hold_until, size_t *released,
				   pb_err *err)
{
	pb_q *stmt;
	int r;

	if (released)
		*released = 0;
	if (!process || !process[0])
		return pb_err_set(err, -EINVAL, "storage: outbox release: no owner process given");
	/*
	 * A prefix compare, not LIKE: a host name may hold '_' (a LIKE wildcard). Only
	 * claims held past hold_until move (shortened, never lengthened); maybe_sent
	 * is set so the next attempt looks for the op's marker before sending.
	 */
	r = pb_sql_prepare(st,
			   "UPDATE gh_ops SET lease_until = ?2, maybe_sent = 1"
			   " WHERE state = 'pending' AND lease_until > ?2"
			   " AND substr(lease_owner, 1, length(?1)) = ?1",
			   &stmt, "outbox release", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, process);
	pb_q_bind_i64(stmt, 2, hold_until);
	r = pb_sql_step_done(st, stmt, "outbox release", err);
	if (r)
		return r > 0 ? pb_err_set(err, -EIO, "storage: outbox release: unexpected constraint failure") : r;
	if (released)
		*released = (size_t)st->changes;
	return 0;
}

int pb_store_ghop_done(pb_store *st, int64_t id, const char *result, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(now, "outbox done", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "UPDATE gh_ops SET state = 'done', result = ?2, done_at = ?3, lease_owner = '',"
			   " lease_until = 0, maybe_sent = 0 WHERE id = ?1 AND state = 'pending'",
			   &stmt, "outbox done", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_sql_bind_text(stmt, 2, result);
	pb_q_bind_i64(stmt, 3, now);
	return update_one(st, stmt, "outbox done", err);
}

int pb_store_ghop_retry(pb_store *st, int64_t id, int64_t next_at, bool maybe_sent, int status,
			const char *error, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "UPDATE gh_ops SET next_at = ?2, maybe_sent = ?3, last_status = ?4, last_error = ?5,"
			   " lease_owner = '', lease_until = 0 WHERE id = ?1 AND state = 'pending'",
			   &stmt, "outbox retry", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, next_at);
	pb_q_bind_i64(stmt, 3, maybe_sent ? 1 : 0);
	pb_q_bind_i64(stmt, 4, status);
	pb_sql_bind_text(stmt, 5, error);
	return update_one(st, stmt, "outbox retry", err);
}

int pb_store_ghop_fail(pb_store *st, int64_t id, int status, const char *error, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(now, "outbox fail", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "UPDATE gh_ops SET state = 'failed', last_status = ?2, last_error = ?3, done_at = ?4,"
			   " lease_owner = '', lease_until = 0 WHERE id = ?1 AND state = 'pending'",
			   &stmt, "outbox fail", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, status);
	pb_sql_bind_text(stmt, 3, error);
	pb_q_bind_i64(stmt, 4, now);
	return update_one(st, stmt, "outbox fail", err);
}

int pb_store_ghop_find(pb_store *st, const char *group, const char *kind, int64_t ref_id, pb_ghop *out,
		       pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, OP_COLS " WHERE grp = ?1 AND kind = ?2 AND ref_id = ?3 ORDER BY id DESC LIMIT 1",
			   &stmt, "outbox find", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, group);
	pb_sql_bind_text(stmt, 2, kind);
	pb_q_bind_i64(stmt, 3, ref_id);
	return pb_sql_one(st, stmt, op_row, out, "outbox find", err);
}

static int count_of(pb_store *st, const char *sql, int64_t a, int64_t *out, const char *what, pb_err *err)
{
	pb_q *stmt;
	int r = pb_sql_prepare(st, sql, &stmt, what, err);

	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, a);
	return pb_sql_one(st, stmt, pb_sql_row_i64, out, what, err);
}

int pb_store_ghops_summary(pb_store *st, int64_t promotion_id, pb_ghops_summary *out, pb_err *err)
{
	pb_ghop *ops = NULL;
	size_t n = 0;
	pb_q *stmt;
	int64_t pending = 0, failed = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = count_of(st, "SELECT count(*) FROM gh_ops WHERE promotion_id = ?1 AND state = 'pending'", promotion_id,
		     &pending, "outbox summary", err);
	if (r == 0)
		r = count_of(st, "SELECT count(*) FROM gh_ops WHERE promotion_id = ?1 AND state = 'failed'",
			     promotion_id, &failed, "outbox summary", err);
	if (r)
		return r;
	out->pending = (size_t)pending;
	out->failed = (size_t)failed;
	if (pending) {
		r = pb_sql_prepare(st, OP_COLS " WHERE promotion_id = ?1 AND state = 'pending' ORDER BY id LIMIT 1",
				   &stmt, "outbox summary", err);
		if (r)
			return r;
		pb_q_bind_i64(stmt, 1, promotion_id);
		r = collect_ops(st, stmt, "outbox summary", &ops, &n, err);
		if (r)
			return r;
		if (n) {
			out->head_status = ops[0].last_status;
			out->head_attempts = ops[0].attempts;
			pb_strlcpy(out->head_error, ops[0].last_error, sizeof(out->head_error));
		}
		pb_ghops_free(ops, n);
		ops = NULL;
		n = 0;
	}
	if (failed) {
		r = pb_sql_prepare(st, OP_COLS " WHERE promotion_id = ?1 AND state = 'failed' ORDER BY id DESC LIMIT 1",
				   &stmt, "outbox summary", err);
		if (r)
			return r;
		pb_q_bind_i64(stmt, 1, promotion_id);
		r = collect_ops(st, stmt, "outbox summary", &ops, &n, err);
		if (r)
			return r;
		if (n)
			pb_strlcpy(out->failed_error, ops[0].last_error, sizeof(out->failed_error));
		pb_ghops_free(ops, n);
	}
	return 0;
}

int pb_store_ghops_pending_count(pb_store *st, size_t *pending, pb_err *err)
{
	int64_t n = 0;
	int r = count_of(st, "SELECT count(*) FROM gh_ops WHERE state = 'pending' AND ?1 = ?1", 0, &n,
			 "outbox pending", err);

	*pending = r ? 0 : (size_t)n;
	return r;
}

int pb_store_ghops_max_id(pb_store *st, int64_t *max_id, pb_err *err)
{
	return count_of(st, "SELECT coalesce(max(id), 0) FROM gh_ops WHERE ?1 = ?1", 0, max_id, "outbox max id",
			err);
}

int pb_store_ghops_pending_after(pb_store *st, int64_t after, size_t *pending, pb_ghop *oldest, pb_err *err)
{
	pb_ghop *ops = NULL;
	pb_q *stmt;
	int64_t n = 0;
	size_t got = 0;
	int r;

	*pending = 0;
	r = count_of(st, "SELECT count(*) FROM gh_ops WHERE id > ?1 AND state = 'pending'", after, &n,
		     "outbox pending", err);
	if (r || n == 0 || !oldest)
		goto out;
	r = pb_sql_prepare(st, OP_COLS " WHERE id > ?1 AND state = 'pending' ORDER BY id LIMIT 1", &stmt,
			   "outbox pending", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, after);
	r = collect_ops(st, stmt, "outbox pending", &ops, &got, err);
	if (r == 0 && got) {
		*oldest = ops[0];
		free(ops);
		ops = NULL;
		got = 0;
	}
	pb_ghops_free(ops, got);
out:
	if (r == 0)
		*pending = (size_t)n;
	return r;
}

int pb_store_promotion_set_issue_url(pb_store *st, int64_t id, int64_t number, const char *url, int64_t now,
				     pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "UPDATE promotions SET issue_number = ?2, issue_url = ?3, updated_at = ?4 WHERE id = ?1",
			   &stmt, "promotion set issue", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, number);
	pb_sql_bind_text(stmt, 3, url);
	pb_q_bind_i64(stmt, 4, now);
	r = update_one(st, stmt, "promotion set issue", err);
	return r == PB_E_CONFLICT ? PB_E_NOTFOUND : r;
}

static int url_row(pb_q *s, void *elem, pb_err *err)
{
	struct { char *out; size_t size; } *dst = elem;

	(void)err;
	pb_sql_col_text(s, 0, dst->out, dst->size);
	return 0;
}

int pb_store_promotion_issue_url(pb_store *st, int64_t id, char *out, size_t size, pb_err *err)
{
	struct { char *out; size_t size; } dst = { out, size };
	pb_q *stmt;
	int r;

	out[0] = '\0';
	r = pb_sql_prepare(st, "SELECT issue_url FROM promotions WHERE id = ?1", &stmt, "promotion issue url", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	return pb_sql_one(st, stmt, url_row, &dst, "promotion issue url", err);
}

int pb_store_blocker_set_issue(pb_store *st, int64_t id, int64_t issue_number, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "UPDATE blockers SET issue_number = ?2 WHERE id = ?1", &stmt, "blocker set issue", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, issue_number);
	r = update_one(st, stmt, "blocker set issue", err);
	return r == PB_E_CONFLICT ? PB_E_NOTFOUND : r;
}

const char *pb_ghop_state_name(pb_ghop_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

/* store.c — opening a store on its backend, transactions and the shared SQL helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_lane.h"
#include "pb_log.h"
#include "pb_str.h"
#include "store_priv.h"

#define PB_BUSY_TIMEOUT_MS 5000

/* ---- shared helpers ---- */

int pb_sql_need_time(int64_t at, const char *what, pb_err *err)
{
	if (at > 0)
		return 0;
	return pb_err_set(err, -EINVAL, "storage: %s needs a timestamp from the caller", what);
}

int pb_sql_prepare(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err)
{
	return st->ops->prepare(st, sql, out, what, err);
}

int pb_sql_exec(pb_store *st, const char *sql, const char *what, pb_err *err)
{
	return st->ops->exec(st, sql, what, err);
}

void pb_sql_bind_text(pb_q *stmt, int idx, const char *s)
{
	stmt->st->ops->bind_text(stmt, idx, s ? s : "");
}

void pb_sql_bind_id_or_null(pb_q *stmt, int idx, int64_t id)
{
	if (id == 0)
		pb_q_bind_null(stmt, idx);
	else
		pb_q_bind_i64(stmt, idx, id);
}

void pb_sql_col_text(pb_q *stmt, int col, char *dst, size_t size)
{
	const char *t = pb_q_col_text(stmt, col);

	pb_strlcpy(dst, t ? t : "", size);
}

int pb_sql_step_done(pb_store *st, pb_q *stmt, const char *what, pb_err *err)
{
	int r = pb_q_step(stmt, what, err);

	(void)st;
	if (r == PB_Q_ROW)
		r = pb_err_set(err, -EIO, "storage: %s: a write statement returned a row", what);
	pb_q_finish(stmt);
	return r;
}

int pb_sql_insert_id(pb_store *st, pb_q *stmt, int64_t *id, const char *what, pb_err *err)
{
	int r = pb_q_step(stmt, what, err);

	if (r == PB_Q_ROW) {
		*id = pb_q_col_i64(stmt, 0);
		/* the second step ends the statement (SQLite made its changes in the first) */
		r = pb_q_step(stmt, what, err);
		if (r == PB_Q_ROW)
			r = pb_err_set(err, -EIO, "storage: %s: more than one row inserted", what);
		st->changes = 1;
	} else if (r == 0) {
		r = pb_err_set(err, -EIO, "storage: %s: no id returned", what);
	}
	pb_q_finish(stmt);
	return r;
}

int pb_sql_grow(void **arr, size_t *cap, size_t need, size_t elem, pb_err *err)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	*arr = p;
	*cap = ncap;
	return 0;
}

int pb_sql_row_i64(pb_q *stmt, void *elem, pb_err *err)
{
	(void)err;
	*(int64_t *)elem = pb_q_col_i64(stmt, 0);
	return 0;
}

int pb_sql_one(pb_store *st, pb_q *stmt, pb_sql_row_fn row, void *elem, const char *what,
	       pb_err *err)
{
	int r = pb_q_step(stmt, what, err);

	(void)st;
	if (r == PB_Q_ROW)
		r = row(stmt, elem, err);
	else if (r == 0)
		r = PB_E_NOTFOUND;
	pb_q_finish(stmt);
	return r;
}

int pb_sql_collect(pb_store *st, pb_q *stmt, size_t elem_size, pb_sql_row_fn row,
		   const char *what, void **out, size_t *count, pb_err *err)
{
	return pb_sql_collect_owned(st, stmt, elem_size, row, NULL, what, out, count, err);
}

int pb_sql_collect_owned(pb_store *st, pb_q *stmt, size_t elem_size, pb_sql_row_fn row,
			 void (*deinit)(void *elem), const char *what, void **out, size_t *count, pb_err *err)
{
	void *list = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	(void)st;
	while ((rc = pb_q_step(stmt, what, err)) == PB_Q_ROW) {
		r = pb_sql_grow(&list, &cap, n + 1, elem_size, err);
		if (r == 0)
			r = row(stmt, (char *)list + n * elem_size, err);
		if (r)
			goto out;
		n++;
	}
	r = rc;
out:
	pb_q_finish(stmt);
	if (r) {
		for (size_t i = 0; deinit && i < n; i++)
			deinit((char *)list + i * elem_size);
		free(list);
		return r;
	}
	*out = list;
	*count = n;
	return 0;
}

/* ---- open / close ---- */

/*
 * "sqlite:///abs/path" or a plain path → SQLite; "postgres://…" or
 * "postgresql://…" → PostgreSQL (the whole URI goes to libpq). *rest is what
 * the backend connects to.
 */
static const pb_db_ops *store_backend(const char *target, const char **rest)
{
	*rest = target;
	if (!target)
		return &pb_db_sqlite_ops;
	if (strncmp(target, "postgres://", 11) == 0 || strncmp(target, "postgresql://", 13) == 0)
		return &pb_db_pg_ops;
	if (strncmp(target, "sqlite://", 9) == 0)
		*rest = target + 9;
	return &pb_db_sqlite_ops;
}

static void store_free(pb_store *st)
{
	if (!st)
		return;
	if (st->conn)
		st->ops->close(st);
	free(st);
}

/* Connects without touching the database's contents. */
static int store_connect(const char *target, const char *password, pb_store **out, pb_err *err)
{
	const char *rest;
	pb_store *st = calloc(1, sizeof(*st));
	int r;

	*out = NULL;
	if (!st)
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	st->ops = store_backend(target, &rest);
	st->lease_s = PB_LEASE_DEFAULT_S;
	pb_strlcpy(st->label, rest ? rest : "", sizeof(st->label));
	r = st->ops->connect(st, rest, password, err);
	if (r) {
		free(st);
		return r;
	}
	*out = st;
	return 0;
}

static int store_open_once(const char *target, const char *password, pb_store **out, pb_err *err)
{
	pb_store *st = NULL;
	int version = 0;
	int r;

	*out = NULL;
	r = store_connect(target, password, &st, err);
	if (r)
		return r;
	/* Check the version before any setting that writes: a newer database stays untouched. */
	r = pb_store_user_version(st, &version, err);
	if (r)
		goto out;
	if (version > PB_STORE_SCHEMA_VERSION) {
		r = pb_err_set(err, -ENOTSUP,
			       "storage: %s has schema version %d but this promobot knows only up to %d; "
			       "refusing to use it (run a newer promobot)",
			       st->label, version, PB_STORE_SCHEMA_VERSION);
		goto out;
	}
	r = st->ops->session(st, err);
	if (r == 0)
		r = pb_store_migrate(st, PB_STORE_SCHEMA_VERSION, err);
out:
	if (r) {
		store_free(st);
		return r;
	}
	*out = st;
	return 0;
}

/*
 * Switching a fresh file to WAL and running the first migration need an
 * exclusive lock, and SQLite reports SQLITE_BUSY for that without always
 * calling the busy handler. Several workers opening one new database at once
 * hit it, so the whole open is retried with a short backoff, bounded in time.
 */
int pb_store_open_with(const char *target, const char *password, pb_store **out, pb_err *err)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + PB_BUSY_TIMEOUT_MS;
	long pause_ms = 5;
	int r;

	for (;;) {
		pb_err attempt;

		pb_err_init(&attempt);
		r = store_open_once(target, password, out, &attempt);
		if (r != PB_E_BUSY || pb_clock_mono_ms(NULL) >= deadline) {
			if (r)
				pb_err_set(err, r, "%s", pb_err_text(&attempt));
			return r;
		}
		struct timespec ts = { 0, pause_ms * 1000000L };

		pb_lane_leave();
		nanosleep(&ts, NULL);
		pb_lane_enter();
		if (pause_ms < 100)
			pause_ms *= 2;
	}
}

int pb_store_open(const char *target, pb_store **out, pb_err *err)
{
	return pb_store_open_with(target, NULL, out, err);
}

int pb_store_probe(const char *target, const char *password, int *version, pb_err *err)
{
	const char *rest;
	pb_store *st = NULL;
	int r;

	if (store_backend(target, &rest) == &pb_db_sqlite_ops && (!rest || access(rest, F_OK) != 0))
		return pb_err_set(err, PB_E_NOTFOUND, "storage: %s does not exist yet (created on first start)",
				  rest ? rest : "(none)");
	r = store_connect(target, password, &st, err);
	if (r == 0)
		r = pb_store_user_version(st, version, err);
	store_free(st);
	return r;
}

void pb_store_close(pb_store *st)
{
	store_free(st);
}

const char *pb_store_backend(const pb_store *st)
{
	return st->ops->name;
}

int pb_store_schema_version(pb_store *st)
{
	int v = -1;

	if (pb_store_user_version(st, &v, NULL))
		return -1;
	return v;
}

int pb_store_create_at_version(const char *target, int version, pb_err *err)
{
	pb_store *st = NULL;
	int current = 0;
	int r;

	if (version < 0 || version > PB_STORE_SCHEMA_VERSION)
		return pb_err_set(err, -EINVAL, "storage: schema version %d out of range 0..%d", version,
				  PB_STORE_SCHEMA_VERSION);
	r = store_connect(target, NULL, &st, err);
	if (r)
		return r;
	r = pb_store_user_version(st, &current, err);
	if (r)
		goto out;
	if (current != 0) {
		r = pb_err_set(err, -EEXIST, "storage: %s already holds schema version %d", st->label, current);
		goto out;
	}
	r = st->ops->session(st, err);
	if (r == 0)
		r = pb_store_migrate(st, version, err);
out:
	store_free(st);
	return r;
}

/* ---- transactions ---- */

bool pb_store_in_tx(pb_store *st)
{
	return st->ops->in_tx(st);
}

int pb_store_begin(pb_store *st, pb_err *err)
{
	if (st->ops->in_tx(st))
		return pb_err_set(err, -EINVAL, "storage: begin: a transaction is already open");
	st->tx_started_ms = pb_clock_mono_ms(NULL);
	return st->ops->begin_write(st, "begin", err);
}

int pb_store_read_begin(pb_store *st, bool *opened, pb_err *err)
{
	int r;

	*opened = false;
	if (!st->ops->begin_read || st->ops->in_tx(st))
		return 0;
	r = st->ops->begin_read(st, err);
	*opened = r == 0;
	return r;
}

void pb_store_read_end(pb_store *st, bool opened)
{
	/* A read transaction changed nothing: ROLLBACK ends it as well as COMMIT and cannot fail on a write. */
	if (opened)
		pb_store_rollback(st);
}

void pb_store_set_tx_observer(pb_store *st, void (*fn)(void *ud, double seconds), void *ud)
{
	st->tx_observer = fn;
	st->tx_ud = ud;
}

int pb_store_commit(pb_store *st, pb_err *err)
{
	int r;

	if (!st->ops->in_tx(st))
		return pb_err_set(err, -EINVAL, "storage: commit: no transaction is open");
	r = pb_sql_exec(st, "COMMIT", "commit", err);
	/* Never leave the connection inside a half-done transaction. */
	if (r)
		pb_store_rollback(st);
	else if (st->tx_observer)
		st->tx_observer(st->tx_ud, (double)(pb_clock_mono_ms(NULL) - st->tx_started_ms) / 1000.0);
	return r;
}

void pb_store_rollback(pb_store *st)
{
	if (!st || !st->ops->in_tx(st))
		return;
	st->ops->exec(st, "ROLLBACK", "rollback", NULL);
}

/* ---- state and severity names ---- */

/* Case-insensitive index of s in names[0..n), or -1 (also for NULL). */
static int name_index(const char *const *names, int n, const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcasecmp(s, names[i]) == 0)
			return i;
	}
	return -1;
}

static const char *const state_names[PB_ST_COUNT] = {
	[PB_ST_REQUESTED] = "requested",     [PB_ST_VALIDATING] = "validating",
	[PB_ST_IN_REVIEW] = "in_review",     [PB_ST_BLOCKED] = "blocked",
	[PB_ST_APPROVED] = "approved",       [PB_ST_DEPLOYING] = "deploying",
	[PB_ST_OBSERVING] = "observing",     [PB_ST_COMPLETED] = "completed",
	[PB_ST_FAILED] = "failed",           [PB_ST_ROLLED_BACK] = "rolled_back",
	[PB_ST_CANCELLED] = "cancelled",
};

const char *pb_state_name(pb_state s)
{
	if ((unsigned)s >= PB_ST_COUNT)
		return "unknown";
	return state_names[s];
}

int pb_state_parse(const char *s, pb_state *out)
{
	int i = name_index(state_names, PB_ST_COUNT, s);

	if (i < 0)
		return PB_E_INVALID;
	*out = (pb_state)i;
	return 0;
}

bool pb_state_is_open(pb_state s)
{
	return (unsigned)s < PB_ST_COUNT && s != PB_ST_COMPLETED && s != PB_ST_FAILED &&
	       s != PB_ST_ROLLED_BACK && s != PB_ST_CANCELLED;
}

static const char *const severity_names[PB_SEV_COUNT] = {
	[PB_SEV_LOW] = "low", [PB_SEV_MEDIUM] = "medium",
	[PB_SEV_HIGH] = "high", [PB_SEV_CRITICAL] = "critical",
};

const char *pb_severity_name(pb_severity s)
{
	if ((unsigned)s >= PB_SEV_COUNT)
		return "unknown";
	return severity_names[s];
}

int pb_severity_parse(const char *s, pb_severity *out)
{
	int i = name_index(severity_names, PB_SEV_COUNT, s);

	if (i < 0)
		return PB_E_INVALID;
	*out = (pb_severity)i;
	return 0;
}

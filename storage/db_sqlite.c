/* db_sqlite.c — the SQLite backend of pb_store: one connection, WAL, a cache of prepared statements. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sqlite3.h>

#include "pb_lane.h"
#include "pb_log.h"
#include "store_priv.h"

#define SQ_BUSY_TIMEOUT_MS 5000
/*
 * Preparing a statement costs more than running most of ours (profiled:
 * most of a `status` command's CPU was sqlite3_prepare), and the SQL is a
 * small fixed set of constants, so each connection keeps its statements.
 * More distinct texts than this fall back to prepare-per-use.
 */
#define SQ_CACHE_SLOTS 96

typedef struct sq_q {
	pb_q base;
	sqlite3_stmt *stmt;
	const char *key;  /* the SQL text it was prepared from (a copy) */
	bool cached;      /* lives in the cache: finish resets instead of finalizing */
	bool in_use;
} sq_q;

typedef struct sq_cache {
	sq_q slot[SQ_CACHE_SLOTS];
	size_t used;
} sq_cache;

static sqlite3 *sq_db(pb_store *st)
{
	return st->conn;
}

/*
 * Turns a SQLite result code into our convention and fills err with
 * "storage: <what>: <sqlite3_errmsg>". SQLITE_BUSY/LOCKED (the busy timeout
 * expired) → PB_E_BUSY, out of memory → -ENOMEM, anything else → -EIO.
 */
static int sq_fail(sqlite3 *db, int rc, const char *what, pb_err *err)
{
	int primary = rc & 0xff;
	int code;

	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		code = PB_E_BUSY;
	else if (primary == SQLITE_NOMEM)
		code = -ENOMEM;
	else
		code = -EIO;
	pb_err_set(err, code, "storage: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return code;
}

/* ---- connection ---- */

/*
 * SQLite's own busy wait (sqlite3_busy_timeout's schedule: 1, 2, 5 … 100 ms
 * steps up to the timeout), told to the CPU lanes: a worker waiting for
 * another connection's write lock holds none (pb_lane.h).
 */
static int sq_busy(void *ud, int count)
{
	static const int delays[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };
	static const int totals[] = { 0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228 };
	const int n = (int)(sizeof(delays) / sizeof(delays[0]));
	int delay, prior;
	struct timespec ts;

	(void)ud;
	if (count < n) {
		delay = delays[count];
		prior = totals[count];
	} else {
		delay = delays[n - 1];
		prior = totals[n - 1] + delay * (count - (n - 1));
	}
	if (prior + delay > SQ_BUSY_TIMEOUT_MS) {
		delay = SQ_BUSY_TIMEOUT_MS - prior;
		if (delay <= 0)
			return 0;
	}
	ts.tv_sec = delay / 1000;
	ts.tv_nsec = (long)(delay % 1000) * 1000000L;
	pb_lane_leave();
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	pb_lane_enter();
	return 1;
}

/* Opens the file without touching its contents (no pragma that writes). */
static int sq_connect(pb_store *st, const char *path, const char *password, pb_err *err)
{
	sqlite3 *db = NULL;
	int rc;

	(void)password;
	if (!path || !*path)
		return pb_err_set(err, -EINVAL, "storage: no database path given");
	/* One connection per thread: SQLite's own mutexes are not needed. */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		int r = sq_fail(db, rc, path, err);

		sqlite3_close(db);
		return r;
	}
	st->cache = calloc(1, sizeof(sq_cache));
	if (!st->cache) {
		sqlite3_close(db);
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_handler(db, sq_busy, NULL);
	st->conn = db;
	return 0;
}

static int sq_exec(pb_store *st, const char *sql, const char *what, pb_err *err)
{
	int rc = sqlite3_exec(sq_db(st), sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_fail(sq_db(st), rc, what, err);
}

static int sq_session(pb_store *st, pb_err *err)
{
	sqlite3 *db = sq_db(st);
	sqlite3_stmt *stmt = NULL;
	const unsigned char *mode;
	int rc, r;

	/* journal_mode answers with the mode actually in force; check it. */
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, "journal_mode=WAL", err);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		r = sq_fail(db, rc, "journal_mode=WAL", err);
		sqlite3_finalize(stmt);
		return r;
	}
	mode = sqlite3_column_text(stmt, 0);
	if (!mode || strcasecmp((const char *)mode, "wal") != 0)
		pb_warn("storage", "journal_mode is %s, not wal", mode ? (const char *)mode : "?");
	sqlite3_finalize(stmt);
	r = sq_exec(st, "PRAGMA foreign_keys=ON", "foreign_keys=ON", err);
	/* NORMAL in WAL mode: a commit survives a crash of the process (the crash
	 * test kills writers with SIGKILL); only an OS crash / power loss may drop
	 * the last commits, never corrupt the file. */
	if (r == 0)
		r = sq_exec(st, "PRAGMA synchronous=NORMAL", "synchronous=NORMAL", err);
	return r;
}

static void sq_close(pb_store *st)
{
	sq_cache *c = st->cache;

	for (size_t i = 0; c && i < c->used; i++) {
		sqlite3_finalize(c->slot[i].stmt);
		free((char *)c->slot[i].key);
	}
	free(c);
	/* close_v2 never fails on unfinalized statements; we finalize all of them anyway. */
	sqlite3_close_v2(sq_db(st));
}

/* IMMEDIATE takes the write lock now, so two writers never deadlock on upgrade. */
static int sq_begin_write(pb_store *st, const char *what, pb_err *err)
{
	return sq_exec(st, "BEGIN IMMEDIATE", what, err);
}

/* DEFERRED: the WAL read lock is taken by the first SELECT and held until the end. */
static int sq_begin_read(pb_store *st, pb_err *err)
{
	return sq_exec(st, "BEGIN DEFERRED", "begin read", err);
}

static bool sq_in_tx(pb_store *st)
{
	return !sqlite3_get_autocommit(sq_db(st));
}

static int sq_version_read(pb_store *st, int *out, pb_err *err)
{
	sqlite3 *db = sq_db(st);
	sqlite3_stmt *stmt = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, "reading user_version", err);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(stmt, 0);
	else
		r = sq_fail(db, rc, "reading user_version", err);
	sqlite3_finalize(stmt);
	return r;
}

static int sq_version_write(pb_store *st, int version, pb_err *err)
{
	char pragma[64];

	/* PRAGMA takes no bound parameters; version is our own integer, not input. */
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", version);
	return sq_exec(st, pragma, "writing user_version", err);
}

/* ---- statements ---- */

static sq_q *sq_cache_find(sq_cache *c, const char *sql)
{
	for (size_t i = 0; i < c->used; i++) {
		/* the SQL is nearly always the same constant, so the pointer usually matches */
		if (c->slot[i].key == sql || strcmp(c->slot[i].key, sql) == 0)
			return &c->slot[i];
	}
	return NULL;
}

static int sq_prepare_raw(pb_store *st, const char *sql, unsigned flags, sqlite3_stmt **out,
			  const char *what, pb_err *err)
{
	int rc = sqlite3_prepare_v3(sq_db(st), sql, -1, flags, out, NULL);

	if (rc != SQLITE_OK) {
		*out = NULL;
		return sq_fail(sq_db(st), rc, what, err);
	}
	return 0;
}

/* A statement outside the cache: the cache is full or its entry is in use (a nested query). */
static int sq_prepare_loose(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err)
{
	sq_q *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	r = sq_prepare_raw(st, sql, 0, &q->stmt, what, err);
	if (r) {
		free(q);
		return r;
	}
	q->base.st = st;
	q->in_use = true;
	*out = &q->base;
	return 0;
}

static int sq_prepare(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err)
{
	sq_cache *c = st->cache;
	sq_q *q = sq_cache_find(c, sql);
	char *key;
	int r;

	*out = NULL;
	if (q && !q->in_use) {
		q->in_use = true;
		*out = &q->base;
		return 0;
	}
	if (q || c->used == SQ_CACHE_SLOTS)
		return sq_prepare_loose(st, sql, out, what, err);
	key = strdup(sql);
	if (!key)
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	q = &c->slot[c->used];
	r = sq_prepare_raw(st, sql, SQLITE_PREPARE_PERSISTENT, &q->stmt, what, err);
	if (r) {
		free(key);
		return r;
	}
	q->base.st = st;
	q->key = key;
	q->cached = true;
	q->in_use = true;
	c->used++;
	*out = &q->base;
	return 0;
}

static sqlite3_stmt *sq_stmt(pb_q *q)
{
	return ((sq_q *)q)->stmt;
}

static void sq_bind_i64(pb_q *q, int idx, int64_t v)
{
	sqlite3_bind_int64(sq_stmt(q), idx, v);
}

static void sq_bind_double(pb_q *q, int idx, double v)
{
	sqlite3_bind_double(sq_stmt(q), idx, v);
}

static void sq_bind_text(pb_q *q, int idx, const char *s)
{
	sqlite3_bind_text(sq_stmt(q), idx, s ? s : "", -1, SQLITE_TRANSIENT);
}

static void sq_bind_null(pb_q *q, int idx)
{
	sqlite3_bind_null(sq_stmt(q), idx);
}

static int sq_step(pb_q *q, const char *what, pb_err *err)
{
	pb_store *st = q->st;
	int rc = sqlite3_step(sq_stmt(q));

	switch (rc) {
	case SQLITE_ROW:
		return PB_Q_ROW;
	case SQLITE_DONE:
		st->changes = sqlite3_changes(sq_db(st));
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PB_E_CONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return PB_E_NOTFOUND;
	default:
		return sq_fail(sq_db(st), rc, what, err);
	}
}

static int64_t sq_col_i64(pb_q *q, int col)
{
	return sqlite3_column_int64(sq_stmt(q), col);
}

static double sq_col_double(pb_q *q, int col)
{
	return sqlite3_column_double(sq_stmt(q), col);
}

static const char *sq_col_text(pb_q *q, int col)
{
	return (const char *)sqlite3_column_text(sq_stmt(q), col);
}

static bool sq_col_null(pb_q *q, int col)
{
	return sqlite3_column_type(sq_stmt(q), col) == SQLITE_NULL;
}

/* A cached statement is reset (which also ends its read of the database) and kept. */
static void sq_finish(pb_q *q)
{
	sq_q *s = (sq_q *)q;

	if (!s->cached) {
		sqlite3_finalize(s->stmt);
		free(s);
		return;
	}
	sqlite3_reset(s->stmt);
	sqlite3_clear_bindings(s->stmt);
	s->in_use = false;
}

extern const char *const pb_sqlite_migrations[];

const pb_db_ops pb_db_sqlite_ops = {
	.name = "sqlite",
	.migrations = pb_sqlite_migrations,
	.connect = sq_connect,
	.session = sq_session,
	.close = sq_close,
	.exec = sq_exec,
	.begin_write = sq_begin_write,
	.in_tx = sq_in_tx,
	.begin_read = sq_begin_read,
	.version_read = sq_version_read,
	.version_write = sq_version_write,
	.prepare = sq_prepare,
	.bind_i64 = sq_bind_i64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_i64 = sq_col_i64,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_null = sq_col_null,
	.finish = sq_finish,
};

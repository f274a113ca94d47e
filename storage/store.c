/* store.c — opening the SQLite database, pragmas, transactions and the shared SQL helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "pb_clock.h"
#include "pb_log.h"
#include "pb_str.h"
#include "store_priv.h"

#define PB_BUSY_TIMEOUT_MS 5000

/* ---- shared helpers ---- */

int pb_sql_fail(sqlite3 *db, int rc, const char *what, pb_err *err)
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

int pb_sql_need_time(int64_t at, const char *what, pb_err *err)
{
	if (at > 0)
		return 0;
	return pb_err_set(err, -EINVAL, "storage: %s needs a timestamp from the caller", what);
}

int pb_sql_prepare(pb_store *st, const char *sql, sqlite3_stmt **out, const char *what, pb_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	if (rc != SQLITE_OK) {
		*out = NULL;
		return pb_sql_fail(st->db, rc, what, err);
	}
	return 0;
}

int pb_sql_exec(sqlite3 *db, const char *sql, const char *what, pb_err *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : pb_sql_fail(db, rc, what, err);
}

int pb_sql_bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
	return sqlite3_bind_text(stmt, idx, s ? s : "", -1, SQLITE_TRANSIENT);
}

int pb_sql_bind_id_or_null(sqlite3_stmt *stmt, int idx, int64_t id)
{
	if (id == 0)
		return sqlite3_bind_null(stmt, idx);
	return sqlite3_bind_int64(stmt, idx, id);
}

void pb_sql_col_text(sqlite3_stmt *stmt, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	pb_strlcpy(dst, t ? (const char *)t : "", size);
}

int pb_sql_step_done(pb_store *st, sqlite3_stmt *stmt, const char *what, pb_err *err)
{
	int rc = sqlite3_step(stmt);
	int r = 0;

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = PB_E_CONFLICT;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		r = PB_E_NOTFOUND;
	else if (rc != SQLITE_DONE)
		r = pb_sql_fail(st->db, rc, what, err);
	sqlite3_finalize(stmt);
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

int pb_sql_one(pb_store *st, sqlite3_stmt *stmt, pb_sql_row_fn row, void *elem, const char *what,
	       pb_err *err)
{
	int rc = sqlite3_step(stmt);
	int r;

	if (rc == SQLITE_ROW)
		r = row(stmt, elem, err);
	else if (rc == SQLITE_DONE)
		r = PB_E_NOTFOUND;
	else
		r = pb_sql_fail(st->db, rc, what, err);
	sqlite3_finalize(stmt);
	return r;
}

int pb_sql_collect(pb_store *st, sqlite3_stmt *stmt, size_t elem_size, pb_sql_row_fn row,
		   const char *what, void **out, size_t *count, pb_err *err)
{
	return pb_sql_collect_owned(st, stmt, elem_size, row, NULL, what, out, count, err);
}

int pb_sql_collect_owned(pb_store *st, sqlite3_stmt *stmt, size_t elem_size, pb_sql_row_fn row,
			 void (*deinit)(void *elem), const char *what, void **out, size_t *count, pb_err *err)
{
	void *list = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r = pb_sql_grow(&list, &cap, n + 1, elem_size, err);
		if (r == 0)
			r = row(stmt, (char *)list + n * elem_size, err);
		if (r)
			goto out;
		n++;
	}
	if (rc != SQLITE_DONE)
		r = pb_sql_fail(st->db, rc, what, err);
out:
	sqlite3_finalize(stmt);
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

static int store_pragmas(sqlite3 *db, pb_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const unsigned char *mode;
	int rc, r;

	/* journal_mode answers with the mode actually in force; check it. */
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return pb_sql_fail(db, rc, "journal_mode=WAL", err);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		r = pb_sql_fail(db, rc, "journal_mode=WAL", err);
		sqlite3_finalize(stmt);
		return r;
	}
	mode = sqlite3_column_text(stmt, 0);
	if (!mode || strcasecmp((const char *)mode, "wal") != 0)
		pb_warn("storage", "journal_mode is %s, not wal", mode ? (const char *)mode : "?");
	sqlite3_finalize(stmt);
	r = pb_sql_exec(db, "PRAGMA foreign_keys=ON", "foreign_keys=ON", err);
	/* NORMAL in WAL mode: a commit survives a crash of the process (the crash
	 * test kills writers with SIGKILL); only an OS crash / power loss may drop
	 * the last commits, never corrupt the file. */
	if (r == 0)
		r = pb_sql_exec(db, "PRAGMA synchronous=NORMAL", "synchronous=NORMAL", err);
	return r;
}

/* Opens the file without touching its contents (no pragma that writes). */
static int store_connect(const char *path, sqlite3 **out, pb_err *err)
{
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	if (!path || !*path)
		return pb_err_set(err, -EINVAL, "storage: no database path given");
	/* One connection per thread: SQLite's own mutexes are not needed. */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		int r = pb_sql_fail(db, rc, path, err);

		sqlite3_close(db);
		return r;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, PB_BUSY_TIMEOUT_MS);
	*out = db;
	return 0;
}

static int store_open_once(const char *path, pb_store **out, pb_err *err)
{
	pb_store *st = NULL;
	sqlite3 *db = NULL;
	int version = 0;
	int r;

	*out = NULL;
	r = store_connect(path, &db, err);
	if (r)
		return r;
	/* Check the version before any pragma that writes: a newer DB stays untouched. */
	r = pb_store_user_version(db, &version, err);
	if (r)
		goto out;
	if (version > PB_STORE_SCHEMA_VERSION) {
		r = pb_err_set(err, -ENOTSUP,
			       "storage: %s has schema version %d but this promobot knows only up to %d; "
			       "refusing to use it (run a newer promobot)",
			       path, version, PB_STORE_SCHEMA_VERSION);
		goto out;
	}
	r = store_pragmas(db, err);
	if (r)
		goto out;
	r = pb_store_migrate(db, PB_STORE_SCHEMA_VERSION, err);
	if (r)
		goto out;
	st = calloc(1, sizeof(*st));
	if (!st) {
		r = pb_err_set(err, -ENOMEM, "storage: out of memory");
		goto out;
	}
	st->db = db;
	db = NULL;
	*out = st;
out:
	if (db)
		sqlite3_close(db);
	return r;
}

/*
 * Switching a fresh file to WAL and running the first migration need an
 * exclusive lock, and SQLite reports SQLITE_BUSY for that without always
 * calling the busy handler. Several workers opening one new database at once
 * hit it, so the whole open is retried with a short backoff, bounded in time.
 */
int pb_store_open(const char *path, pb_store **out, pb_err *err)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + PB_BUSY_TIMEOUT_MS;
	long pause_ms = 5;
	int r;

	for (;;) {
		pb_err attempt;

		pb_err_init(&attempt);
		r = store_open_once(path, out, &attempt);
		if (r != PB_E_BUSY || pb_clock_mono_ms(NULL) >= deadline) {
			if (r)
				pb_err_set(err, r, "%s", pb_err_text(&attempt));
			return r;
		}
		struct timespec ts = { 0, pause_ms * 1000000L };

		nanosleep(&ts, NULL);
		if (pause_ms < 100)
			pause_ms *= 2;
	}
}

void pb_store_close(pb_store *st)
{
	if (!st)
		return;
	/* close_v2 never fails on unfinalized statements; we finalize all of them anyway. */
	sqlite3_close_v2(st->db);
	free(st);
}

int pb_store_schema_version(pb_store *st)
{
	int v = -1;

	if (pb_store_user_version(st->db, &v, NULL))
		return -1;
	return v;
}

int pb_store_create_at_version(const char *path, int version, pb_err *err)
{
	sqlite3 *db = NULL;
	int current = 0;
	int r;

	if (version < 0 || version > PB_STORE_SCHEMA_VERSION)
		return pb_err_set(err, -EINVAL, "storage: schema version %d out of range 0..%d", version,
				  PB_STORE_SCHEMA_VERSION);
	r = store_connect(path, &db, err);
	if (r)
		return r;
	r = pb_store_user_version(db, &current, err);
	if (r)
		goto out;
	if (current != 0) {
		r = pb_err_set(err, -EEXIST, "storage: %s already holds schema version %d", path, current);
		goto out;
	}
	r = store_pragmas(db, err);
	if (r == 0)
		r = pb_store_migrate(db, version, err);
out:
	sqlite3_close(db);
	return r;
}

/* ---- transactions ---- */

int pb_store_begin(pb_store *st, pb_err *err)
{
	if (!sqlite3_get_autocommit(st->db))
		return pb_err_set(err, -EINVAL, "storage: begin: a transaction is already open");
	/* IMMEDIATE takes the write lock now, so two writers never deadlock on upgrade. */
	st->tx_started_ms = pb_clock_mono_ms(NULL);
	return pb_sql_exec(st->db, "BEGIN IMMEDIATE", "begin", err);
}

void pb_store_set_tx_observer(pb_store *st, void (*fn)(void *ud, double seconds), void *ud)
{
	st->tx_observer = fn;
	st->tx_ud = ud;
}

int pb_store_commit(pb_store *st, pb_err *err)
{
	int r;

	if (sqlite3_get_autocommit(st->db))
		return pb_err_set(err, -EINVAL, "storage: commit: no transaction is open");
	r = pb_sql_exec(st->db, "COMMIT", "commit", err);
	/* Never leave the connection inside a half-done transaction. */
	if (r)
		pb_store_rollback(st);
	else if (st->tx_observer)
		st->tx_observer(st->tx_ud, (double)(pb_clock_mono_ms(NULL) - st->tx_started_ms) / 1000.0);
	return r;
}

void pb_store_rollback(pb_store *st)
{
	if (!st || sqlite3_get_autocommit(st->db))
		return;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
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

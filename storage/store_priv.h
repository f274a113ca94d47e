/* store_priv.h — internals shared by the storage .c files (never included outside storage). */
#ifndef PB_STORE_PRIV_H
#define PB_STORE_PRIV_H

#include <sqlite3.h>

#include "pb_store.h"

struct pb_store {
	sqlite3 *db;
	void (*tx_observer)(void *ud, double seconds); /* told each committed transaction's duration */
	void *tx_ud;
	int64_t tx_started_ms;
};

/* SQL fragment listing the terminal states, shared by the partial index and queries. */
#define PB_SQL_TERMINAL "('completed','failed','rolled_back','cancelled')"

/*
 * Turns a SQLite result code into our convention and fills err with
 * "storage: <what>: <sqlite3_errmsg>". SQLITE_BUSY/LOCKED (the busy timeout
 * expired) → PB_E_BUSY, out of memory → -ENOMEM, anything else → -EIO.
 */
int pb_sql_fail(sqlite3 *db, int rc, const char *what, pb_err *err);
/* -EINVAL unless the caller gave a timestamp: storage never reads the clock itself. */
int pb_sql_need_time(int64_t at, const char *what, pb_err *err);
/* Prepares `sql` (a constant, never user text); <0/PB_E_BUSY with err on failure. */
int pb_sql_prepare(pb_store *st, const char *sql, sqlite3_stmt **out, const char *what, pb_err *err);
/* Runs constant SQL without parameters (DDL, pragmas, transaction control). */
int pb_sql_exec(sqlite3 *db, const char *sql, const char *what, pb_err *err);
/* Binds text; NULL binds "" so NOT NULL text columns never see NULL. */
int pb_sql_bind_text(sqlite3_stmt *stmt, int idx, const char *s);
/* Binds an int64 or NULL when zero (optional foreign keys such as promotion_id 0). */
int pb_sql_bind_id_or_null(sqlite3_stmt *stmt, int idx, int64_t id);
/* Copies a text column into a fixed buffer with truncation ("" for NULL). */
void pb_sql_col_text(sqlite3_stmt *stmt, int col, char *dst, size_t size);
/*
 * Steps a write statement to completion and finalizes it. Returns 0,
 * PB_E_CONFLICT for a UNIQUE/PRIMARY KEY violation, PB_E_NOTFOUND for a
 * foreign key violation (the referenced row does not exist), otherwise the
 * pb_sql_fail mapping. Constraint cases do not set err: the caller words them.
 */
int pb_sql_step_done(pb_store *st, sqlite3_stmt *stmt, const char *what, pb_err *err);
/* Grows *arr (element size `elem`) to hold at least need elements; -ENOMEM on failure. */
int pb_sql_grow(void **arr, size_t *cap, size_t need, size_t elem, pb_err *err);
/* Fills *elem from the current row of stmt; 0 or an error set in err. */
typedef int (*pb_sql_row_fn)(sqlite3_stmt *stmt, void *elem, pb_err *err);
/*
 * Steps a bound single-row query and finalizes it: 0 with *elem filled by
 * row, PB_E_NOTFOUND when there is no row (err not set: the caller words it),
 * row's error, or the pb_sql_fail mapping under `what`.
 */
int pb_sql_one(pb_store *st, sqlite3_stmt *stmt, pb_sql_row_fn row, void *elem, const char *what,
	       pb_err *err);
/*
 * Steps a bound query to the end, one element of elem_size per row filled by
 * row, and finalizes it. On success *out (free() it; NULL when no row) and
 * *count are set; on failure they are left alone and nothing is allocated.
 */
int pb_sql_collect(pb_store *st, sqlite3_stmt *stmt, size_t elem_size, pb_sql_row_fn row,
		   const char *what, void **out, size_t *count, pb_err *err);
/* Same for rows that own heap memory: on failure `deinit` releases the rows collected before it. */
int pb_sql_collect_owned(pb_store *st, sqlite3_stmt *stmt, size_t elem_size, pb_sql_row_fn row,
			 void (*deinit)(void *elem), const char *what, void **out, size_t *count, pb_err *err);

/* Schema version helpers (migrations.c). */
int pb_store_user_version(sqlite3 *db, int *out, pb_err *err);
/* Migrates an open connection from its current version up to `target`, one tx per step. */
int pb_store_migrate(sqlite3 *db, int target, pb_err *err);

#endif

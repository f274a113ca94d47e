/* store_priv.h — internals shared by the storage .c files (never included outside storage). */
#ifndef PB_STORE_PRIV_H
#define PB_STORE_PRIV_H

#include <stdbool.h>

#include "pb_store.h"

/*
 * Backends. Every aggregate file speaks to the database through pb_q — a
 * prepared statement with numbered parameters (?1, ?2 …) — and the pb_sql_*
 * helpers below; each backend (db_sqlite.c, db_pg.c) implements pb_db_ops.
 * SQL in the aggregate files is the dialect both backends accept (no
 * INSERT OR REPLACE, ids by RETURNING, ON CONFLICT … DO …); what differs
 * (schema DDL, the write lock, the schema version) lives in the backend.
 */
typedef struct pb_q pb_q;
typedef struct pb_db_ops pb_db_ops;

/* pb_q_step's answer when the statement produced a row (never a PB_E_* value). */
#define PB_Q_ROW 100

struct pb_db_ops {
	const char *name;               /* "sqlite", "postgres": in messages */
	const char *const *migrations;  /* migrations[v] takes the schema from v-1 to v */
	int (*connect)(pb_store *st, const char *target, const char *password, pb_err *err);
	/* Session settings that may write (SQLite pragmas), after the version check. */
	int (*session)(pb_store *st, pb_err *err);
	void (*close)(pb_store *st);
	/* Constant SQL without parameters (DDL, transaction control); may hold several statements. */
	int (*exec)(pb_store *st, const char *sql, const char *what, pb_err *err);
	/* Opens a transaction that holds the store's write lock from its first statement. */
	int (*begin_write)(pb_store *st, const char *what, pb_err *err);
	bool (*in_tx)(pb_store *st);
	/* Opens a read transaction: the statements until its COMMIT see one snapshot. NULL: the backend
	 * gains nothing from one (each statement already runs on its own snapshot at no extra cost). */
	int (*begin_read)(pb_store *st, pb_err *err);
	int (*version_read)(pb_store *st, int *out, pb_err *err);
	int (*version_write)(pb_store *st, int version, pb_err *err); /* inside the migration's transaction */
	int (*prepare)(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err);
	void (*bind_i64)(pb_q *q, int idx, int64_t v);
	void (*bind_double)(pb_q *q, int idx, double v);
	void (*bind_text)(pb_q *q, int idx, const char *s);
	void (*bind_null)(pb_q *q, int idx);
	/* PB_Q_ROW, 0 at the end (st->changes set), or the mapping pb_sql_step_done documents. */
	int (*step)(pb_q *q, const char *what, pb_err *err);
	int64_t (*col_i64)(pb_q *q, int col);
	double (*col_double)(pb_q *q, int col);
	const char *(*col_text)(pb_q *q, int col); /* NULL for SQL NULL; valid until the next step */
	bool (*col_null)(pb_q *q, int col);
	/* Releases the statement (back to the backend's cache, bindings cleared). */
	void (*finish)(pb_q *q);
};

extern const pb_db_ops pb_db_sqlite_ops;
extern const pb_db_ops pb_db_pg_ops;

struct pb_store {
	const pb_db_ops *ops;
	void *conn;          /* the backend's connection (sqlite3 *, PGconn *) */
	void *cache;         /* the backend's prepared-statement cache */
	char label[256];     /* where the data lives, for messages (never a password) */
	int64_t changes;     /* rows changed by the last statement stepped to its end */
	void (*tx_observer)(void *ud, double seconds); /* told each committed transaction's duration */
	void *tx_ud;
	int64_t tx_started_ms;
	int lease_s;         /* ttl of component leases (pb_store_set_lease_s), PB_LEASE_DEFAULT_S until set */
};

/* Every backend's statement starts with this. */
struct pb_q {
	pb_store *st;
};

static inline void pb_q_bind_i64(pb_q *q, int idx, int64_t v) { q->st->ops->bind_i64(q, idx, v); }
static inline void pb_q_bind_double(pb_q *q, int idx, double v) { q->st->ops->bind_double(q, idx, v); }
static inline void pb_q_bind_null(pb_q *q, int idx) { q->st->ops->bind_null(q, idx); }
static inline int64_t pb_q_col_i64(pb_q *q, int col) { return q->st->ops->col_i64(q, col); }
static inline int pb_q_col_int(pb_q *q, int col) { return (int)q->st->ops->col_i64(q, col); }
static inline double pb_q_col_double(pb_q *q, int col) { return q->st->ops->col_double(q, col); }
static inline const char *pb_q_col_text(pb_q *q, int col) { return q->st->ops->col_text(q, col); }
static inline bool pb_q_col_null(pb_q *q, int col) { return q->st->ops->col_null(q, col); }
static inline int pb_q_step(pb_q *q, const char *what, pb_err *err) { return q->st->ops->step(q, what, err); }
static inline void pb_q_finish(pb_q *q) { if (q) q->st->ops->finish(q); }

/* SQL fragment listing the terminal states, shared by the partial index and queries. */
#define PB_SQL_TERMINAL "('completed','failed','rolled_back','cancelled')"

/* -EINVAL unless the caller gave a timestamp: storage never reads the clock itself. */
int pb_sql_need_time(int64_t at, const char *what, pb_err *err);
/* Prepares `sql` (a constant, never user text); <0/PB_E_BUSY with err on failure. */
int pb_sql_prepare(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err);
/* Runs constant SQL without parameters (DDL, transaction control). */
int pb_sql_exec(pb_store *st, const char *sql, const char *what, pb_err *err);
/* Binds text; NULL binds "" so NOT NULL text columns never see NULL. */
void pb_sql_bind_text(pb_q *stmt, int idx, const char *s);
/* Binds an int64 or NULL when zero (optional foreign keys such as promotion_id 0). */
void pb_sql_bind_id_or_null(pb_q *stmt, int idx, int64_t id);
/* Copies a text column into a fixed buffer with truncation ("" for NULL). */
void pb_sql_col_text(pb_q *stmt, int col, char *dst, size_t size);
/*
 * Steps a write statement to completion and finishes it. Returns 0 (with
 * st->changes set), PB_E_CONFLICT for a UNIQUE/PRIMARY KEY violation,
 * PB_E_NOTFOUND for a foreign key violation (the referenced row does not
 * exist), PB_E_BUSY when the write lock could not be had in time (with
 * text), otherwise <0 with text. Constraint cases do not set err: the
 * caller words them.
 */
int pb_sql_step_done(pb_store *st, pb_q *stmt, const char *what, pb_err *err);
/*
 * Steps an INSERT … RETURNING id and finishes it: 0 with *id set, or the
 * pb_sql_step_done mapping.
 */
int pb_sql_insert_id(pb_store *st, pb_q *stmt, int64_t *id, const char *what, pb_err *err);
/* Grows *arr (element size `elem`) to hold at least need elements; -ENOMEM on failure. */
int pb_sql_grow(void **arr, size_t *cap, size_t need, size_t elem, pb_err *err);
/* Fills *elem from the current row of stmt; 0 or an error set in err. */
typedef int (*pb_sql_row_fn)(pb_q *stmt, void *elem, pb_err *err);
/* Row reader of a single int64 column (counts, ids). */
int pb_sql_row_i64(pb_q *stmt, void *elem, pb_err *err);
/*
 * Steps a bound single-row query and finalizes it: 0 with *elem filled by
 * row, PB_E_NOTFOUND when there is no row (err not set: the caller words it),
 * row's error, or the step's error under `what`.
 */
int pb_sql_one(pb_store *st, pb_q *stmt, pb_sql_row_fn row, void *elem, const char *what,
	       pb_err *err);
/*
 * Steps a bound query to the end, one element of elem_size per row filled by
 * row, and finalizes it. On success *out (free() it; NULL when no row) and
 * *count are set; on failure they are left alone and nothing is allocated.
 */
int pb_sql_collect(pb_store *st, pb_q *stmt, size_t elem_size, pb_sql_row_fn row,
		   const char *what, void **out, size_t *count, pb_err *err);
/* Same for rows that own heap memory: on failure `deinit` releases the rows collected before it. */
int pb_sql_collect_owned(pb_store *st, pb_q *stmt, size_t elem_size, pb_sql_row_fn row,
			 void (*deinit)(void *elem), const char *what, void **out, size_t *count, pb_err *err);

/* Schema version (migrations.c): the backend's stored version, and the forward steps up to `target`. */
int pb_store_user_version(pb_store *st, int *out, pb_err *err);
int pb_store_migrate(pb_store *st, int target, pb_err *err);

#endif

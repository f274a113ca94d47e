/* db_pg.c — the PostgreSQL backend of pb_store (libpq): one connection, server-side prepared statements. */
/*
 * One difference from SQLite the callers see: a statement that fails inside a
 * transaction (a constraint, a timeout) ends the transaction on the server;
 * later statements fail and COMMIT reports the failure (never a silent
 * rollback). Every caller already rolls back on an error, so nothing relies on
 * continuing a transaction past a failed statement.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "pb_lane.h"
#include "pb_log.h"
#include "pb_str.h"
#include "store_priv.h"

/*
 * The write lock. Every write transaction (pb_store_begin, the lock and
 * migration transactions) starts with pg_advisory_xact_lock on one key per
 * schema, so write transactions on the same data run one at a time just as
 * SQLite's BEGIN IMMEDIATE makes them: every invariant the aggregate files
 * got from SQLite's single writer (read-then-write inside a transaction, the
 * outbox head, the report claim) holds unchanged across replicas. The cost is
 * that writers of one promobot installation never overlap — measured by
 * bench/store_bench.sh (a few thousand such transactions a second on one
 * socket, far above a bot's load). Reads and single autocommit statements do not
 * take it (row locks, the unique indexes and the UPDATE … WHERE re-check
 * decide those, as the concurrency suite shows). The key is ("prom",
 * hash of the schema): installations in other schemas of one database do not
 * wait for each other.
 */
#define PG_WRITE_LOCK_SQL                                                                          \
	"BEGIN; SELECT pg_advisory_xact_lock(1886547821, hashtext(coalesce(current_schema(), '')))"
/* A write waits this long for the write lock (the SQLite busy timeout), then PB_E_BUSY. */
#define PG_SESSION_SQL                                                                             \
	"SET lock_timeout = '5s'; SET statement_timeout = '30s';"                                   \
	" SET idle_in_transaction_session_timeout = '60s'"
/* Like db_sqlite.c: the SQL is a small fixed set of constants, prepared once per connection. */
#define PG_CACHE_SLOTS 96

typedef struct pg_conn {
	PGconn *c;
	unsigned gen;      /* bumped by each reconnect: statements prepared before are gone */
	bool lost_in_tx;   /* the connection died inside a transaction: refuse until ROLLBACK */
	unsigned names;    /* prepared statement names handed out */
} pg_conn;

typedef struct pg_q {
	pb_q base;
	char *key;          /* the SQL text as the aggregate file wrote it (a copy) */
	char *text;         /* the same with $N placeholders */
	int nparams;
	Oid *types;         /* this execution's parameter types (0 for NULL: any type) */
	Oid *prep_types;    /* the types the server-side statement was prepared with */
	char **vals;        /* this execution's parameters as text, NULL for SQL NULL */
	char name[24];      /* server-side statement name ("" when none) */
	unsigned prep_gen;  /* connection generation it was prepared in (0: not prepared) */
	PGresult *res;
	int row;            /* rows handed out so far */
	int nrows;
	bool ran;
	bool oom;           /* a bind could not copy its value */
	bool cached;
	bool in_use;
} pg_q;

typedef struct pg_cache {
	pg_q slot[PG_CACHE_SLOTS];
	size_t used;
} pg_cache;

static pg_conn *pg_c(pb_store *st)
{
	return st->conn;
}

/* libpq's message on one line: no trailing newline, inner line breaks and tabs as spaces. */
static void pg_msg(const char *in, char *out, size_t size)
{
	size_t n;

	pb_strlcpy(out, in && *in ? in : "unknown error", size);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
}

static int pg_lost(pb_store *st, bool was_in_tx, const char *what, pb_err *err)
{
	char msg[256];

	pg_msg(PQerrorMessage(pg_c(st)->c), msg, sizeof(msg));
	if (was_in_tx)
		pg_c(st)->lost_in_tx = true;
	pb_warn("storage", "%s: connection to PostgreSQL lost: %s", what, msg);
	return pb_err_set(err, -EIO, "storage: %s: connection to PostgreSQL lost: %s", what, msg);
}

/*
 * Maps a failed result to our convention by its SQLSTATE: unique violation →
 * PB_E_CONFLICT, foreign key violation → PB_E_NOTFOUND (no text: the caller
 * words both), serialization failure, deadlock, lock or statement timeout →
 * PB_E_BUSY, a lost connection → -EIO; anything else → -EIO with the server's
 * message.
 */
static int pg_fail(pb_store *st, PGresult *res, bool was_in_tx, const char *what, pb_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	if (PQstatus(pg_c(st)->c) == CONNECTION_BAD || (state && strncmp(state, "08", 2) == 0) ||
	    (state && strncmp(state, "57P0", 4) == 0))
		return pg_lost(st, was_in_tx, what, err);
	if (state && strcmp(state, "23505") == 0)
		return PB_E_CONFLICT;
	if (state && strcmp(state, "23503") == 0)
		return PB_E_NOTFOUND;
	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		pg_msg(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg, sizeof(msg));
	else
		pg_msg(PQerrorMessage(pg_c(st)->c), msg, sizeof(msg));
	if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		      strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0))
		return pb_err_set(err, PB_E_BUSY, "storage: %s: %s (database busy)", what, msg);
	if (!res)
		return pb_err_set(err, -ENOMEM, "storage: %s: %s", what, msg);
	return pb_err_set(err, -EIO, "storage: %s: %s", what, msg);
}

/* Notices (CREATE … IF NOT EXISTS, ROLLBACK outside a transaction) are not errors: debug only. */
static void pg_notice(void *arg, const char *message)
{
	char msg[256];

	(void)arg;
	pg_msg(message, msg, sizeof(msg));
	pb_debug("storage", "postgres: %s", msg);
}

/* Per-session settings; sent again after each reconnect. */
static int pg_session_setup(pb_store *st, const char *what, pb_err *err)
{
	PGresult *res;
	int r = 0;

	PQsetNoticeProcessor(pg_c(st)->c, pg_notice, NULL);
	pb_lane_leave(); /* a round trip to the server: the worker's CPU lane may serve another job */
	res = PQexec(pg_c(st)->c, PG_SESSION_SQL);
	pb_lane_enter();
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_fail(st, res, false, what, err);
	PQclear(res);
	return r;
}

/*
 * Before each statement: a connection that dropped is re-established (a
 * replica outlives a PostgreSQL restart), but a transaction it was in is not
 * replayed — statements fail until the caller rolls back.
 */
static int pg_ready(pb_store *st, bool rollback, const char *what, pb_err *err)
{
	pg_conn *pc = pg_c(st);
	char msg[256];

	if (pc->lost_in_tx) {
		if (rollback)
			return 0;
		return pb_err_set(err, -EIO,
				  "storage: %s: the transaction was lost with the connection to PostgreSQL", what);
	}
	if (PQstatus(pc->c) == CONNECTION_OK)
		return 0;
	PQreset(pc->c);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		pg_msg(PQerrorMessage(pc->c), msg, sizeof(msg));
		return pb_err_set(err, -EIO, "storage: %s: connection to PostgreSQL lost: %s", what, msg);
	}
	pc->gen++;
	pb_info("storage", "reconnected to PostgreSQL at %s", st->label);
	return pg_session_setup(st, what, err);
}

/* ---- connection ---- */

/* st->label: the URI without a password (user:password@ or password=…). */
static void pg_label(pb_store *st, const char *uri)
{
	const char *scheme_end = strstr(uri, "://");
	char *lab = st->label;
	char *p;

	pb_strlcpy(lab, uri, sizeof(st->label));
	if (scheme_end) {
		char *auth = lab + (scheme_end - uri) + 3;
		char *slash = strpbrk(auth, "/?");
		char *at = strchr(auth, '@');
		char *colon = strchr(auth, ':');

		if (at && (!slash || at < slash) && colon && colon < at)
			memmove(colon, at, strlen(at) + 1);
	}
	p = strstr(lab, "password=");
	if (p) {
		char *end = strchr(p, '&');

		p += strlen("password=");
		if (end)
			memmove(p, end, strlen(end) + 1);
		else
			*p = '\0';
	}
}

static int pg_connect(pb_store *st, const char *target, const char *password, pb_err *err)
{
	const char *keys[] = { "application_name", "dbname", password ? "password" : NULL, NULL };
	const char *vals[] = { "promobot", target, password, NULL };
	pg_conn *pc = NULL;
	char msg[256];
	int r;

	if (!target || !*target)
		return pb_err_set(err, -EINVAL, "storage: no PostgreSQL URI given");
	pg_label(st, target);
	pc = calloc(1, sizeof(*pc));
	st->cache = calloc(1, sizeof(pg_cache));
	if (!pc || !st->cache) {
		free(pc);
		free(st->cache);
		st->cache = NULL;
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	}
	pc->gen = 1;
	/* application_name first: the URI may name its own; expand_dbname reads the URI */
	pb_lane_leave();
	pc->c = PQconnectdbParams(keys, vals, 1);
	pb_lane_enter();
	if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
		pg_msg(pc->c ? PQerrorMessage(pc->c) : "out of memory", msg, sizeof(msg));
		r = pb_err_set(err, -EIO, "storage: cannot connect to PostgreSQL at %s: %s", st->label, msg);
		goto fail;
	}
	st->conn = pc;
	r = pg_session_setup(st, "connect", err);
	if (r == 0)
		return 0;
	st->conn = NULL;
fail:
	PQfinish(pc->c);
	free(pc);
	free(st->cache);
	st->cache = NULL;
	return r;
}

static int pg_session(pb_store *st, pb_err *err)
{
	(void)st;
	(void)err;
	return 0;
}

static void pg_q_clear(pg_q *q)
{
	PQclear(q->res);
	q->res = NULL;
	for (int i = 0; i < q->nparams; i++) {
		free(q->vals[i]);
		q->vals[i] = NULL;
		q->types[i] = 0;
	}
	q->row = q->nrows = 0;
	q->ran = q->oom = false;
}

static void pg_q_free_fields(pg_q *q)
{
	pg_q_clear(q);
	free(q->key);
	free(q->text);
	free(q->types);
	free(q->prep_types);
	free(q->vals);
}

static void pg_close(pb_store *st)
{
	pg_cache *c = st->cache;

	for (size_t i = 0; c && i < c->used; i++)
		pg_q_free_fields(&c->slot[i]);
	free(c);
	PQfinish(pg_c(st)->c);
	free(st->conn);
	st->conn = NULL;
}

/* Constant SQL, possibly several statements, through the simple query protocol. */
static int pg_exec(pb_store *st, const char *sql, const char *what, pb_err *err)
{
	pg_conn *pc = pg_c(st);
	bool rollback = strcmp(sql, "ROLLBACK") == 0;
	bool was_in_tx;
	PGresult *res;
	int r = 0;

	r = pg_ready(st, rollback, what, err);
	if (r)
		return r;
	if (pc->lost_in_tx) {
		/* the server already ended that transaction with the connection */
		pc->lost_in_tx = false;
		return 0;
	}
	was_in_tx = PQtransactionStatus(pc->c) != PQTRANS_IDLE;
	pb_lane_leave();
	res = PQexec(pc->c, sql);
	pb_lane_enter();
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		/* COMMIT of a transaction a statement failed in answers ROLLBACK, not an error */
		if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
			r = pb_err_set(err, -EIO, "storage: %s: the transaction had failed and was rolled back",
				       what);
		break;
	default:
		r = pg_fail(st, res, was_in_tx, what, err);
		break;
	}
	PQclear(res);
	return r;
}

static bool pg_in_tx(pb_store *st)
{
	pg_conn *pc = pg_c(st);

	if (pc->lost_in_tx)
		return true;
	if (PQstatus(pc->c) != CONNECTION_OK)
		return false;
	return PQtransactionStatus(pc->c) != PQTRANS_IDLE;
}

/* See PG_WRITE_LOCK_SQL: one round trip opens the transaction and waits for the write lock. */
static int pg_begin_write(pb_store *st, const char *what, pb_err *err)
{
	int r = pg_exec(st, PG_WRITE_LOCK_SQL, what, err);

	if (r && pg_in_tx(st))
		pg_exec(st, "ROLLBACK", what, NULL);
	return r;
}

/* One integer from constant SQL. */
static int pg_exec_int(pb_store *st, const char *sql, int64_t *out, const char *what, pb_err *err)
{
	pg_conn *pc = pg_c(st);
	bool was_in_tx;
	PGresult *res;
	int r;

	r = pg_ready(st, false, what, err);
	if (r)
		return r;
	was_in_tx = PQtransactionStatus(pc->c) != PQTRANS_IDLE;
	pb_lane_leave();
	res = PQexec(pc->c, sql);
	pb_lane_enter();
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = pg_fail(st, res, was_in_tx, what, err);
	else if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0))
		r = pb_err_set(err, -EIO, "storage: %s: expected one value", what);
	else
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

/* The schema version lives in a one-row table; no table yet means a new database (0). */
static int pg_version_read(pb_store *st, int *out, pb_err *err)
{
	int64_t exists = 0, v = 0;
	int r;

	/*
	 * pg_class itself, not to_regclass: name lookups go through this
	 * backend's catalog cache, which can still say "absent" after another
	 * replica created the table while we waited for the write lock.
	 */
	r = pg_exec_int(st, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
			    " WHERE c.relname = 'promobot_schema' AND n.nspname = current_schema()",
			&exists, "reading the schema version", err);
	if (r == 0 && exists)
		r = pg_exec_int(st, "SELECT coalesce(max(version), 0) FROM promobot_schema", &v,
				"reading the schema version", err);
	if (r == 0)
		*out = (int)v;
	return r;
}

static int pg_version_write(pb_store *st, int version, pb_err *err)
{
	char sql[192];

	/* version is our own integer, not input */
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS promobot_schema (version INTEGER NOT NULL);"
		 " DELETE FROM promobot_schema; INSERT INTO promobot_schema(version) VALUES (%d)", version);
	return pg_exec(st, sql, "writing the schema version", err);
}

/* ---- statements ---- */

/*
 * ?N → $N once per SQL text; a bare ? takes the number after the largest so
 * far (SQLite's rule). Quoted literals and identifiers are copied untouched.
 * Returns the new text (malloc) and the number of parameters.
 */
static char *pg_convert(const char *sql, int *nparams)
{
	size_t n = strlen(sql);
	char *out = malloc(n * 8 + 1);
	size_t o = 0;
	int max = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = sql[i];

		if (ch == '\'' || ch == '"') {
			out[o++] = ch;
			for (i++; i < n; i++) {
				out[o++] = sql[i];
				if (sql[i] == ch)
					break;
			}
			continue;
		}
		if (ch != '?') {
			out[o++] = ch;
			continue;
		}
		if (sql[i + 1] >= '0' && sql[i + 1] <= '9') {
			int v = 0;

			out[o++] = '$';
			while (sql[i + 1] >= '0' && sql[i + 1] <= '9' && v < 10000) {
				v = v * 10 + (sql[i + 1] - '0');
				out[o++] = sql[++i];
			}
			if (v > max)
				max = v;
		} else {
			max++;
			o += (size_t)snprintf(out + o, 8, "$%d", max);
		}
	}
	out[o] = '\0';
	*nparams = max;
	return out;
}

static int pg_q_init(pg_q *q, pb_store *st, const char *sql, pb_err *err)
{
	int n = 0;

	memset(q, 0, sizeof(*q));
	q->base.st = st;
	q->key = strdup(sql);
	q->text = pg_convert(sql, &n);
	q->nparams = n;
	if (n > 0) {
		q->types = calloc((size_t)n, sizeof(Oid));
		q->prep_types = calloc((size_t)n, sizeof(Oid));
		q->vals = calloc((size_t)n, sizeof(char *));
	}
	if (!q->key || !q->text || (n > 0 && (!q->types || !q->prep_types || !q->vals))) {
		pg_q_free_fields(q);
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	}
	return 0;
}

static pg_q *pg_cache_find(pg_cache *c, const char *sql)
{
	for (size_t i = 0; i < c->used; i++) {
		if (c->slot[i].key == sql || strcmp(c->slot[i].key, sql) == 0)
			return &c->slot[i];
	}
	return NULL;
}

/* A statement outside the cache (cache full, or its entry in use by an outer query): unnamed. */
static int pg_prepare_loose(pb_store *st, const char *sql, pb_q **out, pb_err *err)
{
	pg_q *q = malloc(sizeof(*q));
	int r;

	if (!q)
		return pb_err_set(err, -ENOMEM, "storage: out of memory");
	r = pg_q_init(q, st, sql, err);
	if (r) {
		free(q);
		return r;
	}
	q->in_use = true;
	*out = &q->base;
	return 0;
}

/* Nothing reaches the server here: the statement is prepared on its first run, with its types. */
static int pg_prepare(pb_store *st, const char *sql, pb_q **out, const char *what, pb_err *err)
{
	pg_cache *c = st->cache;
	pg_q *q = pg_cache_find(c, sql);
	int r;

	(void)what;
	*out = NULL;
	if (q && !q->in_use) {
		q->in_use = true;
		*out = &q->base;
		return 0;
	}
	if (q || c->used == PG_CACHE_SLOTS)
		return pg_prepare_loose(st, sql, out, err);
	q = &c->slot[c->used];
	r = pg_q_init(q, st, sql, err);
	if (r)
		return r;
	q->cached = true;
	q->in_use = true;
	c->used++;
	*out = &q->base;
	return 0;
}

/*
 * Parameters travel as text with an explicit type (int8, float8, text) so
 * `$2 = ''`, `LIMIT $2` and comparisons all infer; NULL is sent untyped.
 */
#define PG_OID_INT8 20
#define PG_OID_TEXT 25
#define PG_OID_FLOAT8 701

static void pg_bind(pb_q *bq, int idx, Oid type, const char *text)
{
	pg_q *q = (pg_q *)bq;

	if (idx < 1 || idx > q->nparams)
		return;
	free(q->vals[idx - 1]);
	q->vals[idx - 1] = NULL;
	q->types[idx - 1] = text ? type : 0;
	if (text) {
		q->vals[idx - 1] = strdup(text);
		if (!q->vals[idx - 1])
			q->oom = true;
	}
}

static void pg_bind_i64(pb_q *q, int idx, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	pg_bind(q, idx, PG_OID_INT8, buf);
}

static void pg_bind_double(pb_q *q, int idx, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.17g", v);
	pg_bind(q, idx, PG_OID_FLOAT8, buf);
}

static void pg_bind_text(pb_q *q, int idx, const char *s)
{
	pg_bind(q, idx, PG_OID_TEXT, s ? s : "");
}

static void pg_bind_null(pb_q *q, int idx)
{
	pg_bind(q, idx, 0, NULL);
}

/* The prepared statement serves these binds: same type everywhere a value is given. */
static bool pg_types_fit(const pg_q *q)
{
	for (int i = 0; i < q->nparams; i++) {
		if (q->types[i] != 0 && q->types[i] != q->prep_types[i])
			return false;
	}
	return true;
}

/*
 * Prepares a cached statement on the server under a fresh name with the
 * types of this execution (a type known from an earlier run is kept where
 * this one binds NULL, so alternating NULL / value settles on one statement).
 */
static int pg_server_prepare(pg_q *q, const char *what, pb_err *err)
{
	pb_store *st = q->base.st;
	pg_conn *pc = pg_c(st);
	bool was_in_tx = PQtransactionStatus(pc->c) != PQTRANS_IDLE;
	PGresult *res;
	int r = 0;

	for (int i = 0; i < q->nparams; i++) {
		if (q->types[i] != 0 || q->prep_gen != pc->gen)
			q->prep_types[i] = q->types[i];
	}
	snprintf(q->name, sizeof(q->name), "pb%u", ++pc->names);
	pb_lane_leave();
	res = PQprepare(pc->c, q->name, q->text, q->nparams, q->prep_types);
	pb_lane_enter();
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_fail(st, res, was_in_tx, what, err);
		q->prep_gen = 0;
	} else {
		q->prep_gen = pc->gen;
	}
	PQclear(res);
	return r;
}

static int pg_run(pg_q *q, const char *what, pb_err *err)
{
	pb_store *st = q->base.st;
	pg_conn *pc = pg_c(st);
	const char *const *vals = (const char *const *)q->vals;
	bool was_in_tx;
	int r;

	if (q->oom)
		return pb_err_set(err, -ENOMEM, "storage: %s: out of memory", what);
	r = pg_ready(st, false, what, err);
	if (r)
		return r;
	was_in_tx = PQtransactionStatus(pc->c) != PQTRANS_IDLE;
	if (!q->cached) {
		pb_lane_leave();
		q->res = PQexecParams(pc->c, q->text, q->nparams, q->types, vals, NULL, NULL, 0);
		pb_lane_enter();
	} else {
		if (q->prep_gen != pc->gen || !pg_types_fit(q)) {
			r = pg_server_prepare(q, what, err);
			if (r)
				return r;
		}
		pb_lane_leave();
		q->res = PQexecPrepared(pc->c, q->name, q->nparams, vals, NULL, NULL, 0);
		pb_lane_enter();
	}
	switch (PQresultStatus(q->res)) {
	case PGRES_TUPLES_OK:
		q->nrows = PQntuples(q->res);
		return 0;
	case PGRES_COMMAND_OK:
		return 0;
	default:
		return pg_fail(st, q->res, was_in_tx, what, err);
	}
}

static int pg_step(pb_q *bq, const char *what, pb_err *err)
{
	pg_q *q = (pg_q *)bq;

	if (!q->ran) {
		int r;

		q->ran = true;
		r = pg_run(q, what, err);
		if (r) {
			PQclear(q->res);
			q->res = NULL;
			q->nrows = 0;
			return r;
		}
	}
	if (q->row < q->nrows) {
		q->row++;
		return PB_Q_ROW;
	}
	bq->st->changes = q->res ? strtoll(PQcmdTuples(q->res), NULL, 10) : 0;
	return 0;
}

static bool pg_col_ok(pg_q *q, int col)
{
	return q->res && q->row > 0 && col >= 0 && col < PQnfields(q->res);
}

static const char *pg_col_text(pb_q *bq, int col)
{
	pg_q *q = (pg_q *)bq;

	if (!pg_col_ok(q, col) || PQgetisnull(q->res, q->row - 1, col))
		return NULL;
	return PQgetvalue(q->res, q->row - 1, col);
}

static bool pg_col_null(pb_q *bq, int col)
{
	pg_q *q = (pg_q *)bq;

	return !pg_col_ok(q, col) || PQgetisnull(q->res, q->row - 1, col);
}

/* Booleans read as 1/0 and numeric text (sum(), avg()) as its integer part, like SQLite. */
static int64_t pg_col_i64(pb_q *bq, int col)
{
	const char *t = pg_col_text(bq, col);
	char *end;
	long long v;

	if (!t)
		return 0;
	if (t[0] == 't' && !t[1])
		return 1;
	if (t[0] == 'f' && !t[1])
		return 0;
	errno = 0;
	v = strtoll(t, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
		double d = strtod(t, NULL);

		if (d >= 9.2e18)
			return INT64_MAX;
		if (d <= -9.2e18)
			return INT64_MIN;
		return (int64_t)d;
	}
	return v;
}

static double pg_col_double(pb_q *bq, int col)
{
	const char *t = pg_col_text(bq, col);

	if (!t)
		return 0.0;
	if (t[0] == 't' && !t[1])
		return 1.0;
	if (t[0] == 'f' && !t[1])
		return 0.0;
	return strtod(t, NULL);
}

static void pg_finish(pb_q *bq)
{
	pg_q *q = (pg_q *)bq;

	if (!q->cached) {
		pg_q_free_fields(q);
		free(q);
		return;
	}
	pg_q_clear(q);
	q->in_use = false;
}

extern const char *const pb_pg_migrations[];

const pb_db_ops pb_db_pg_ops = {
	.name = "postgres",
	.migrations = pb_pg_migrations,
	.connect = pg_connect,
	.session = pg_session,
	.close = pg_close,
	.exec = pg_exec,
	.begin_write = pg_begin_write,
	.in_tx = pg_in_tx,
	.version_read = pg_version_read,
	.version_write = pg_version_write,
	.prepare = pg_prepare,
	.bind_i64 = pg_bind_i64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_i64 = pg_col_i64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_null = pg_col_null,
	.finish = pg_finish,
};

/* st_helpers.c — temporary databases (SQLite files or PostgreSQL schemas) and raw SQL for the storage suites. */
#include "st_helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_str.h"

pb_store *st_store;
static char st_dir[PATH_MAX];
static char st_path[PATH_MAX + 16];
static char st_pg_schema[64];
static unsigned st_pg_schemas;

bool st_pg(void)
{
	const char *b = getenv("PROMOBOT_TEST_BACKEND");

	return b && strcmp(b, "pg") == 0;
}

/* The cluster's URI (scripts/pg-env.sh); the storage-pg runs never pass without one. */
static const char *st_pg_base(void)
{
	const char *uri = getenv("PROMOBOT_TEST_PG");

	cr_assert(uri && *uri, "PROMOBOT_TEST_BACKEND=pg but PROMOBOT_TEST_PG is not set: start a cluster "
			       "with scripts/pg-env.sh (or set PROMOBOT_SKIP_PG=1 to disable the storage-pg suites)");
	return uri;
}

static void st_pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs admin SQL on the cluster's own database; asserts success. */
static void st_pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(st_pg_base());
	PGresult *res;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect %s: %s", st_pg_base(), PQerrorMessage(c));
	PQsetNoticeProcessor(c, st_pg_quiet, NULL); /* DROP … CASCADE lists every table */
	res = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
}

void st_pg_target(const char *schema, char *out, size_t size)
{
	const char *base = st_pg_base();

	snprintf(out, size, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', schema);
}

void st_pg_schema_new(const char *suffix, char *target, size_t size)
{
	char schema[64], sql[160];

	snprintf(schema, sizeof(schema), "t%ld_%u%s", (long)getpid(), st_pg_schemas++, suffix ? suffix : "");
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	st_pg_admin(sql);
	st_pg_target(schema, target, size);
	if (!st_pg_schema[0])
		pb_strlcpy(st_pg_schema, schema, sizeof(st_pg_schema));
}

/* Drops every schema this test process made (t<pid>_…). */
static void st_pg_drop_all(void)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "DO $$DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace"
		 " WHERE nspname LIKE 't%ld\\_%%' LOOP EXECUTE 'DROP SCHEMA ' || quote_ident(s) || ' CASCADE';"
		 " END LOOP; END$$",
		 (long)getpid());
	st_pg_admin(sql);
	st_pg_schema[0] = '\0';
}

void st_tmp_init(void)
{
	const char *base = getenv("TMPDIR");

	if (st_pg()) {
		st_pg_schema_new(NULL, st_path, sizeof(st_path));
		return;
	}
	snprintf(st_dir, sizeof(st_dir), "%s/pbstore-XXXXXX", base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(st_dir), "mkdtemp failed");
	snprintf(st_path, sizeof(st_path), "%s/db.sqlite", st_dir);
}

void st_tmp_fini(void)
{
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	pb_store_close(st_store);
	st_store = NULL;
	if (st_pg()) {
		if (st_pg_schema[0])
			st_pg_drop_all();
		return;
	}
	if (!st_dir[0])
		return;
	d = opendir(st_dir);
	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", st_dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(st_dir);
	st_dir[0] = '\0';
}

const char *st_db_path(void)
{
	return st_path;
}

pb_store *st_open(void)
{
	pb_store *st = NULL;
	pb_err err;
	int r;

	pb_err_init(&err);
	r = pb_store_open(st_path, &st, &err);
	cr_assert_eq(r, 0, "pb_store_open: %d %s", r, pb_err_text(&err));
	cr_assert_not_null(st);
	return st;
}

void st_fixture_init(void)
{
	st_tmp_init();
	st_store = st_open();
}

void st_fixture_fini(void)
{
	st_tmp_fini();
}

static bool st_is_pg_target(const char *target)
{
	return strncmp(target, "postgres://", 11) == 0 || strncmp(target, "postgresql://", 13) == 0;
}

/* 0, SQLITE_CONSTRAINT for an integrity violation or a trigger's RAISE, else SQLITE_ERROR. */
static int st_pg_sql(const char *target, const char *sql)
{
	PGconn *c = PQconnectdb(target);
	PGresult *res;
	int rc = SQLITE_OK;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect %s: %s", target, PQerrorMessage(c));
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		rc = state && (strncmp(state, "23", 2) == 0 || strcmp(state, "P0001") == 0) ? SQLITE_CONSTRAINT
											       : SQLITE_ERROR;
	}
	PQclear(res);
	PQfinish(c);
	return rc;
}

static int64_t st_pg_sql_int(const char *target, const char *sql)
{
	PGconn *c = PQconnectdb(target);
	PGresult *res;
	const char *v;
	int64_t out;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect %s: %s", target, PQerrorMessage(c));
	res = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	cr_assert_gt(PQntuples(res), 0, "no row for %s", sql);
	v = PQgetvalue(res, 0, 0);
	out = strcmp(v, "t") == 0 ? 1 : strtoll(v, NULL, 10);
	PQclear(res);
	PQfinish(c);
	return out;
}

int st_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	if (st_is_pg_target(path))
		return st_pg_sql(path, sql);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	sqlite3_close(db);
	return rc;
}

int64_t st_sql_int(const char *path, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3 *db = NULL;
	int64_t v = 0;
	int rc;

	if (st_is_pg_target(path))
		return st_pg_sql_int(path, sql);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	cr_assert_eq(rc, SQLITE_OK, "open %s: %s", path, sqlite3_errstr(rc));
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	cr_assert_eq(rc, SQLITE_OK, "prepare %s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(stmt);
	cr_assert_eq(rc, SQLITE_ROW, "no row for %s (%s)", sql, sqlite3_errmsg(db));
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

int64_t st_promotion(pb_store *st, const char *component, int target)
{
	pb_promotion p;
	pb_err err;
	int r;

	memset(&p, 0, sizeof(p));
	pb_err_init(&err);
	pb_strlcpy(p.component, component, sizeof(p.component));
	p.from_stage = target - 1;
	p.target_stage = target;
	pb_strlcpy(p.requester, "U-alice", sizeof(p.requester));
	pb_strlcpy(p.justification, "tests are green", sizeof(p.justification));
	p.created_at = ST_NOW;
	r = pb_store_promotion_insert(st, &p, &err);
	cr_assert_eq(r, 0, "promotion insert: %d %s", r, pb_err_text(&err));
	cr_assert_gt(p.id, 0);
	return p.id;
}

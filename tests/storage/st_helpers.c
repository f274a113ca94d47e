/* st_helpers.c — temporary databases and raw SQL for the storage test suites. */
#include "st_helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
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

void st_tmp_init(void)
{
	const char *base = getenv("TMPDIR");

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

int st_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

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

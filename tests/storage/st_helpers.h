/* st_helpers.h — temporary databases and raw SQL for the storage test suites. */
#ifndef ST_HELPERS_H
#define ST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_store.h"

/* The timestamp storage tests hand to writes (2026-11-25 09:00 UTC): storage never reads a clock. */
#define ST_NOW ((int64_t)1795597200)

/*
 * The storage suites run twice: on SQLite (suite storage) and with
 * PROMOBOT_TEST_BACKEND=pg (suite storage-pg) on the PostgreSQL cluster named
 * by PROMOBOT_TEST_PG (scripts/pg-env.sh), each test in its own schema.
 */
bool st_pg(void);
/* A fresh schema on the cluster (name suffixed by `suffix`); *target gets its store URI. */
void st_pg_schema_new(const char *suffix, char *target, size_t size);
/* The store URI of an existing schema. */
void st_pg_target(const char *schema, char *out, size_t size);
/* Creates a fresh database: a temporary directory (st_db_path() names db.sqlite inside it)
 * or, on PostgreSQL, a schema (st_db_path() is its URI). */
void st_tmp_init(void);
/* Closes st_store (if open) and removes the database (file, -wal, -shm; or the test's schemas). */
void st_tmp_fini(void);
const char *st_db_path(void);
/* Opens st_db_path() with pb_store_open, asserting success. */
pb_store *st_open(void);
/* The store opened by the suite fixture (st_fixture_init opens it). */
extern pb_store *st_store;
void st_fixture_init(void);
void st_fixture_fini(void);

/* Runs constant test SQL through a separate raw connection (sqlite3 or libpq by the target);
 * returns a sqlite rc (on PostgreSQL: SQLITE_CONSTRAINT for integrity errors and RAISE). */
int st_sql(const char *path, const char *sql);
/* First column of the first row of `sql` as an integer (asserts a row exists). */
int64_t st_sql_int(const char *path, const char *sql);
/* Inserts a promotion for `component` (ensuring nothing else) and returns its id. */
int64_t st_promotion(pb_store *st, const char *component, int target);

#endif

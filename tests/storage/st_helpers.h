/* st_helpers.h — temporary databases and raw SQL for the storage test suites. */
#ifndef ST_HELPERS_H
#define ST_HELPERS_H

#include <stdint.h>

#include "pb_store.h"

/* The timestamp storage tests hand to writes (2026-11-25 09:00 UTC): storage never reads a clock. */
#define ST_NOW ((int64_t)1795597200)

/* Creates a fresh temporary directory; st_db_path() names db.sqlite inside it. */
void st_tmp_init(void);
/* Closes st_store (if open) and removes the directory with the db, -wal and -shm. */
void st_tmp_fini(void);
const char *st_db_path(void);
/* Opens st_db_path() with pb_store_open, asserting success. */
pb_store *st_open(void);
/* The store opened by the suite fixture (st_fixture_init opens it). */
extern pb_store *st_store;
void st_fixture_init(void);
void st_fixture_fini(void);

/* Runs constant test SQL on the file through a separate raw connection; returns the sqlite rc. */
int st_sql(const char *path, const char *sql);
/* First column of the first row of `sql` as an integer (asserts a row exists). */
int64_t st_sql_int(const char *path, const char *sql);
/* Inserts a promotion for `component` (ensuring nothing else) and returns its id. */
int64_t st_promotion(pb_store *st, const char *component, int target);

#endif

/* test_locks.c — per-component locks: re-entrant, busy for others, stale takeover, inside a tx. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_helpers.h"

TestSuite(locks, .init = st_fixture_init, .fini = st_fixture_fini);

Test(locks, same_owner_is_reentrant)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM component_locks"), 1);
}

Test(locks, another_owner_on_another_connection_is_busy)
{
	pb_store *other = st_open();
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "validate", ST_NOW, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "neo4j is busy: deploy by owner-a since "), "%s",
		  pb_err_text(&err));
	/* Other components are independent. */
	cr_assert_eq(pb_store_lock_acquire(other, "redis", "owner-b", "validate", ST_NOW, NULL), 0);
	/* A release by someone else does nothing. */
	pb_store_lock_release(other, "neo4j", "owner-b");
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "validate", ST_NOW, NULL), PB_E_BUSY);
	pb_store_lock_release(st_store, "neo4j", "owner-a");
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "validate", ST_NOW, NULL), 0);
	pb_store_close(other);
}

Test(locks, dead_holder_is_taken_over)
{
	int status = 0;
	pb_err err;
	pid_t pid;

	/* Never carry a live SQLite connection across fork. */
	pb_store_close(st_store);
	st_store = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pb_store *st = NULL;

		/* The child must not use the parent's connection: it opens its own. */
		if (pb_store_open(st_db_path(), &st, NULL))
			_exit(10);
		if (pb_store_lock_acquire(st, "neo4j", "child-owner", "deploy", ST_NOW, NULL))
			_exit(11);
		pb_store_close(st);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT pid FROM component_locks WHERE component = 'neo4j'"),
		     pid);
	st_store = st_open();
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "parent-owner", "deploy", ST_NOW, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT pid FROM component_locks WHERE component = 'neo4j'"),
		     getpid());
}

Test(locks, live_holder_on_another_host_is_not_taken_over)
{
	pb_err err;

	cr_assert_eq(st_sql(st_db_path(),
			    "INSERT INTO component_locks VALUES ('neo4j', 'remote', 1, 'elsewhere.invalid',"
			    " 'deploy', 1700000000)"),
		     0);
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "me", "deploy", ST_NOW, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "by remote since 2023-11-14"), "%s", pb_err_text(&err));
}

Test(locks, acquire_inside_a_caller_transaction_joins_it)
{
	pb_store *other = st_open();
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0, "%s",
		     pb_err_text(&err));
	pb_store_rollback(st_store);
	/* Rolled back with the caller's transaction: free again. */
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM component_locks"), 0);

	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_commit(st_store, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "x", ST_NOW, NULL), PB_E_BUSY);
	pb_store_close(other);
}

Test(locks, missing_owner_is_invalid)
{
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "", "deploy", ST_NOW, NULL), PB_E_INVALID);
}

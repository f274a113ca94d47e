/* test_locks.c — leases: re-entrant, busy for others until expiry on the caller's clock, takeover, renew, races. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_helpers.h"

TestSuite(locks, .init = st_fixture_init, .fini = st_fixture_fini);

Test(locks, same_owner_is_reentrant_and_renews)
{
	pb_lease l;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW + 10, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM leases"), 1);
	cr_assert_eq(pb_store_lease_get(st_store, "component:neo4j", &l, &err), 0);
	cr_assert_eq(l.acquired_at, ST_NOW, "a re-entry keeps the acquisition time");
	cr_assert_eq(l.renewed_at, ST_NOW + 10);
	cr_assert_eq(l.expires_at, ST_NOW + 10 + PB_LEASE_DEFAULT_S);
	cr_assert_eq(l.pid, getpid());
	cr_assert_eq(pb_store_lock_renew(st_store, "neo4j", "owner-a", ST_NOW + 20, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_lease_get(st_store, "component:neo4j", &l, &err), 0);
	cr_assert_eq(l.expires_at, ST_NOW + 20 + PB_LEASE_DEFAULT_S);
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
	/* A release (or a renewal) by someone else does nothing. */
	pb_store_lock_release(other, "neo4j", "owner-b");
	cr_assert_eq(pb_store_lock_renew(other, "neo4j", "owner-b", ST_NOW, NULL), PB_E_BUSY);
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "validate", ST_NOW, NULL), PB_E_BUSY);
	pb_store_lock_release(st_store, "neo4j", "owner-a");
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "validate", ST_NOW, NULL), 0);
	pb_store_close(other);
}

Test(locks, expired_lease_is_taken_over_and_the_old_owner_has_lost_it)
{
	pb_store *other = st_open();
	pb_lease prev, l;
	pb_err err;

	pb_err_init(&err);
	pb_store_set_lease_s(st_store, 5);
	pb_store_set_lease_s(other, 5);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0);
	/* Held through its last second (now == expires_at), free after it. */
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "deploy", ST_NOW + 5, NULL), PB_E_BUSY);
	cr_assert_eq(pb_store_lease_acquire(other, "component:neo4j", "owner-b", "deploy", ST_NOW + 6, 5, &prev, &err),
		     0, "%s", pb_err_text(&err));
	cr_assert_str_eq(prev.owner, "owner-a", "the caller learns whose lease it took over");
	/* The old owner cannot renew (nor revive) it, and its late release leaves the new owner's row. */
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_renew(st_store, "neo4j", "owner-a", ST_NOW + 6, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "was lost"), "%s", pb_err_text(&err));
	pb_store_lock_release(st_store, "neo4j", "owner-a");
	cr_assert_eq(pb_store_lease_get(st_store, "component:neo4j", &l, NULL), 0);
	cr_assert_str_eq(l.owner, "owner-b");
	cr_assert_eq(l.acquired_at, ST_NOW + 6);
	cr_assert_eq(l.expires_at, ST_NOW + 11);
	pb_store_close(other);
}

Test(locks, an_expired_lease_nobody_took_is_not_renewed)
{
	pb_store_set_lease_s(st_store, 5);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_lock_renew(st_store, "neo4j", "owner-a", ST_NOW + 5, NULL), 0);
	cr_assert_eq(pb_store_lock_renew(st_store, "neo4j", "owner-a", ST_NOW + 11, NULL), PB_E_BUSY,
		     "expired = lost: someone may already have acted on it");
	/* Acquiring again is a fresh acquisition. */
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW + 11, NULL), 0);
}

/* The PID check is gone: a dead holder on this host keeps the lease until it expires, like a remote one. */
Test(locks, dead_holder_keeps_the_lease_until_it_expires)
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

		if (pb_store_open(st_db_path(), &st, NULL))
			_exit(10);
		if (pb_store_lock_acquire(st, "neo4j", "child-owner", "deploy", ST_NOW, NULL))
			_exit(11);
		pb_store_close(st);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT pid FROM leases WHERE name = 'component:neo4j'"), pid);
	st_store = st_open();
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "parent-owner", "deploy", ST_NOW + 1, &err), PB_E_BUSY);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "parent-owner", "deploy",
					   ST_NOW + PB_LEASE_DEFAULT_S + 1, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT pid FROM leases WHERE name = 'component:neo4j'"), getpid());
}

Test(locks, live_holder_on_another_host_is_busy_until_expiry)
{
	pb_err err;

	cr_assert_eq(st_sql(st_db_path(),
			    "INSERT INTO leases VALUES ('component:neo4j', 'remote', 'deploy', 1700000000, 1700000000,"
			    " 1795597230, 'elsewhere.invalid', 1)"),
		     0);
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "me", "deploy", ST_NOW, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "by remote since 2023-11-14"), "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "me", "deploy", 1795597231, &err), 0, "%s",
		     pb_err_text(&err));
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
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM leases"), 0);

	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "owner-a", "deploy", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_commit(st_store, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "owner-b", "x", ST_NOW, NULL), PB_E_BUSY);
	pb_store_close(other);
}

Test(locks, missing_owner_or_ttl_is_invalid)
{
	cr_assert_eq(pb_store_lock_acquire(st_store, "neo4j", "", "deploy", ST_NOW, NULL), PB_E_INVALID);
	cr_assert_eq(pb_store_lease_acquire(st_store, "scheduler", "me", "leader", ST_NOW, 0, NULL, NULL),
		     PB_E_INVALID);
	cr_assert_eq(pb_store_lease_acquire(st_store, "scheduler", "me", "leader", 0, 5, NULL, NULL), -EINVAL,
		     "storage never reads a clock: no timestamp, no lease");
}

Test(locks, tokens_differ_per_worker_and_name_the_process)
{
	char a[192], b[192], pid[32];

	pb_lease_token("slack-1", a, sizeof(a));
	pb_lease_token("slack-2", b, sizeof(b));
	cr_assert_str_neq(a, b);
	snprintf(pid, sizeof(pid), ":%ld:", (long)getpid());
	cr_assert(strstr(a, pid), "%s", a);
	cr_assert(strstr(a, ":slack-1"), "%s", a);
}

/*
 * Two processes race for the same lease at the same instant, many times:
 * exactly one of each pair wins (the write transaction serialises them).
 */
Test(locks, two_processes_racing_exactly_one_wins)
{
	enum { ROUNDS = 20 };
	int go[2];
	pid_t kids[2];

	pb_store_close(st_store);
	st_store = NULL;
	cr_assert_eq(pipe(go), 0);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		cr_assert_geq(kids[k], 0);
		if (kids[k] == 0) {
			pb_store *st = NULL;
			char owner[32], name[32], c;
			int wins = 0;

			close(go[1]);
			if (pb_store_open(st_db_path(), &st, NULL))
				_exit(100);
			snprintf(owner, sizeof(owner), "racer-%d", k);
			if (read(go[0], &c, 1) != 0) /* both start when the parent closes the pipe */
				_exit(101);
			for (int i = 0; i < ROUNDS; i++) {
				int r;

				snprintf(name, sizeof(name), "race-%d", i);
				r = pb_store_lease_acquire(st, name, owner, "race", ST_NOW, 30, NULL, NULL);
				if (r == 0)
					wins++;
				else if (r != PB_E_BUSY)
					_exit(102);
			}
			pb_store_close(st);
			_exit(wins);
		}
	}
	close(go[0]);
	close(go[1]);
	int total = 0;

	for (int k = 0; k < 2; k++) {
		int status = 0;

		cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) <= ROUNDS, "racer %d: status %d", k, status);
		total += WEXITSTATUS(status);
	}
	cr_assert_eq(total, ROUNDS, "exactly one winner per lease");
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM leases WHERE name LIKE 'race-%'"), ROUNDS);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(DISTINCT owner || name) FROM leases"), ROUNDS);
}

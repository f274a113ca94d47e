/* locks.c — per-component mutation locks stored in SQLite, so they survive restarts. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "pb_log.h"
#include "pb_str.h"
#include "store_priv.h"

typedef struct lock_row {
	char owner[PB_ID_MAX];
	int64_t pid;
	char host[256];
	char purpose[PB_TEXT_MAX];
	int64_t acquired_at;
} lock_row;

static void lock_hostname(char *out, size_t size)
{
	if (gethostname(out, size) != 0)
		pb_strlcpy(out, "localhost", size);
	out[size - 1] = '\0';
}

static int lock_fill(pb_q *stmt, void *elem, pb_err *err)
{
	lock_row *row = elem;

	(void)err;
	pb_sql_col_text(stmt, 0, row->owner, sizeof(row->owner));
	row->pid = pb_q_col_i64(stmt, 1);
	pb_sql_col_text(stmt, 2, row->host, sizeof(row->host));
	pb_sql_col_text(stmt, 3, row->purpose, sizeof(row->purpose));
	row->acquired_at = pb_q_col_i64(stmt, 4);
	return 0;
}

/* 0 with *row filled, PB_E_NOTFOUND (err not set) when the component is not locked. */
static int lock_read(pb_store *st, const char *component, lock_row *row, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT owner, pid, host, purpose, acquired_at FROM component_locks WHERE component = ?1",
			   &stmt, "lock read", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	return pb_sql_one(st, stmt, lock_fill, row, "lock read", err);
}

/* Stale = held by a process of this host that no longer exists. Locks of other
 * hosts are never taken over: we cannot tell whether their holder lives. */
static bool lock_is_stale(const lock_row *row, const char *host)
{
	if (strcmp(row->host, host) != 0 || row->pid <= 0 || row->pid > INT32_MAX)
		return false;
	return kill((pid_t)row->pid, 0) != 0 && errno == ESRCH;
}

static int lock_write(pb_store *st, const char *component, const char *owner, const char *purpose,
		      const char *host, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "INSERT INTO component_locks(component, owner, pid, host, purpose, acquired_at)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			   " ON CONFLICT (component) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,"
			   " host = excluded.host, purpose = excluded.purpose, acquired_at = excluded.acquired_at",
			   &stmt, "lock write", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	pb_sql_bind_text(stmt, 2, owner);
	pb_q_bind_i64(stmt, 3, (int64_t)getpid());
	pb_sql_bind_text(stmt, 4, host);
	pb_sql_bind_text(stmt, 5, purpose);
	pb_q_bind_i64(stmt, 6, now);
	r = pb_sql_step_done(st, stmt, "lock write", err);
	if (r > 0)
		r = pb_err_set(err, -EIO, "storage: lock write: unexpected constraint failure");
	return r;
}

static int lock_acquire_locked(pb_store *st, const char *component, const char *owner,
			       const char *purpose, int64_t now, pb_err *err)
{
	char host[256], when[64];
	lock_row row;
	int r;

	lock_hostname(host, sizeof(host));
	memset(&row, 0, sizeof(row));
	r = lock_read(st, component, &row, err);
	if (r == PB_E_NOTFOUND)
		return lock_write(st, component, owner, purpose, host, now, err);
	if (r)
		return r;
	if (strcmp(row.owner, owner) == 0)
		return 0; /* re-entrant: the same owner token already holds it */
	if (lock_is_stale(&row, host)) {
		pb_warn("storage", "taking over the lock of %s from %s (pid %lld is gone)", component,
			row.owner, (long long)row.pid);
		return lock_write(st, component, owner, purpose, host, now, err);
	}
	pb_time_fmt(row.acquired_at, when, sizeof(when));
	return pb_err_set(err, PB_E_BUSY, "%s is busy: %s by %s since %s", component,
			  row.purpose[0] ? row.purpose : "another command", row.owner, when);
}

/*
 * Transaction choice: when the caller has no transaction open, the
 * read-check-write runs in its own BEGIN IMMEDIATE transaction. When the
 * caller already opened one with pb_store_begin (also IMMEDIATE, so we
 * already hold SQLite's write lock), the work simply joins it and becomes
 * durable with the caller's commit (or vanishes with its rollback).
 */
int pb_store_lock_acquire(pb_store *st, const char *component, const char *owner,
			  const char *purpose, int64_t now, pb_err *err)
{
	bool own_tx = !pb_store_in_tx(st);
	int r;

	if (!component || !*component || !owner || !*owner)
		return pb_err_set(err, PB_E_INVALID, "storage: a lock needs a component and an owner");
	if (own_tx) {
		r = st->ops->begin_write(st, "lock begin", err);
		if (r)
			return r;
	}
	r = lock_acquire_locked(st, component, owner, purpose, now, err);
	if (!own_tx)
		return r;
	if (r) {
		pb_store_rollback(st);
		return r;
	}
	return pb_store_commit(st, err);
}

/* Only the owner's row is deleted: a late release after a takeover is harmless. */
void pb_store_lock_release(pb_store *st, const char *component, const char *owner)
{
	pb_q *stmt;
	pb_err err;

	pb_err_init(&err);
	if (pb_sql_prepare(st, "DELETE FROM component_locks WHERE component = ?1 AND owner = ?2", &stmt,
			   "lock release", &err))
		goto fail;
	pb_sql_bind_text(stmt, 1, component);
	pb_sql_bind_text(stmt, 2, owner);
	if (pb_sql_step_done(st, stmt, "lock release", &err))
		goto fail;
	return;
fail:
	pb_warn("storage", "releasing the lock of %s failed: %s", component, pb_err_text(&err));
}

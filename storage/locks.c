/* locks.c — leases (owner, expiry, renewal) stored in the database: component locks and the scheduler leader. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_log.h"
#include "pb_str.h"
#include "store_priv.h"

/*
 * Why a row and not the PID of the holder: a PID only means something on the
 * host that wrote it, and two replicas on two hosts share one database. Why a
 * row and not a database session lock (pg_try_advisory_lock): a row works the
 * same on SQLite and PostgreSQL, its expiry runs on the callers' injected
 * clock (tests drive a failover in milliseconds), and it does not depend on a
 * TCP session being noticed dead. The price: replicas' clocks must agree to
 * well within a lease (NTP), which every deployment of more than one host has.
 */

static const char lease_cols[] = "name, owner, purpose, acquired_at, renewed_at, expires_at, host, pid";

static void lease_hostname(char *out, size_t size)
{
	if (gethostname(out, size) != 0)
		pb_strlcpy(out, "localhost", size);
	out[size - 1] = '\0';
}

static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;
static uint32_t nonce_value;

static void nonce_init(void)
{
	uint32_t v = 0;

	/* A restarted process (or a container's pid 1 on another host) never reuses a token. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)pb_clock_mono_ms(NULL) ^ ((uint32_t)getpid() << 16);
	nonce_value = v;
}

void pb_lease_token(const char *worker, char *out, size_t size)
{
	char host[64];

	pthread_once(&nonce_once, nonce_init);
	lease_hostname(host, sizeof(host));
	snprintf(out, size, "%s:%ld:%08" PRIx32 ":%s", host, (long)getpid(), nonce_value,
		 worker && *worker ? worker : "main");
}

void pb_store_set_lease_s(pb_store *st, int ttl_s)
{
	if (st && ttl_s > 0)
		st->lease_s = ttl_s;
}

static int lease_fill(pb_q *stmt, void *elem, pb_err *err)
{
	pb_lease *row = elem;

	(void)err;
	pb_sql_col_text(stmt, 0, row->name, sizeof(row->name));
	pb_sql_col_text(stmt, 1, row->owner, sizeof(row->owner));
	pb_sql_col_text(stmt, 2, row->purpose, sizeof(row->purpose));
	row->acquired_at = pb_q_col_i64(stmt, 3);
	row->renewed_at = pb_q_col_i64(stmt, 4);
	row->expires_at = pb_q_col_i64(stmt, 5);
	pb_sql_col_text(stmt, 6, row->host, sizeof(row->host));
	row->pid = pb_q_col_i64(stmt, 7);
	return 0;
}

int pb_store_lease_get(pb_store *st, const char *name, pb_lease *out, pb_err *err)
{
	char sql[160];
	pb_q *stmt;
	int r;

	snprintf(sql, sizeof(sql), "SELECT %s FROM leases WHERE name = ?1", lease_cols);
	r = pb_sql_prepare(st, sql, &stmt, "lease read", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, name);
	return pb_sql_one(st, stmt, lease_fill, out, "lease read", err);
}

static int lease_write(pb_store *st, const char *name, const char *owner, const char *purpose, int64_t acquired_at,
		       int64_t now, int ttl_s, pb_err *err)
{
	char host[256];
	pb_q *stmt;
	int r;

	lease_hostname(host, sizeof(host));
	r = pb_sql_prepare(st,
			   "INSERT INTO leases(name, owner, purpose, acquired_at, renewed_at, expires_at, host, pid)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			   " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, purpose = excluded.purpose,"
			   " acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,"
			   " expires_at = excluded.expires_at, host = excluded.host, pid = excluded.pid",
			   &stmt, "lease write", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, name);
	pb_sql_bind_text(stmt, 2, owner);
	pb_sql_bind_text(stmt, 3, purpose);
	pb_q_bind_i64(stmt, 4, acquired_at);
	pb_q_bind_i64(stmt, 5, now);
	pb_q_bind_i64(stmt, 6, now + ttl_s);
	pb_sql_bind_text(stmt, 7, host);
	pb_q_bind_i64(stmt, 8, (int64_t)getpid());
	r = pb_sql_step_done(st, stmt, "lease write", err);
	if (r > 0)
		r = pb_err_set(err, -EIO, "storage: lease write: unexpected constraint failure");
	return r;
}

/* `label` names the lease in the busy text (the component for a component lock). */
static int lease_acquire_locked(pb_store *st, const char *name, const char *label, const char *owner,
				const char *purpose, int64_t now, int ttl_s, pb_lease *row, pb_err *err)
{
	char when[64];
	int r;

	r = pb_store_lease_get(st, name, row, err);
	if (r == PB_E_NOTFOUND) {
		memset(row, 0, sizeof(*row));
		return lease_write(st, name, owner, purpose, now, now, ttl_s, err);
	}
	if (r)
		return r;
	if (strcmp(row->owner, owner) == 0) /* re-entrant: a renewal that keeps the acquisition time */
		return lease_write(st, name, owner, purpose, row->acquired_at, now, ttl_s, err);
	if (now > row->expires_at) {
		pb_warn("storage", "taking over the expired lease %s from %s (%s on %s, pid %lld; expired %lld s ago)",
			name, row->owner, row->purpose[0] ? row->purpose : "no purpose", row->host,
			(long long)row->pid, (long long)(now - row->expires_at));
		return lease_write(st, name, owner, purpose, now, now, ttl_s, err);
	}
	pb_time_fmt(row->acquired_at, when, sizeof(when));
	return pb_err_set(err, PB_E_BUSY, "%s is busy: %s by %s since %s", label,
			  row->purpose[0] ? row->purpose : "another command", row->owner, when);
}

/*
 * Transaction choice: when the caller has no transaction open, the
 * read-check-write runs in its own write transaction (the backend's write
 * lock, so two replicas cannot both see the lease free). When the caller
 * already opened one with pb_store_begin, the work joins it and becomes
 * durable with the caller's commit (or vanishes with its rollback).
 */
static int lease_acquire(pb_store *st, const char *name, const char *label, const char *owner, const char *purpose,
			 int64_t now, int ttl_s, pb_lease *prev, pb_err *err)
{
	bool own_tx = !pb_store_in_tx(st);
	pb_lease local;
	int r;

	if (!name || !*name || !owner || !*owner)
		return pb_err_set(err, PB_E_INVALID, "storage: a lease needs a name and an owner");
	if (ttl_s <= 0)
		return pb_err_set(err, PB_E_INVALID, "storage: lease %s: ttl must be positive", name);
	r = pb_sql_need_time(now, "lease acquire", err);
	if (r)
		return r;
	if (own_tx) {
		r = st->ops->begin_write(st, "lease begin", err);
		if (r)
			return r;
	}
	r = lease_acquire_locked(st, name, label, owner, purpose ? purpose : "", now, ttl_s, prev ? prev : &local,
				 err);
	if (!own_tx)
		return r;
	if (r) {
		pb_store_rollback(st);
		return r;
	}
	return pb_store_commit(st, err);
}

int pb_store_lease_acquire(pb_store *st, const char *name, const char *owner, const char *purpose, int64_t now,
			   int ttl_s, pb_lease *prev, pb_err *err)
{
	return lease_acquire(st, name, name, owner, purpose, now, ttl_s, prev, err);
}

/* One statement: only the owner's unexpired row moves, so a lost lease is never revived. */
int pb_store_lease_renew(pb_store *st, const char *name, const char *owner, int64_t now, int ttl_s, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (!name || !*name || !owner || !*owner || ttl_s <= 0)
		return pb_err_set(err, PB_E_INVALID, "storage: a lease renewal needs a name, an owner and a ttl");
	r = pb_sql_need_time(now, "lease renew", err);
	if (r)
		return r;
	r = pb_sql_prepare(st,
			   "UPDATE leases SET renewed_at = ?3, expires_at = ?4"
			   " WHERE name = ?1 AND owner = ?2 AND expires_at >= ?3",
			   &stmt, "lease renew", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, name);
	pb_sql_bind_text(stmt, 2, owner);
	pb_q_bind_i64(stmt, 3, now);
	pb_q_bind_i64(stmt, 4, now + ttl_s);
	r = pb_sql_step_done(st, stmt, "lease renew", err);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: lease renew: unexpected constraint failure");
	if (r)
		return r;
	if (st->changes == 0)
		return pb_err_set(err, PB_E_BUSY, "the lease %s was lost: it expired or another owner took it", name);
	return 0;
}

void pb_store_lease_release(pb_store *st, const char *name, const char *owner)
{
	pb_q *stmt;
	pb_err err;

	pb_err_init(&err);
	if (pb_sql_prepare(st, "DELETE FROM leases WHERE name = ?1 AND owner = ?2", &stmt, "lease release", &err))
		goto fail;
	pb_sql_bind_text(stmt, 1, name);
	pb_sql_bind_text(stmt, 2, owner);
	if (pb_sql_step_done(st, stmt, "lease release", &err))
		goto fail;
	return;
fail:
	pb_warn("storage", "releasing the lease %s failed: %s", name, pb_err_text(&err));
}

/* ---- component locks: the lease component:<id> ---- */

static void component_lease(const char *component, char *out, size_t size)
{
	snprintf(out, size, "component:%s", component ? component : "");
}

int pb_store_lock_acquire(pb_store *st, const char *component, const char *owner,
			  const char *purpose, int64_t now, pb_err *err)
{
	char name[PB_ID_MAX + 16];

	if (!component || !*component || !owner || !*owner)
		return pb_err_set(err, PB_E_INVALID, "storage: a lock needs a component and an owner");
	component_lease(component, name, sizeof(name));
	return lease_acquire(st, name, component, owner, purpose, now, st->lease_s, NULL, err);
}

int pb_store_lock_renew(pb_store *st, const char *component, const char *owner, int64_t now, pb_err *err)
{
	char name[PB_ID_MAX + 16];

	component_lease(component, name, sizeof(name));
	return pb_store_lease_renew(st, name, owner, now, st->lease_s, err);
}

void pb_store_lock_release(pb_store *st, const char *component, const char *owner)
{
	char name[PB_ID_MAX + 16];

	component_lease(component, name, sizeof(name));
	pb_store_lease_release(st, name, owner);
}

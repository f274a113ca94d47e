/* event_ids.c — processed chat event / envelope ids (handled once), and the health probe's heartbeat write. */
#include <errno.h>

#include "pb_str.h"
#include "store_priv.h"

int pb_store_event_id_claim(pb_store *st, const char *key, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (!key || !*key)
		return pb_err_set(err, PB_E_INVALID, "storage: empty event id");
	/* DO NOTHING + changes is atomic: of two racing claimers exactly one sees 1. */
	r = pb_sql_prepare(st, "INSERT INTO processed_event_ids(key, seen_at) VALUES (?1, ?2)"
			   " ON CONFLICT (key) DO NOTHING",
			   &stmt, "event id claim", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, key);
	pb_q_bind_i64(stmt, 2, now);
	r = pb_sql_step_done(st, stmt, "event id claim", err);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: event id claim: unexpected constraint failure");
	if (r)
		return r;
	if (st->changes == 0)
		return pb_err_set(err, PB_E_CONFLICT, "event %s was already processed", key);
	return 0;
}

int pb_store_event_ids_prune(pb_store *st, int64_t before, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "DELETE FROM processed_event_ids WHERE seen_at < ?1", &stmt,
			   "event id prune", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, before);
	return pb_sql_step_done(st, stmt, "event id prune", err);
}

int pb_store_heartbeat(pb_store *st, const char *owner, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(now, "heartbeat", err))
		return -EINVAL;
	r = pb_sql_prepare(st, "INSERT INTO heartbeats(owner, at) VALUES (?1, ?2)"
			   " ON CONFLICT(owner) DO UPDATE SET at = excluded.at", &stmt, "heartbeat", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, owner);
	pb_q_bind_i64(stmt, 2, now);
	return pb_sql_step_done(st, stmt, "heartbeat", err);
}

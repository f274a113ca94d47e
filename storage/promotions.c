/* promotions.c — the promotion aggregate: insert, lookups and compare-and-swap transitions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pb_str.h"
#include "store_priv.h"

#define PROMO_COLS                                                                          \
	"id, component, from_stage, target_stage, state, requester, justification, revision, " \
	"thread_ref, channel_ref, issue_number, created_at, updated_at, observing_since"

static int promo_row(pb_q *s, void *elem, pb_err *err)
{
	pb_promotion *p = elem;
	char state[32];

	memset(p, 0, sizeof(*p));
	p->id = pb_q_col_i64(s, 0);
	pb_sql_col_text(s, 1, p->component, sizeof(p->component));
	p->from_stage = pb_q_col_int(s, 2);
	p->target_stage = pb_q_col_int(s, 3);
	pb_sql_col_text(s, 4, state, sizeof(state));
	pb_sql_col_text(s, 5, p->requester, sizeof(p->requester));
	pb_sql_col_text(s, 6, p->justification, sizeof(p->justification));
	pb_sql_col_text(s, 7, p->revision, sizeof(p->revision));
	pb_sql_col_text(s, 8, p->thread_ref, sizeof(p->thread_ref));
	pb_sql_col_text(s, 9, p->channel_ref, sizeof(p->channel_ref));
	p->issue_number = pb_q_col_i64(s, 10);
	p->created_at = pb_q_col_i64(s, 11);
	p->updated_at = pb_q_col_i64(s, 12);
	p->observing_since = pb_q_col_i64(s, 13);
	if (pb_state_parse(state, &p->state))
		return pb_err_set(err, -EIO, "storage: promotion #%lld has unknown state '%s'",
				  (long long)p->id, state);
	return 0;
}

/* The open promotion for (component, target), used to word conflicts. */
static int promo_open_for_target(pb_store *st, const char *component, int target, pb_promotion *out,
				 pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT " PROMO_COLS " FROM promotions WHERE component = ?1 AND target_stage = ?2"
			   " AND state NOT IN " PB_SQL_TERMINAL " ORDER BY id DESC LIMIT 1",
			   &stmt, "promotion lookup", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	pb_q_bind_i64(stmt, 2, target);
	return pb_sql_one(st, stmt, promo_row, out, "promotion lookup", err);
}

int pb_store_promotion_insert(pb_store *st, pb_promotion *p, pb_err *err)
{
	pb_q *stmt;
	int64_t now = p->created_at;
	int r;

	if (pb_sql_need_time(now, "promotion insert", err))
		return -EINVAL;
	if (!p->component[0])
		return pb_err_set(err, PB_E_INVALID, "storage: a promotion needs a component");
	r = pb_sql_prepare(st,
			   "INSERT INTO promotions(component, from_stage, target_stage, state, requester,"
			   " justification, revision, thread_ref, channel_ref, issue_number, created_at,"
			   " updated_at) VALUES (?1, ?2, ?3, 'requested', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) RETURNING id",
			   &stmt, "promotion insert", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, p->component);
	pb_q_bind_i64(stmt, 2, p->from_stage);
	pb_q_bind_i64(stmt, 3, p->target_stage);
	pb_sql_bind_text(stmt, 4, p->requester);
	pb_sql_bind_text(stmt, 5, p->justification);
	pb_sql_bind_text(stmt, 6, p->revision);
	pb_sql_bind_text(stmt, 7, p->thread_ref);
	pb_sql_bind_text(stmt, 8, p->channel_ref);
	pb_q_bind_i64(stmt, 9, p->issue_number);
	pb_q_bind_i64(stmt, 10, now);
	r = pb_sql_insert_id(st, stmt, &p->id, "promotion insert", err);
	if (r == PB_E_CONFLICT) {
		pb_promotion other;

		if (promo_open_for_target(st, p->component, p->target_stage, &other, NULL) == 0)
			return pb_err_set(err, PB_E_CONFLICT,
					  "%s already has an open promotion to stage %d (#%lld, %s)",
					  p->component, p->target_stage, (long long)other.id,
					  pb_state_name(other.state));
		return pb_err_set(err, PB_E_CONFLICT, "%s already has an open promotion to stage %d",
				  p->component, p->target_stage);
	}
	if (r)
		return r;
	p->state = PB_ST_REQUESTED;
	p->created_at = now;
	p->updated_at = now;
	p->observing_since = 0;
	return 0;
}

int pb_store_promotion_get(pb_store *st, int64_t id, pb_promotion *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "SELECT " PROMO_COLS " FROM promotions WHERE id = ?1", &stmt,
			   "promotion get", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	r = pb_sql_one(st, stmt, promo_row, out, "promotion get", err);
	return r;
}

int pb_store_promotion_open_for(pb_store *st, const char *component, pb_promotion *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT " PROMO_COLS " FROM promotions WHERE component = ?1"
			   " AND state NOT IN " PB_SQL_TERMINAL " ORDER BY id DESC LIMIT 1",
			   &stmt, "open promotion", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	r = pb_sql_one(st, stmt, promo_row, out, "open promotion", err);
	return r;
}

int pb_store_promotion_latest(pb_store *st, const char *component, pb_promotion *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT " PROMO_COLS " FROM promotions WHERE component = ?1 ORDER BY id DESC LIMIT 1",
			   &stmt, "latest promotion", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	r = pb_sql_one(st, stmt, promo_row, out, "latest promotion", err);
	return r;
}

int pb_store_promotion_latest_in(pb_store *st, const char *component, int target_stage, pb_state state,
				 pb_promotion *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT " PROMO_COLS " FROM promotions WHERE component = ?1 AND target_stage = ?2"
			   " AND state = ?3 ORDER BY id DESC LIMIT 1",
			   &stmt, "latest promotion in state", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, component);
	pb_q_bind_i64(stmt, 2, target_stage);
	pb_sql_bind_text(stmt, 3, pb_state_name(state));
	return pb_sql_one(st, stmt, promo_row, out, "latest promotion in state", err);
}

int pb_store_promotion_by_thread(pb_store *st, const char *channel, const char *thread_ref,
				 pb_promotion *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	/* "" means "not posted yet": it must never match another unposted promotion. */
	if (!thread_ref || !thread_ref[0])
		return PB_E_NOTFOUND;
	r = pb_sql_prepare(st,
			   "SELECT " PROMO_COLS " FROM promotions WHERE channel_ref = ?1 AND thread_ref = ?2"
			   " ORDER BY id DESC LIMIT 1",
			   &stmt, "promotion by thread", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, channel);
	pb_sql_bind_text(stmt, 2, thread_ref);
	r = pb_sql_one(st, stmt, promo_row, out, "promotion by thread", err);
	return r;
}

/* Words a lost compare-and-swap from the row as it is now. */
static int promo_cas_lost(pb_store *st, int64_t id, pb_state expected, pb_err *err)
{
	pb_promotion now;

	if (pb_store_promotion_get(st, id, &now, NULL) != 0)
		return pb_err_set(err, PB_E_CONFLICT, "promotion #%lld does not exist", (long long)id);
	return pb_err_set(err, PB_E_CONFLICT, "promotion #%lld is %s, no longer %s", (long long)id,
			  pb_state_name(now.state), pb_state_name(expected));
}

int pb_store_promotion_set_state(pb_store *st, int64_t id, pb_state expected, pb_state next, int64_t now,
				 pb_err *err)
{
	pb_q *stmt;
	int r;

	if ((unsigned)expected >= PB_ST_COUNT || (unsigned)next >= PB_ST_COUNT)
		return pb_err_set(err, PB_E_INVALID, "storage: invalid promotion state");
	r = pb_sql_prepare(st,
			   "UPDATE promotions SET state = ?1, updated_at = ?2,"
			   " observing_since = CASE WHEN ?1 = 'observing' THEN ?2 ELSE observing_since END"
			   " WHERE id = ?3 AND state = ?4",
			   &stmt, "promotion transition", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, pb_state_name(next));
	pb_q_bind_i64(stmt, 2, now);
	pb_q_bind_i64(stmt, 3, id);
	pb_sql_bind_text(stmt, 4, pb_state_name(expected));
	r = pb_sql_step_done(st, stmt, "promotion transition", err);
	if (r == PB_E_CONFLICT)
		return pb_err_set(err, r, "promotion #%lld cannot become %s: another promotion of its "
				  "component to the same stage is open", (long long)id, pb_state_name(next));
	if (r)
		return r;
	if (st->changes == 0)
		return promo_cas_lost(st, id, expected, err);
	return 0;
}

/* UPDATE of one promotion row; PB_E_NOTFOUND when the id does not exist. */
static int promo_update(pb_store *st, pb_q *stmt, int64_t id, const char *what, pb_err *err)
{
	int r = pb_sql_step_done(st, stmt, what, err);

	if (r == 0 && st->changes == 0)
		r = pb_err_set(err, PB_E_NOTFOUND, "promotion #%lld does not exist", (long long)id);
	return r;
}

int pb_store_promotion_set_revision(pb_store *st, int64_t id, const char *revision, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "UPDATE promotions SET revision = ?1, updated_at = ?2 WHERE id = ?3", &stmt,
			   "promotion set revision", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, revision);
	pb_q_bind_i64(stmt, 2, now);
	pb_q_bind_i64(stmt, 3, id);
	return promo_update(st, stmt, id, "promotion set revision", err);
}

int pb_store_promotion_set_thread(pb_store *st, int64_t id, const char *channel, const char *thread_ref,
				  int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "UPDATE promotions SET channel_ref = ?1, thread_ref = ?2, updated_at = ?3,"
			   " thread_claim = '', thread_claim_until = 0 WHERE id = ?4",
			   &stmt, "promotion set thread", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, channel);
	pb_sql_bind_text(stmt, 2, thread_ref);
	pb_q_bind_i64(stmt, 3, now);
	pb_q_bind_i64(stmt, 4, id);
	return promo_update(st, stmt, id, "promotion set thread", err);
}

typedef struct thread_claim_row {
	char thread_ref[PB_ID_MAX];
	int64_t until;
} thread_claim_row;

static int thread_claim_fill(pb_q *s, void *elem, pb_err *err)
{
	thread_claim_row *row = elem;

	(void)err;
	pb_sql_col_text(s, 0, row->thread_ref, sizeof(row->thread_ref));
	row->until = pb_q_col_i64(s, 1);
	return 0;
}

/* Why a claim did not take: the thread is there, or whose claim still runs. */
static int thread_claim_refused(pb_store *st, int64_t id, int64_t *held_until, pb_err *err)
{
	thread_claim_row row = { { 0 }, 0 };
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "SELECT thread_ref, thread_claim_until FROM promotions WHERE id = ?1", &stmt,
			   "promotion claim thread", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	r = pb_sql_one(st, stmt, thread_claim_fill, &row, "promotion claim thread", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, PB_E_NOTFOUND, "promotion #%lld does not exist", (long long)id);
	if (r)
		return r;
	if (row.thread_ref[0])
		return PB_E_CONFLICT;
	if (held_until)
		*held_until = row.until;
	return PB_E_BUSY;
}

int pb_store_promotion_claim_thread(pb_store *st, int64_t id, const char *owner, int64_t now, int64_t until,
				    int64_t *held_until, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (!owner || !owner[0])
		return pb_err_set(err, -EINVAL, "storage: promotion claim thread: no owner");
	/* one statement: of two replicas claiming at once, one changes the row, the other sees the claim */
	r = pb_sql_prepare(st,
			   "UPDATE promotions SET thread_claim = ?1, thread_claim_until = ?2 WHERE id = ?3"
			   " AND thread_ref = '' AND (thread_claim = '' OR thread_claim = ?1 OR thread_claim_until <= ?4)",
			   &stmt, "promotion claim thread", err);
	if (r)
		return r;
	pb_sql_bind_text(stmt, 1, owner);
	pb_q_bind_i64(stmt, 2, until);
	pb_q_bind_i64(stmt, 3, id);
	pb_q_bind_i64(stmt, 4, now);
	r = pb_sql_step_done(st, stmt, "promotion claim thread", err);
	if (r || st->changes == 1)
		return r;
	return thread_claim_refused(st, id, held_until, err);
}

int pb_store_promotion_set_issue(pb_store *st, int64_t id, int64_t issue_number, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, "UPDATE promotions SET issue_number = ?1, updated_at = ?2 WHERE id = ?3",
			   &stmt, "promotion set issue", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, issue_number);
	pb_q_bind_i64(stmt, 2, now);
	pb_q_bind_i64(stmt, 3, id);
	return promo_update(st, stmt, id, "promotion set issue", err);
}

int pb_store_promotions_in_state(pb_store *st, const pb_state *states, size_t nstates,
				 pb_promotion **out, size_t *count, pb_err *err)
{
	/* Only "?" placeholders are added to the SQL text; the states are bound. */
	char sql[512 + 4 * PB_ST_COUNT];
	pb_q *stmt = NULL;
	int r;

	*out = NULL;
	*count = 0;
	if (nstates == 0)
		return 0;
	if (nstates > PB_ST_COUNT)
		return pb_err_set(err, PB_E_INVALID, "storage: too many states in query");
	snprintf(sql, sizeof(sql), "SELECT " PROMO_COLS " FROM promotions WHERE state IN (?");
	for (size_t i = 1; i < nstates; i++)
		strncat(sql, ",?", sizeof(sql) - strlen(sql) - 1);
	strncat(sql, ") ORDER BY created_at, id", sizeof(sql) - strlen(sql) - 1);
	r = pb_sql_prepare(st, sql, &stmt, "promotions in state", err);
	if (r)
		return r;
	for (size_t i = 0; i < nstates; i++)
		pb_sql_bind_text(stmt, (int)i + 1, pb_state_name(states[i]));
	return pb_sql_collect(st, stmt, sizeof(**out), promo_row, "promotions in state", (void **)out,
			      count, err);
}

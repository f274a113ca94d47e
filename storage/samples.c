/* samples.c — observation samples, monitor state, the observation outbox and daily rollups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

static const char *const check_class_names[PB_CHK_COUNT] = {
	[PB_CHK_OK] = "ok",
	[PB_CHK_NOT_RUNNING] = "container not running",
	[PB_CHK_RESTARTED] = "container restarted",
	[PB_CHK_UNHEALTHY] = "container unhealthy",
	[PB_CHK_TIMEOUT] = "probe timeout",
	[PB_CHK_PROBE_ERROR] = "probe error",
	[PB_CHK_AUTH] = "auth failure",
	[PB_CHK_SKIPPED] = "check skipped",
	[PB_CHK_ENGINE_ERROR] = "engine unreachable",
	[PB_CHK_NOT_RUN] = "not run",
};

const char *pb_check_class_name(pb_check_class c)
{
	return (unsigned)c < PB_CHK_COUNT ? check_class_names[c] : "?";
}

/* ---- samples: state | class << 2 | flags << 8 | restarts << 16 | ooms << 24 in one small integer; -1 figures as NULL ---- */

static void bind_opt(pb_q *stmt, int idx, int64_t v)
{
	if (v < 0)
		pb_q_bind_null(stmt, idx);
	else
		pb_q_bind_i64(stmt, idx, v);
}

static int64_t col_opt(pb_q *stmt, int col)
{
	return pb_q_col_null(stmt, col) ? -1 : pb_q_col_i64(stmt, col);
}

static int sample_insert(pb_store *st, const pb_sample *s, pb_err *err)
{
	pb_q *stmt;
	int64_t packed = (int64_t)(s->state & 3u) | (int64_t)(s->cls & 0x3fu) << 2 | (int64_t)s->flags << 8 |
			 (int64_t)s->restarts << 16 | (int64_t)s->ooms << 24;
	int64_t logs = (int64_t)s->log_critical << 16 | s->log_warning;
	int r;

	r = pb_sql_prepare(st,
			   "INSERT INTO samples(promotion_id, slot, packed, latency_us, cpu, mem, logs)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			   &stmt, "sample record", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, s->promotion_id);
	pb_q_bind_i64(stmt, 2, s->slot);
	pb_q_bind_i64(stmt, 3, packed);
	bind_opt(stmt, 4, s->latency_us);
	bind_opt(stmt, 5, s->cpu_dpct);
	bind_opt(stmt, 6, s->mem_kb);
	bind_opt(stmt, 7, logs ? logs : -1);
	return pb_sql_step_done(st, stmt, "sample record", err);
}

static int fill_slots(pb_store *st, int64_t promotion_id, int64_t from, int64_t to, int64_t step,
		      pb_check_class cls, size_t *added, pb_err *err)
{
	int64_t packed = (int64_t)(PB_SAMPLE_UNKNOWN & 3u) | (int64_t)(cls & 0x3fu) << 2;
	int r = 0;

	for (int64_t slot = from; slot < to && r == 0; slot += step) {
		pb_q *stmt;

		r = pb_sql_prepare(st,
				   "INSERT INTO samples(promotion_id, slot, packed) VALUES (?1, ?2, ?3)"
				   " ON CONFLICT (promotion_id, slot) DO NOTHING",
				   &stmt, "sample fill", err);
		if (r)
			break;
		pb_q_bind_i64(stmt, 1, promotion_id);
		pb_q_bind_i64(stmt, 2, slot);
		pb_q_bind_i64(stmt, 3, packed);
		r = pb_sql_step_done(st, stmt, "sample fill", err);
		if (r > 0)
			r = pb_err_set(err, -EIO, "storage: sample fill: unexpected constraint failure");
		if (r == 0)
			*added += (size_t)st->changes;
	}
	return r;
}

int pb_store_samples_fill_unknown(pb_store *st, int64_t promotion_id, int64_t from, int64_t to, int64_t step,
				  pb_check_class cls, size_t *added, pb_err *err)
{
	bool own_tx = !pb_store_in_tx(st);
	int r;

	*added = 0;
	if (step <= 0 || from >= to)
		return 0;
	if (pb_sql_need_time(from, "sample fill", err))
		return -EINVAL;
	if ((to - from) / step > PB_FILL_MAX)
		from = to - (int64_t)PB_FILL_MAX * step; /* the newest ones; on the grid when `to` is a slot */
	if (own_tx) {
		r = st->ops->begin_write(st, "sample fill", err);
		if (r)
			return r;
	}
	r = fill_slots(st, promotion_id, from, to, step, cls, added, err);
	if (!own_tx)
		return r;
	if (r) {
		*added = 0;
		pb_store_rollback(st);
		return r;
	}
	return pb_store_commit(st, err);
}

static int monitor_put(pb_store *st, const pb_monitor_state *m, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "INSERT INTO monitor_state(promotion_id, health, fails, oks, down_since, down_cls,"
			   " last_remind, last_slot, checks, restart_count, started_at, log_since, last_at,"
			   " last_latency_us, last_state, last_cls, events_ns)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
			   " ON CONFLICT(promotion_id) DO UPDATE SET health = ?2, fails = ?3, oks = ?4,"
			   " down_since = ?5, down_cls = ?6, last_remind = ?7, last_slot = ?8, checks = ?9,"
			   " restart_count = ?10, started_at = ?11, log_since = ?12, last_at = ?13,"
			   " last_latency_us = ?14, last_state = ?15, last_cls = ?16, events_ns = ?17",
			   &stmt, "monitor state", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, m->promotion_id);
	pb_q_bind_i64(stmt, 2, m->health);
	pb_q_bind_i64(stmt, 3, m->fails);
	pb_q_bind_i64(stmt, 4, m->oks);
	pb_q_bind_i64(stmt, 5, m->down_since);
	pb_q_bind_i64(stmt, 6, m->down_cls);
	pb_q_bind_i64(stmt, 7, m->last_remind);
	pb_q_bind_i64(stmt, 8, m->last_slot);
	pb_q_bind_i64(stmt, 9, m->checks);
	pb_q_bind_i64(stmt, 10, m->restart_count);
	pb_sql_bind_text(stmt, 11, m->started_at);
	pb_q_bind_i64(stmt, 12, m->log_since);
	pb_q_bind_i64(stmt, 13, m->last_at);
	pb_q_bind_i64(stmt, 14, m->last_latency_us);
	pb_q_bind_i64(stmt, 15, m->last_state);
	pb_q_bind_i64(stmt, 16, m->last_cls);
	pb_q_bind_i64(stmt, 17, m->events_ns);
	r = pb_sql_step_done(st, stmt, "monitor state", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)m->promotion_id);
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: monitor state: unexpected constraint failure");
	return r;
}

int pb_store_sample_record(pb_store *st, const pb_sample *s, const pb_monitor_state *ms, pb_err *err)
{
	int r;

	if (pb_sql_need_time(s->slot, "sample record", err))
		return -EINVAL;
	r = sample_insert(st, s, err);
	if (r == PB_E_CONFLICT)
		return r;
	if (r > 0)
		return pb_err_set(err, -EIO, "storage: sample record: unexpected constraint failure");
	return r || !ms ? r : monitor_put(st, ms, err);
}

static int monitor_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_monitor_state *m = elem;

	(void)err;
	m->promotion_id = pb_q_col_i64(stmt, 0);
	m->health = (uint8_t)pb_q_col_int(stmt, 1);
	m->fails = pb_q_col_int(stmt, 2);
	m->oks = pb_q_col_int(stmt, 3);
	m->down_since = pb_q_col_i64(stmt, 4);
	m->down_cls = (uint8_t)pb_q_col_int(stmt, 5);
	m->last_remind = pb_q_col_i64(stmt, 6);
	m->last_slot = pb_q_col_i64(stmt, 7);
	m->checks = pb_q_col_i64(stmt, 8);
	m->restart_count = pb_q_col_int(stmt, 9);
	pb_sql_col_text(stmt, 10, m->started_at, sizeof(m->started_at));
	m->log_since = pb_q_col_i64(stmt, 11);
	m->last_at = pb_q_col_i64(stmt, 12);
	m->last_latency_us = pb_q_col_int(stmt, 13);
	m->last_state = (uint8_t)pb_q_col_int(stmt, 14);
	m->last_cls = (uint8_t)pb_q_col_int(stmt, 15);
	m->events_ns = pb_q_col_i64(stmt, 16);
	return 0;
}

int pb_store_monitor_get(pb_store *st, int64_t promotion_id, pb_monitor_state *out, pb_err *err)
{
	pb_q *stmt;
	int r;

	memset(out, 0, sizeof(*out));
	out->promotion_id = promotion_id;
	out->restart_count = -1;
	out->last_latency_us = -1;
	r = pb_sql_prepare(st,
			   "SELECT promotion_id, health, fails, oks, down_since, down_cls, last_remind, last_slot,"
			   " checks, restart_count, started_at, log_since, last_at, last_latency_us, last_state,"
			   " last_cls, events_ns FROM monitor_state WHERE promotion_id = ?1",
			   &stmt, "monitor state", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	r = pb_sql_one(st, stmt, monitor_row, out, "monitor state", err);
	return r == PB_E_NOTFOUND ? 0 : r;
}

static int sample_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_sample *s = elem;
	int64_t packed = pb_q_col_i64(stmt, 1);
	int64_t logs = col_opt(stmt, 5);

	(void)err;
	memset(s, 0, sizeof(*s));
	s->slot = pb_q_col_i64(stmt, 0);
	s->state = (uint8_t)(packed & 3);
	s->cls = (uint8_t)((packed >> 2) & 0x3f);
	s->flags = (uint8_t)((packed >> 8) & 0xff);
	s->restarts = (uint8_t)((packed >> 16) & 0xff);
	s->ooms = (uint8_t)((packed >> 24) & 0xff);
	s->latency_us = (int32_t)col_opt(stmt, 2);
	s->cpu_dpct = (int32_t)col_opt(stmt, 3);
	s->mem_kb = (int32_t)col_opt(stmt, 4);
	if (logs > 0) {
		s->log_critical = (uint16_t)(logs >> 16);
		s->log_warning = (uint16_t)(logs & 0xffff);
	}
	return 0;
}

int pb_store_samples_range(pb_store *st, int64_t promotion_id, int64_t from, int64_t to, pb_sample **out,
			   size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT slot, packed, latency_us, cpu, mem, logs FROM samples"
			   " WHERE promotion_id = ?1 AND slot >= ?2 AND slot < ?3 ORDER BY slot",
			   &stmt, "samples", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	pb_q_bind_i64(stmt, 2, from);
	pb_q_bind_i64(stmt, 3, to);
	r = pb_sql_collect(st, stmt, sizeof(pb_sample), sample_row, "samples", (void **)out, count, err);
	for (size_t i = 0; r == 0 && i < *count; i++)
		(*out)[i].promotion_id = promotion_id;
	return r;
}

int pb_store_samples_prune(pb_store *st, int64_t before, int64_t *deleted, pb_err *err)
{
	pb_q *stmt;
	int r;

	*deleted = 0;
	r = pb_sql_prepare(st, "DELETE FROM samples WHERE slot < ?1", &stmt, "samples prune", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, before);
	r = pb_sql_step_done(st, stmt, "samples prune", err);
	if (r == 0)
		*deleted = st->changes;
	return r > 0 ? pb_err_set(err, -EIO, "storage: samples prune: unexpected constraint failure") : r;
}

/* ---- the observation outbox ---- */

int pb_store_obs_post_add(pb_store *st, int64_t promotion_id, const char *kind, int64_t key, const char *text,
			  int64_t now, int64_t *id, pb_err *err)
{
	pb_q *stmt;
	int64_t new_id = 0;
	int r;

	if (pb_sql_need_time(now, "observation post", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "INSERT INTO obs_posts(promotion_id, kind, key, text, created_at)"
			   " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
			   &stmt, "observation post", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	pb_sql_bind_text(stmt, 2, kind);
	pb_q_bind_i64(stmt, 3, key);
	pb_sql_bind_text(stmt, 4, text);
	pb_q_bind_i64(stmt, 5, now);
	r = pb_sql_insert_id(st, stmt, &new_id, "observation post", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)promotion_id);
	if (r == 0 && id)
		*id = new_id;
	return r;
}

int pb_store_obs_post_handed(pb_store *st, int64_t id, int64_t now, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(now, "observation post handed", err))
		return -EINVAL;
	r = pb_sql_prepare(st, "UPDATE obs_posts SET handed_at = ?2 WHERE id = ?1 AND handed_at = 0", &stmt,
			   "observation post handed", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, now);
	r = pb_sql_step_done(st, stmt, "observation post handed", err);
	return r > 0 ? pb_err_set(err, -EIO, "storage: observation post handed: unexpected constraint failure") : r;
}

int pb_store_obs_post_done(pb_store *st, int64_t id, int64_t now, const char *chat_ref, pb_err *err)
{
	pb_q *stmt;
	int r;

	if (pb_sql_need_time(now, "observation post done", err))
		return -EINVAL;
	r = pb_sql_prepare(st,
			   "UPDATE obs_posts SET posted_at = ?2, chat_ref = ?3,"
			   " handed_at = CASE WHEN handed_at = 0 THEN ?2 ELSE handed_at END WHERE id = ?1",
			   &stmt, "observation post done", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, id);
	pb_q_bind_i64(stmt, 2, now);
	pb_sql_bind_text(stmt, 3, chat_ref ? chat_ref : "");
	r = pb_sql_step_done(st, stmt, "observation post done", err);
	return r > 0 ? pb_err_set(err, -EIO, "storage: observation post done: unexpected constraint failure") : r;
}

static int post_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_obs_post *p = elem;
	const char *t = pb_q_col_text(stmt, 4);

	memset(p, 0, sizeof(*p));
	p->id = pb_q_col_i64(stmt, 0);
	p->promotion_id = pb_q_col_i64(stmt, 1);
	pb_sql_col_text(stmt, 2, p->kind, sizeof(p->kind));
	p->key = pb_q_col_i64(stmt, 3);
	p->created_at = pb_q_col_i64(stmt, 5);
	p->posted_at = pb_q_col_i64(stmt, 6);
	p->handed_at = pb_q_col_i64(stmt, 7);
	pb_sql_col_text(stmt, 8, p->chat_ref, sizeof(p->chat_ref));
	p->text = strdup(t ? (const char *)t : "");
	return p->text ? 0 : pb_err_set(err, -ENOMEM, "storage: out of memory");
}

#define POST_COLS \
	"SELECT id, promotion_id, kind, key, text, created_at, posted_at, handed_at, chat_ref FROM obs_posts"

void pb_obs_posts_free(pb_obs_post *posts, size_t count)
{
	for (size_t i = 0; posts && i < count; i++)
		free(posts[i].text);
	free(posts);
}

static void post_deinit(void *elem)
{
	free(((pb_obs_post *)elem)->text);
}

/* Rows own their text: a failing row must not leak the ones before it. */
static int collect_posts(pb_store *st, pb_q *stmt, const char *what, pb_obs_post **out, size_t *count,
			 pb_err *err)
{
	return pb_sql_collect_owned(st, stmt, sizeof(pb_obs_post), post_row, post_deinit, what, (void **)out, count,
				    err);
}

int pb_store_obs_posts_pending(pb_store *st, size_t limit, pb_obs_post **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, POST_COLS " WHERE posted_at = 0 ORDER BY id LIMIT ?1", &stmt,
			   "pending observation posts", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, limit && limit < INT64_MAX ? (int64_t)limit : INT64_MAX);
	return collect_posts(st, stmt, "pending observation posts", out, count, err);
}

int pb_store_obs_posts_of(pb_store *st, int64_t promotion_id, const char *kind, pb_obs_post **out,
			  size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, POST_COLS " WHERE promotion_id = ?1 AND (?2 = '' OR kind = ?2) ORDER BY id",
			   &stmt, "observation posts", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	pb_sql_bind_text(stmt, 2, kind); /* NULL binds "": every kind */
	return collect_posts(st, stmt, "observation posts", out, count, err);
}

int pb_store_obs_post_get(pb_store *st, int64_t promotion_id, const char *kind, int64_t key, pb_obs_post *out,
			  pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st, POST_COLS " WHERE promotion_id = ?1 AND kind = ?2 AND key = ?3", &stmt,
			   "observation post", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	pb_sql_bind_text(stmt, 2, kind);
	pb_q_bind_i64(stmt, 3, key);
	return pb_sql_one(st, stmt, post_row, out, "observation post", err);
}

/* ---- daily rollups ---- */

int pb_store_obs_rollup_put(pb_store *st, const pb_obs_rollup *d, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "INSERT INTO obs_rollups(promotion_id, day, day_index, expected, up, down, unknown,"
			   " p50, p95, p99, log_critical, log_warning, ooms, restarts, outages, cpu_avg, mem_avg)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
			   " ON CONFLICT(promotion_id, day) DO UPDATE SET day_index = ?3, expected = ?4, up = ?5,"
			   " down = ?6, unknown = ?7, p50 = ?8, p95 = ?9, p99 = ?10, log_critical = ?11,"
			   " log_warning = ?12, ooms = ?13, restarts = ?14, outages = ?15, cpu_avg = ?16, mem_avg = ?17",
			   &stmt, "observation rollup", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, d->promotion_id);
	pb_q_bind_i64(stmt, 2, d->day);
	pb_q_bind_i64(stmt, 3, d->day_index);
	pb_q_bind_i64(stmt, 4, d->expected);
	pb_q_bind_i64(stmt, 5, d->up);
	pb_q_bind_i64(stmt, 6, d->down);
	pb_q_bind_i64(stmt, 7, d->unknown);
	pb_q_bind_double(stmt, 8, d->p50_ms);
	pb_q_bind_double(stmt, 9, d->p95_ms);
	pb_q_bind_double(stmt, 10, d->p99_ms);
	pb_q_bind_i64(stmt, 11, d->log_critical);
	pb_q_bind_i64(stmt, 12, d->log_warning);
	pb_q_bind_i64(stmt, 13, d->ooms);
	pb_q_bind_i64(stmt, 14, d->restarts);
	pb_q_bind_i64(stmt, 15, d->outages);
	pb_q_bind_double(stmt, 16, d->cpu_avg);
	pb_q_bind_double(stmt, 17, d->mem_avg_mb);
	r = pb_sql_step_done(st, stmt, "observation rollup", err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, r, "promotion #%lld does not exist", (long long)d->promotion_id);
	return r > 0 ? pb_err_set(err, -EIO, "storage: observation rollup: unexpected constraint failure") : r;
}

static int rollup_row(pb_q *stmt, void *elem, pb_err *err)
{
	pb_obs_rollup *d = elem;

	(void)err;
	d->promotion_id = pb_q_col_i64(stmt, 0);
	d->day = pb_q_col_i64(stmt, 1);
	d->day_index = pb_q_col_int(stmt, 2);
	d->expected = (uint32_t)pb_q_col_i64(stmt, 3);
	d->up = (uint32_t)pb_q_col_i64(stmt, 4);
	d->down = (uint32_t)pb_q_col_i64(stmt, 5);
	d->unknown = (uint32_t)pb_q_col_i64(stmt, 6);
	d->p50_ms = pb_q_col_double(stmt, 7);
	d->p95_ms = pb_q_col_double(stmt, 8);
	d->p99_ms = pb_q_col_double(stmt, 9);
	d->log_critical = (uint32_t)pb_q_col_i64(stmt, 10);
	d->log_warning = (uint32_t)pb_q_col_i64(stmt, 11);
	d->ooms = (uint32_t)pb_q_col_i64(stmt, 12);
	d->restarts = (uint32_t)pb_q_col_i64(stmt, 13);
	d->outages = (uint32_t)pb_q_col_i64(stmt, 14);
	d->cpu_avg = pb_q_col_double(stmt, 15);
	d->mem_avg_mb = pb_q_col_double(stmt, 16);
	return 0;
}

int pb_store_obs_rollups(pb_store *st, int64_t promotion_id, pb_obs_rollup **out, size_t *count, pb_err *err)
{
	pb_q *stmt;
	int r;

	r = pb_sql_prepare(st,
			   "SELECT promotion_id, day, day_index, expected, up, down, unknown, p50, p95, p99,"
			   " log_critical, log_warning, ooms, restarts, outages, cpu_avg, mem_avg FROM obs_rollups"
			   " WHERE promotion_id = ?1 ORDER BY day",
			   &stmt, "observation rollups", err);
	if (r)
		return r;
	pb_q_bind_i64(stmt, 1, promotion_id);
	return pb_sql_collect(st, stmt, sizeof(pb_obs_rollup), rollup_row, "observation rollups", (void **)out,
			      count, err);
}

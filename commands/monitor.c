/* monitor.c — the observation's planner: per-promotion cache, due slots, skipped slots, outbox delivery. */
#include "monitor_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_deploy.h"
#include "pb_log.h"
#include "pb_str.h"
#include "pb_workflow.h"

int pb_monitor_new(const pb_config *cfg, pb_monitor **out, pb_err *err)
{
	pb_monitor *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return pb_err_set(err, -ENOMEM, "out of memory");
	m->cfg = cfg;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->deliver_lock, NULL);
	m->acks = pb_acks_new();
	if (!m->acks) {
		pb_monitor_free(m);
		return pb_err_set(err, -ENOMEM, "out of memory");
	}
	*out = m;
	return 0;
}

static void entry_release(mon_entry *e)
{
	pb_probe_free(e->probe);
	pb_docker_free(e->docker);
	pb_logscan_free(e->logscan);
	e->probe = NULL;
	e->docker = NULL;
	e->logscan = NULL;
}

void pb_monitor_free(pb_monitor *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nentries; i++) {
		entry_release(m->entries[i]);
		free(m->entries[i]);
	}
	free(m->entries);
	for (size_t i = 0; i < m->nzones; i++)
		pb_tz_free(m->zones[i]);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->deliver_lock);
	pb_acks_unref(m->acks); /* posts still queued in the chat keep it until they are done */
	free(m->handed);
	free(m);
}

/* ---- configuration lookups ---- */

const pb_deploy_cfg *mon_deploy(const pb_config *cfg, const pb_promotion *p)
{
	const pb_component *c = pb_config_component(cfg, p->component);

	return c ? pb_config_deploy(c, (pb_stage)p->target_stage) : NULL;
}

const pb_monitor_cfg *mon_cfg(const pb_config *cfg, const pb_promotion *p)
{
	const pb_deploy_cfg *d = mon_deploy(cfg, p);

	return d ? &d->monitoring : &cfg->monitoring;
}

int64_t mon_obs_end(const pb_config *cfg, const pb_promotion *p)
{
	return p->observing_since + (int64_t)cfg->policy.observation_days * 86400;
}

const pb_tz *mon_zone(pb_monitor *m, const pb_monitor_cfg *mc, pb_err *err)
{
	const char *name = mc->timezone ? mc->timezone : "UTC";
	const pb_tz *found = NULL;
	pb_tz *tz = NULL;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nzones && !found; i++)
		if (!strcmp(pb_tz_name(m->zones[i]), name))
			found = m->zones[i];
	if (!found && m->nzones < MON_MAX_ZONES && pb_tz_load(name, &tz, err) == 0) {
		m->zones[m->nzones++] = tz;
		found = tz;
	} else if (!found && m->nzones >= MON_MAX_ZONES) {
		pb_err_set(err, PB_E_INVALID, "more than %d time zones configured", MON_MAX_ZONES);
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

/* ---- the per-promotion cache (m->lock held) ---- */

static mon_entry *entry_find(pb_monitor *m, int64_t promotion_id)
{
	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i]->promotion_id == promotion_id)
			return m->entries[i];
	return NULL;
}

static mon_entry *entry_get(pb_monitor *m, int64_t promotion_id)
{
	mon_entry *e = entry_find(m, promotion_id), **grown;

	if (e)
		return e;
	if (m->nentries == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;

		grown = realloc(m->entries, ncap * sizeof(*grown));
		if (!grown)
			return NULL;
		m->entries = grown;
		m->cap = ncap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->promotion_id = promotion_id;
	m->entries[m->nentries++] = e;
	return e;
}

/* Forgets promotions that left observing (their objects close); never one whose check runs. */
static void entries_sweep(pb_monitor *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nentries; i++) {
		mon_entry *e = m->entries[i];

		if (!e->seen && !e->inflight) {
			entry_release(e);
			free(e);
			continue;
		}
		e->seen = false;
		m->entries[k++] = e;
	}
	m->nentries = k;
}

/* ---- delivery of the outbox ---- */

#define MON_DELIVERY_PREFIX "obs-"

/* The post's delivery id: stable across restarts, and unlikely to meet another database's in one channel. */
static void delivery_id(const pb_obs_post *post, char *out, size_t size)
{
	snprintf(out, size, MON_DELIVERY_PREFIX "%lld-%lld-%lld", (long long)post->id, (long long)post->promotion_id,
		 (long long)post->created_at);
}

/* The post id of a delivery id; 0 when it is not one of ours. */
static int64_t delivery_post(const char *id)
{
	char digits[24];
	size_t n = 0;
	long v;

	if (strncmp(id, MON_DELIVERY_PREFIX, strlen(MON_DELIVERY_PREFIX)))
		return 0;
	id += strlen(MON_DELIVERY_PREFIX);
	while (id[n] >= '0' && id[n] <= '9' && n < sizeof(digits) - 1) {
		digits[n] = id[n];
		n++;
	}
	digits[n] = '\0';
	return pb_parse_long(digits, 1, LONG_MAX, &v) == 0 ? (int64_t)v : 0;
}

/* deliver_lock held: the post's entry among those handed in this process, or NULL. */
static mon_handed *handed_find(pb_monitor *m, int64_t post_id)
{
	for (size_t i = 0; i < m->nhanded; i++)
		if (m->handed[i].post_id == post_id)
			return &m->handed[i];
	return NULL;
}

static void handed_forget(pb_monitor *m, mon_handed *h)
{
	*h = m->handed[--m->nhanded];
}

static int handed_add(pb_monitor *m, int64_t post_id, int64_t now)
{
	mon_handed *h = handed_find(m, post_id);

	if (!h && m->nhanded == m->caphanded) {
		size_t ncap = m->caphanded ? m->caphanded * 2 : 16;
		mon_handed *grown = realloc(m->handed, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		m->handed = grown;
		m->caphanded = ncap;
	}
	if (!h)
		h = &m->handed[m->nhanded++];
	*h = (mon_handed){ .post_id = post_id, .at = now };
	return 0;
}

/* Handed and neither confirmed nor given up nor overdue: not handed again. */
static bool handed_waiting(pb_monitor *m, int64_t post_id, int64_t now)
{
	const mon_handed *h = handed_find(m, post_id);

	if (!h)
		return false;
	if (h->retry_at)
		return now < h->retry_at;
	return now - h->at < MON_CONFIRM_TIMEOUT_S;
}

/* Marks what the chat confirmed; a post it gave up is handed again after MON_RETRY_S. */
static int take_confirmations(pb_monitor *m, const pb_services *svc, size_t *delivered, pb_err *err)
{
	pb_ack acks[32];
	size_t n;
	int r = 0;

	while (r == 0 && (n = pb_acks_take(m->acks, acks, sizeof(acks) / sizeof(acks[0]))) > 0) {
		for (size_t i = 0; i < n; i++) {
			int64_t post_id = delivery_post(acks[i].id);
			mon_handed *h = post_id ? handed_find(m, post_id) : NULL;

			if (!post_id)
				continue;
			if (!acks[i].ok) {
				pb_warn("monitor", "observation post %lld not delivered; handed again in %d s",
					(long long)post_id, MON_RETRY_S);
				if (h)
					h->retry_at = pb_services_now(svc) + MON_RETRY_S;
				continue;
			}
			/* a failure here leaves it pending: handed again later, found by its id on Slack */
			if (r == 0)
				r = pb_store_obs_post_done(svc->store, post_id, pb_services_now(svc), acks[i].ref, err);
			if (r == 0) {
				(*delivered)++;
				if (h)
					handed_forget(m, h);
			} else if (h) {
				h->retry_at = pb_services_now(svc) + MON_RETRY_S;
			}
		}
	}
	return r;
}

static void deliver_one(pb_monitor *m, const pb_services *svc, const pb_obs_post *post, const pb_promotion *p)
{
	const char *nl = strchr(post->text, '\n');
	char title[200], id[PB_ACK_ID_MAX];
	pb_card *card;

	snprintf(title, sizeof(title), "%.*s", nl ? (int)(nl - post->text) : (int)strlen(post->text), post->text);
	card = pb_cmd_thread_card(p, title);
	delivery_id(post, id, sizeof(id));
	if (!card || !pb_card_delivery(card, id, post->handed_at, m->acks)) {
		/* not handed after all: the confirmation timeout hands it again */
		pb_error("monitor", "out of memory: observation post %lld handed again later", (long long)post->id);
		pb_card_free(card);
		return;
	}
	if (nl && nl[1])
		pb_card_text(card, "%s", nl + 1);
	pb_sink_emit(svc->system_sink, card);
	pb_card_free(card);
}

/* The parent card shows the current health: refresh it after an alert. */
static void refresh_parent(const pb_services *svc, const pb_promotion *p)
{
	pb_cmd_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.svc = svc;
	ctx.caller.id = "promobot";
	ctx.caller.name = "promobot";
	ctx.sink = svc->system_sink;
	pb_err_init(&ctx.err);
	pb_cmd_emit_parent(&ctx, p);
}

/* Marks the post handed (kept from the first time: it may be in the chat since), then hands it. */
static int hand_one(pb_monitor *m, const pb_services *svc, pb_obs_post *post, pb_err *err)
{
	int64_t now = pb_services_now(svc);
	pb_promotion p;
	int r;

	r = pb_store_promotion_get(svc->store, post->promotion_id, &p, err);
	if (r == 0)
		r = pb_store_obs_post_handed(svc->store, post->id, now, err);
	if (r == 0 && handed_add(m, post->id, now))
		r = pb_err_set(err, -ENOMEM, "out of memory");
	if (r)
		return r;
	deliver_one(m, svc, post, &p);
	if (strcmp(post->kind, MON_POST_REPORT))
		refresh_parent(svc, &p);
	return 0;
}

int pb_monitor_deliver(pb_monitor *m, const pb_services *svc, size_t *delivered, pb_err *err)
{
	pb_obs_post *posts = NULL;
	size_t n = 0;
	int r;

	*delivered = 0;
	pthread_mutex_lock(&m->deliver_lock);
	r = take_confirmations(m, svc, delivered, err);
	if (r == 0)
		r = pb_store_obs_posts_pending(svc->store, 64, &posts, &n, err);
	for (size_t i = 0; i < n && r == 0; i++)
		if (!handed_waiting(m, posts[i].id, pb_services_now(svc)))
			r = hand_one(m, svc, &posts[i], err);
	pb_obs_posts_free(posts, n);
	/* a sink that delivers synchronously (the console) has confirmed already */
	if (r == 0)
		r = take_confirmations(m, svc, delivered, err);
	pthread_mutex_unlock(&m->deliver_lock);
	return r;
}

/* ---- checks ---- */

int pb_monitor_check(pb_monitor *m, const pb_services *svc, int64_t promotion_id, int64_t slot, pb_err *err)
{
	mon_entry *e;
	size_t delivered = 0;
	int r;

	pthread_mutex_lock(&m->lock);
	e = entry_get(m, promotion_id);
	if (e)
		e->inflight = true;
	pthread_mutex_unlock(&m->lock);
	if (!e)
		return pb_err_set(err, -ENOMEM, "out of memory");
	/* e stays valid: the sweep never frees an entry whose check is in flight */
	r = mon_check_run(m, svc, e, slot, err);
	pthread_mutex_lock(&m->lock);
	e->inflight = false;
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		r = pb_monitor_deliver(m, svc, &delivered, err);
	return r;
}

/* ---- the sweep ---- */

/* A slot whose check could not start because the previous one still runs: UNKNOWN, class skipped. */
static int record_skipped(const pb_services *svc, int64_t promotion_id, int64_t slot, pb_err *err)
{
	pb_sample s = { .promotion_id = promotion_id, .slot = slot, .latency_us = -1, .cpu_dpct = -1,
			.mem_kb = -1, .state = PB_SAMPLE_UNKNOWN, .cls = PB_CHK_SKIPPED };
	int r = pb_store_begin(svc->store, err);

	if (r)
		return r;
	r = pb_store_sample_record(svc->store, &s, NULL, err);
	if (r == 0)
		return pb_store_commit(svc->store, err);
	pb_store_rollback(svc->store);
	return r == PB_E_CONFLICT ? 0 : r;
}

/* The newest slot due at `now`, 0 when none (not started, or the period is over). */
static int64_t due_slot(const pb_config *cfg, const pb_promotion *p, const pb_monitor_cfg *mc, int64_t now)
{
	int64_t end = mon_obs_end(cfg, p), last;

	if (now < p->observing_since || mc->interval_s <= 0)
		return 0;
	last = now < end ? now : end - 1;
	return p->observing_since + (last - p->observing_since) / mc->interval_s * mc->interval_s;
}

typedef enum { PLAN_NONE, PLAN_SUBMIT, PLAN_SKIP } plan_kind;

/* Decides under the lock what to do with the due slot; marks the entry. */
static plan_kind plan(pb_monitor *m, const pb_promotion *p, int64_t due, mon_entry *snapshot, int64_t *before)
{
	plan_kind k = PLAN_NONE;
	mon_entry *e;

	pthread_mutex_lock(&m->lock);
	e = entry_get(m, p->id);
	if (e) {
		e->seen = true;
		*before = e->planned;
		if (due && due > e->planned) {
			k = e->inflight ? PLAN_SKIP : PLAN_SUBMIT;
			e->planned = due;
			if (k == PLAN_SUBMIT)
				e->inflight = true;
		}
		*snapshot = *e;
	}
	pthread_mutex_unlock(&m->lock);
	return k;
}

/* A check the pool did not take: not in flight, and its slot planned again at the next sweep. */
static void unplan(pb_monitor *m, int64_t promotion_id, int64_t before)
{
	mon_entry *e;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, promotion_id);
	if (e) {
		e->inflight = false;
		e->planned = before;
	}
	pthread_mutex_unlock(&m->lock);
}

/* Copies back what the report pass learnt (the next due day, the verdict). */
static void remember(pb_monitor *m, const mon_entry *snapshot)
{
	mon_entry *e;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, snapshot->promotion_id);
	if (e) {
		e->report_day = snapshot->report_day;
		e->verdict_done = snapshot->verdict_done;
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * The slots before `due` this monitor did not plan (it just started, or just
 * became the leader after a failover) and nobody sampled become UNKNOWN
 * samples of class "not run": counted, never silently skipped. A slot that
 * has a sample keeps it (nothing runs twice: the insert does nothing on a
 * sampled slot); checked slots end at the stored last_slot, so the fill
 * starts after it.
 */
static int fill_missed(const pb_services *svc, const pb_promotion *p, const pb_monitor_cfg *mc, int64_t due,
		       int64_t before, pb_monitor_sweep_stats *st, pb_err *err)
{
	pb_monitor_state ms;
	size_t added = 0;
	int64_t from;
	int r;

	if (!due || mc->interval_s <= 0 || (before && before >= due - mc->interval_s))
		return 0; /* this monitor planned the slot before: no gap */
	r = pb_store_monitor_get(svc->store, p->id, &ms, err);
	if (r)
		return r;
	from = ms.last_slot >= p->observing_since ? ms.last_slot + mc->interval_s : p->observing_since;
	r = pb_store_samples_fill_unknown(svc->store, p->id, from, due, mc->interval_s, PB_CHK_NOT_RUN, &added, err);
	if (r == 0 && added) {
		st->unknown_filled += added;
		pb_info("monitor", "%s #%lld: %zu slot(s) nobody checked recorded UNKNOWN", p->component,
			(long long)p->id, added);
	}
	return r;
}

static int sweep_one(pb_monitor *m, const pb_services *svc, const pb_promotion *p, int64_t now,
		     pb_monitor_submit_fn submit, void *ud, pb_monitor_sweep_stats *st, pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	int64_t due = due_slot(svc->cfg, p, mc, now);
	int64_t before = 0;
	mon_entry snap;
	int r = 0;

	memset(&snap, 0, sizeof(snap));
	switch (plan(m, p, due, &snap, &before)) {
	case PLAN_SUBMIT:
		r = fill_missed(svc, p, mc, due, before, st, err);
		if (r) {
			unplan(m, p->id, before);
			break;
		}
		/*
		 * The check job clears the in-flight mark; a refused one is cleared
		 * here and tried again at the next sweep. Only when the next slot
		 * is due before it ran does this one stay without a result: UNKNOWN.
		 */
		if (submit(ud, p->id, due) == 0) {
			st->submitted++;
		} else {
			unplan(m, p->id, before);
			st->refused++;
			pb_debug("monitor", "%s #%lld: the background pool is full; check of slot %lld retried at the "
				 "next sweep", p->component, (long long)p->id, (long long)due);
		}
		break;
	case PLAN_SKIP:
		r = record_skipped(svc, p->id, due, err);
		if (r == 0)
			st->skipped++;
		break;
	case PLAN_NONE:
		break;
	}
	if (r == 0 && snap.promotion_id) {
		r = mon_reports_due(m, svc, p, &snap, st, err);
		remember(m, &snap);
	}
	return r;
}

/* Raw samples older than the longest retention go, at most once an hour (rollups stay). */
static int prune(pb_monitor *m, const pb_services *svc, int64_t now, pb_err *err)
{
	int64_t deleted = 0;
	int days = m->cfg->monitoring.raw_retention_days;

	for (size_t i = 0; i < m->cfg->ncomponents; i++)
		for (int s = 0; s < PB_STAGE_COUNT; s++) {
			const pb_deploy_cfg *d = &m->cfg->components[i].deploy[s];

			if (d->present && d->monitoring.raw_retention_days > days)
				days = d->monitoring.raw_retention_days;
		}
	if (days <= 0 || now - m->last_prune < 3600)
		return 0;
	m->last_prune = now;
	return pb_store_samples_prune(svc->store, now - (int64_t)days * 86400, &deleted, err);
}

int pb_monitor_sweep(pb_monitor *m, const pb_services *svc, pb_monitor_submit_fn submit, void *ud,
		     pb_monitor_sweep_stats *stats, pb_err *err)
{
	const pb_state observing = PB_ST_OBSERVING;
	int64_t now = pb_services_now(svc);
	pb_monitor_sweep_stats local;
	pb_promotion *list = NULL;
	size_t n = 0, delivered = 0;
	int r;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	r = pb_monitor_deliver(m, svc, &delivered, err);
	/* the sweep runs on the leader only: it also ends deploys whose replica died (their lease expired) */
	if (r == 0)
		r = pb_deploy_recover_expired(svc, &stats->interrupted, err);
	if (r == 0)
		r = pb_store_promotions_in_state(svc->store, &observing, 1, &list, &n, err);
	for (size_t i = 0; i < n && r == 0; i++)
		r = sweep_one(m, svc, &list[i], now, submit, ud, stats, err);
	free(list);
	stats->observed = n;
	if (r == 0) {
		pthread_mutex_lock(&m->lock);
		entries_sweep(m);
		pthread_mutex_unlock(&m->lock);
		r = prune(m, svc, now, err);
	}
	if (r == 0)
		r = pb_monitor_deliver(m, svc, &stats->delivered, err);
	stats->delivered += delivered;
	return r;
}

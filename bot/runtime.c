/* runtime.c — the loop, background pool, timers, health probe and admin listener every adapter shares. */
#include "runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_http.h"
#include "github.h"
#include "pb_ghpoll.h"
#include "pb_log.h"
#include "scheduler.h"
#include "pb_ghout.h"
#include "pb_services.h"
#include "pb_str.h"

#define RT_TICK_MS 1000
#define RT_MAX_POOLS 4
#define RT_BACKGROUND_THREADS 2
#define RT_BACKGROUND_CAP 64       /* plus one slot per observable promotion, see pb_runtime_start */
/* The loop is stalled when its 1 s heartbeat is this late. */
#define RT_LOOP_STALL_MS 5000
/* How often the GitHub outbox is looked at: a command's ops go out within this (retries wait longer). */
#define RT_OUTBOX_MS 1000
/* The lease row naming the scheduler leader (storage/locks.c says why a row, not a session lock). */
#define RT_LEADER_LEASE "scheduler"

typedef struct watched_pool {
	const char *name;
	pb_workers *pool;
} watched_pool;

/* What the probe found last; written by a background worker, read by /healthz on the loop. */
typedef struct health_state {
	pthread_mutex_t lock;
	bool inflight;
	int64_t started_ms;     /* when the probe in flight was submitted */
	bool done_once;
	bool ok;
	int64_t ok_ms;          /* last successful write */
	char error[256];
} health_state;

/*
 * Leadership: only the replica holding the `scheduler` lease runs the
 * observation sweep (checks, reports, verdict), GitHub delivery and polling;
 * commands are answered by every replica. Every replica tries to take or
 * renew the lease every leader_lease_s / 3 on its own one-thread pool (a
 * background pool busy with checks never delays a renewal). A leader acts
 * only until two thirds of the lease after the start of its last successful
 * renewal: it steps down before the lease can expire, so two replicas never
 * lead at once (given clocks that agree within a third of the lease).
 */
typedef struct leader_state {
	pthread_mutex_t lock;
	bool leader;
	int64_t valid_until_ms;  /* monotonic: act as leader only before this */
	char owner[192];         /* this replica's token in the lease row */
} leader_state;

struct pb_runtime {
	const pb_config *cfg;
	char kind[16];
	char owner[64];
	pb_loop *loop;
	pb_metrics *reg;
	pb_metrics_promobot m;
	pb_sink *system_sink;
	pb_workers *background;
	watched_pool pools[RT_MAX_POOLS];
	size_t npools;
	void (*tick_fn)(void *ud);
	void *tick_ud;
	pb_timer tick, probe, observe, outbox, ghpoll, lead;
	pb_workers *leadpool;     /* one thread: the scheduler lease's take/renew */
	atomic_bool leading;      /* a take/renew in flight */
	leader_state lead_st;
	atomic_bool delivering;  /* one GitHub delivery job at a time */
	atomic_bool ghpolling;     /* one GitHub poll at a time: a slow GitHub never piles them up */
	pb_scheduler *scheduler;
	pb_admin *admin;
	health_state health;
	bool started;
};

/* ---- background workers: their own services, the adapter's system sink ---- */

static bool rt_is_leader(pb_runtime *rt);

/* The background workers' GitHub gate: asked before every try of every request. */
static bool leader_gate(void *ud)
{
	return rt_is_leader(ud);
}

typedef struct bg_worker {
	pb_services svc;
	bool ok;
	char error[256];
} bg_worker;

static void *bg_init(void *ud, int index)
{
	pb_runtime *rt = ud;
	bg_worker *w = calloc(1, sizeof(*w));
	char owner[80];
	pb_err e;

	if (!w)
		return NULL;
	snprintf(owner, sizeof(owner), "%s-bg-%d", rt->owner, index);
	pb_err_init(&e);
	w->ok = pb_services_open(&w->svc, rt->cfg, NULL, owner, PB_SVC_ENGINE_OPTIONAL, &e) == 0;
	if (!w->ok) {
		pb_strlcpy(w->error, pb_err_text(&e), sizeof(w->error));
		pb_error("runtime", "background worker %d: %s", index, w->error);
	}
	w->svc.system_sink = rt->system_sink;
	pb_services_set_metrics(&w->svc, &rt->m);
	/* everything this pool sends to GitHub is leader work: no request once the lease may be gone */
	if (w->svc.github)
		pb_github_set_gate(w->svc.github, leader_gate, rt);
	return w;
}

static void bg_fini(void *ud, void *state)
{
	bg_worker *w = state;

	(void)ud;
	if (!w)
		return;
	pb_services_close(&w->svc);
	free(w);
}

typedef struct rt_job {
	pb_job job;
	pb_runtime *rt;
} rt_job;

static void rt_job_free(pb_job *job)
{
	free(job);
}

/* Submits on the background pool; a full queue drops it, logged and counted. */
static bool submit_background(pb_runtime *rt, void (*run)(pb_job *, void *), const char *what)
{
	rt_job *j = calloc(1, sizeof(*j));

	if (j) {
		j->job.run = run;
		j->job.free = rt_job_free;
		j->rt = rt;
		if (pb_workers_submit(rt->background, &j->job) == 0)
			return true;
	}
	free(j);
	pb_warn("runtime", "background queue full: %s dropped (it runs again at its next interval)", what);
	pb_metric_inc(rt->m.jobs_dropped, PB_LV("background"));
	return false;
}

/* ---- the storage probe ---- */

static void probe_record(pb_runtime *rt, int r, const char *error)
{
	health_state *h = &rt->health;

	pthread_mutex_lock(&h->lock);
	h->inflight = false;
	h->done_once = true;
	h->ok = r == 0;
	if (r == 0)
		h->ok_ms = pb_clock_mono_ms(NULL);
	pb_strlcpy(h->error, r ? error : "", sizeof(h->error));
	pthread_mutex_unlock(&h->lock);
}

static void probe_run(pb_job *job, void *state)
{
	pb_runtime *rt = ((rt_job *)job)->rt;
	bg_worker *w = state;
	pb_err e;
	int r;

	pb_err_init(&e);
	if (!w || !w->ok) {
		probe_record(rt, -EIO, w ? w->error : "no background worker");
		return;
	}
	r = pb_store_heartbeat(w->svc.store, rt->owner, pb_services_now(&w->svc), &e);
	if (r)
		pb_warn("runtime", "storage health probe: %s", pb_err_text(&e));
	probe_record(rt, r, pb_err_text(&e));
}

static void probe_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, probe);
	bool submit;

	pthread_mutex_lock(&rt->health.lock);
	/* one probe at a time: a stuck one is what /healthz reports, not a pile of them */
	submit = !rt->health.inflight;
	if (submit) {
		rt->health.inflight = true;
		rt->health.started_ms = pb_clock_mono_ms(NULL);
	}
	pthread_mutex_unlock(&rt->health.lock);
	if (submit && !submit_background(rt, probe_run, "storage health probe")) {
		pthread_mutex_lock(&rt->health.lock);
		rt->health.inflight = false;
		pthread_mutex_unlock(&rt->health.lock);
	}
	pb_timer_arm(t, (int64_t)rt->cfg->schedule.probe_interval_s * 1000);
}

/* Loop thread, every GET /healthz: cached figures only, never storage itself. */
static int health_fn(void *ud, char *reason, size_t size)
{
	pb_runtime *rt = ud;
	health_state *h = &rt->health;
	int64_t now = pb_clock_mono_ms(NULL), tick = pb_loop_last_tick_ms(rt->loop);
	int64_t bound_ms = (int64_t)rt->cfg->http.health_write_s * 1000;
	int64_t stale_ms = (int64_t)rt->cfg->schedule.probe_interval_s * 1000 + bound_ms;
	int bad = 1;

	if (tick && now - tick > RT_LOOP_STALL_MS) {
		snprintf(reason, size, "the event loop has not ticked for %lld ms", (long long)(now - tick));
		return 1;
	}
	pthread_mutex_lock(&h->lock);
	if (h->inflight && now - h->started_ms > bound_ms)
		snprintf(reason, size, "storage did not answer a write within %d s", rt->cfg->http.health_write_s);
	else if (!h->done_once)
		snprintf(reason, size, "storage not probed yet");
	else if (!h->ok)
		snprintf(reason, size, "storage write failed: %s", h->error);
	else if (now - h->ok_ms > stale_ms)
		snprintf(reason, size, "no successful storage write for %lld s", (long long)((now - h->ok_ms) / 1000));
	else
		bad = 0;
	pthread_mutex_unlock(&h->lock);
	return bad;
}

/* ---- leadership: the scheduler lease ---- */

static int64_t leader_lease_ms(const pb_runtime *rt)
{
	return (int64_t)(rt->cfg->ha.leader_lease_s > 0 ? rt->cfg->ha.leader_lease_s : 15) * 1000;
}

/* Loop thread (timers, /healthz) and workers: cheap, never storage. */
static bool rt_is_leader(pb_runtime *rt)
{
	bool yes;

	pthread_mutex_lock(&rt->lead_st.lock);
	yes = rt->lead_st.leader && pb_clock_mono_ms(NULL) < rt->lead_st.valid_until_ms;
	pthread_mutex_unlock(&rt->lead_st.lock);
	return yes;
}

/* Steps down (logged once) when `why`; the gauge follows. */
static void leader_step_down(pb_runtime *rt, const char *why)
{
	bool was;

	pthread_mutex_lock(&rt->lead_st.lock);
	was = rt->lead_st.leader;
	rt->lead_st.leader = false;
	pthread_mutex_unlock(&rt->lead_st.lock);
	if (was)
		pb_warn("runtime", "leader: lost (%s)", why);
	pb_metric_set(rt->m.leader, NULL, 0);
}

static void *lead_init(void *ud, int index)
{
	pb_runtime *rt = ud;
	pb_store *st = NULL;
	pb_err e;

	(void)index;
	pb_err_init(&e);
	if (pb_services_store_open(rt->cfg, &st, &e))
		pb_error("runtime", "leader lease worker: %s", pb_err_text(&e));
	return st;
}

/* A replica that stops cleanly hands leadership over at once instead of after the lease (only its own row goes). */
static void lead_fini(void *ud, void *state)
{
	pb_runtime *rt = ud;
	pb_store *st = state;

	if (st)
		pb_store_lease_release(st, RT_LEADER_LEASE, rt->lead_st.owner);
	pb_store_close(st);
}

/*
 * Taken over from another process (its lease had expired: it died or stalled):
 * the GitHub ops it had claimed are released for this leader at once, held only
 * while a request of the old leader may still be in flight (commands/gh_deliver.c).
 */
static void leader_took_over(pb_runtime *rt, pb_store *st, const pb_lease *prev)
{
	int64_t until = 0;
	size_t n = 0;
	char when[64];
	pb_err e;

	pb_err_init(&e);
	if (pb_ghout_takeover(st, rt->cfg, prev, rt->lead_st.owner, &n, &until, &e)) {
		pb_warn("runtime", "leader: the previous leader's GitHub updates wait out their claim: %s",
			pb_err_text(&e));
		return;
	}
	if (n) {
		pb_time_fmt(until, when, sizeof(when));
		pb_info("runtime", "leader: %zu GitHub update%s claimed by the previous leader released (looked up"
			" on GitHub before sending, from %s)", n, n == 1 ? "" : "s", when);
	}
}

static void lead_run(pb_job *job, void *state)
{
	pb_runtime *rt = ((rt_job *)job)->rt;
	int64_t started = pb_clock_mono_ms(NULL), lease_ms = leader_lease_ms(rt);
	pb_store *st = state;
	bool was;
	pb_lease prev;
	pb_err e;
	int r;

	pb_err_init(&e);
	memset(&prev, 0, sizeof(prev));
	r = st ? pb_store_lease_acquire(st, RT_LEADER_LEASE, rt->lead_st.owner, "scheduler leader",
					pb_clock_now(NULL), (int)(lease_ms / 1000), &prev, &e)
	       : pb_err_set(&e, -EIO, "no storage connection");
	if (r == 0) {
		pthread_mutex_lock(&rt->lead_st.lock);
		was = rt->lead_st.leader && started < rt->lead_st.valid_until_ms;
		rt->lead_st.leader = true;
		/* the renew deadline: two thirds of the lease after this attempt began, before expiry */
		rt->lead_st.valid_until_ms = started + lease_ms * 2 / 3;
		pthread_mutex_unlock(&rt->lead_st.lock);
		if (!was)
			pb_info("runtime", "leader: acquired (was %s)", prev.owner[0] ? prev.owner : "nobody");
		pb_metric_set(rt->m.leader, NULL, 1);
		if (prev.owner[0] && strcmp(prev.owner, rt->lead_st.owner) != 0)
			leader_took_over(rt, st, &prev);
	} else if (r == PB_E_BUSY) {
		leader_step_down(rt, pb_err_text(&e));
	} else {
		/* storage trouble: keep the role until the renew deadline, then lead_cb steps down */
		pb_warn("runtime", "leader lease: %s", pb_err_text(&e));
	}
	atomic_store(&rt->leading, false);
}

static void lead_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, lead);
	bool expired;

	pthread_mutex_lock(&rt->lead_st.lock);
	expired = rt->lead_st.leader && pb_clock_mono_ms(NULL) >= rt->lead_st.valid_until_ms;
	pthread_mutex_unlock(&rt->lead_st.lock);
	if (expired)
		leader_step_down(rt, "the lease was not renewed in time");
	if (!atomic_exchange(&rt->leading, true)) {
		rt_job *j = calloc(1, sizeof(*j));

		if (j) {
			j->job.run = lead_run;
			j->job.free = rt_job_free;
			j->rt = rt;
		}
		if (!j || pb_workers_submit(rt->leadpool, &j->job) != 0) {
			free(j);
			atomic_store(&rt->leading, false);
		}
	}
	pb_timer_arm(t, leader_lease_ms(rt) / 3);
}

static const char *role_fn(void *ud)
{
	return rt_is_leader(ud) ? "leader" : "follower";
}

bool pb_runtime_is_leader(pb_runtime *rt)
{
	return rt_is_leader(rt);
}

/* ---- the observation ---- */

static const pb_services *bg_services(void *state)
{
	bg_worker *w = state;

	return w && w->ok ? &w->svc : NULL;
}

static void observe_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, observe);

	if (rt_is_leader(rt))
		pb_scheduler_tick(rt->scheduler);
	pb_timer_arm(t, (int64_t)rt->cfg->schedule.check_interval_s * 1000);
}

/* ---- the GitHub outbox ---- */

static void outbox_run(pb_job *job, void *state)
{
	pb_runtime *rt = ((rt_job *)job)->rt;
	const pb_services *svc = bg_services(state);
	pb_ghout_stats st;
	pb_err e;

	pb_err_init(&e);
	if (svc && svc->github) {
		if (pb_ghout_deliver(svc, 0, &st, &e))
			pb_warn("runtime", "GitHub delivery: %s", pb_err_text(&e));
		else
			pb_metric_set(rt->m.github_outbox_pending, NULL, (double)st.pending);
	}
	atomic_store(&rt->delivering, false);
}

static void outbox_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, outbox);

	if (rt_is_leader(rt) && !atomic_exchange(&rt->delivering, true) && !submit_background(rt, outbox_run, "GitHub delivery"))
		atomic_store(&rt->delivering, false);
	pb_timer_arm(t, RT_OUTBOX_MS);
}

/* ---- reading GitHub back ---- */

static void ghpoll_run(pb_job *job, void *state)
{
	pb_runtime *rt = ((rt_job *)job)->rt;
	const pb_services *svc = bg_services(state);
	pb_ghpoll_stats st;
	pb_err e;

	pb_err_init(&e);
	if (svc && pb_ghpoll_run(svc, &st, &e))
		pb_warn("runtime", "GitHub poll: %s", pb_err_text(&e));
	else if (svc && (st.imported || st.resolved || st.drift_shown || st.drift_cleared))
		pb_info("runtime", "GitHub poll: %zu blocker issues stored, %zu resolved, %zu drift shown, %zu cleared",
			st.imported, st.resolved, st.drift_shown, st.drift_cleared);
	atomic_store(&rt->ghpolling, false);
}

static void ghpoll_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, ghpoll);

	if (rt_is_leader(rt) && !atomic_exchange(&rt->ghpolling, true) && !submit_background(rt, ghpoll_run, "GitHub poll"))
		atomic_store(&rt->ghpolling, false);
	pb_timer_arm(t, (int64_t)rt->cfg->github.poll_interval_s * 1000);
}

/* ---- the tick ---- */

static void tick_cb(pb_timer *t)
{
	pb_runtime *rt = lws_container_of(t, pb_runtime, tick);

	for (size_t i = 0; i < rt->npools; i++)
		pb_metric_set(rt->m.queue_depth, PB_LV(rt->pools[i].name),
			      (double)pb_workers_pending(rt->pools[i].pool));
	if (rt->tick_fn)
		rt->tick_fn(rt->tick_ud);
	pb_timer_arm(t, RT_TICK_MS);
}

/* ---- life ---- */

int pb_runtime_new(const pb_config *cfg, const char *kind, pb_runtime **out, pb_err *err)
{
	pb_runtime *rt = calloc(1, sizeof(*rt));
	char worker[48];
	int r;

	*out = NULL;
	if (!rt)
		return pb_err_set(err, -ENOMEM, "runtime: out of memory");
	rt->cfg = cfg;
	pb_strlcpy(rt->kind, kind, sizeof(rt->kind));
	snprintf(rt->owner, sizeof(rt->owner), "promobot-%ld-%s", (long)getpid(), kind);
	pthread_mutex_init(&rt->health.lock, NULL);
	pthread_mutex_init(&rt->lead_st.lock, NULL);
	snprintf(worker, sizeof(worker), "%s-scheduler", kind);
	pb_lease_token(worker, rt->lead_st.owner, sizeof(rt->lead_st.owner));
	r = pb_metrics_new(PB_METRICS_PROCESS, &rt->reg);
	if (r)
		r = pb_err_set(err, r, "runtime: metrics: out of memory");
	if (!r)
		r = pb_metrics_promobot_register(rt->reg, &rt->m, err);
	if (!r)
		r = pb_loop_new(NULL, &rt->loop, err);
	if (r) {
		pb_runtime_free(rt);
		return r;
	}
	pb_timer_init(&rt->tick, rt->loop, tick_cb);
	pb_timer_init(&rt->probe, rt->loop, probe_cb);
	pb_timer_init(&rt->observe, rt->loop, observe_cb);
	pb_timer_init(&rt->outbox, rt->loop, outbox_cb);
	atomic_init(&rt->delivering, false);
	pb_timer_init(&rt->ghpoll, rt->loop, ghpoll_cb);
	atomic_init(&rt->ghpolling, false);
	pb_timer_init(&rt->lead, rt->loop, lead_cb);
	atomic_init(&rt->leading, false);
	*out = rt;
	return 0;
}

pb_loop *pb_runtime_loop(pb_runtime *rt)
{
	return rt->loop;
}

pb_metrics *pb_runtime_registry(pb_runtime *rt)
{
	return rt->reg;
}

const pb_metrics_promobot *pb_runtime_metrics(pb_runtime *rt)
{
	return &rt->m;
}

void pb_runtime_set_system_sink(pb_runtime *rt, pb_sink *sink)
{
	rt->system_sink = sink;
}

void pb_runtime_watch_pool(pb_runtime *rt, const char *name, pb_workers *pool)
{
	if (rt->npools < RT_MAX_POOLS)
		rt->pools[rt->npools++] = (watched_pool){ name, pool };
}

void pb_runtime_on_tick(pb_runtime *rt, void (*fn)(void *ud), void *ud)
{
	rt->tick_fn = fn;
	rt->tick_ud = ud;
}

static int start_admin(pb_runtime *rt, pb_err *err)
{
	pb_admin_cfg ac = { 0 };

	if (!rt->cfg->http.listen_host)
		return 0;
	ac.iface = rt->cfg->http.listen_host;
	ac.port = rt->cfg->http.listen_port;
	ac.metrics = rt->reg;
	ac.health = health_fn;
	ac.health_ud = rt;
	ac.role = role_fn;
	return pb_admin_new(pb_loop_context(rt->loop), &ac, &rt->admin, err);
}

int pb_runtime_start(pb_runtime *rt, pb_err *err)
{
	pb_workers_ops ops = { bg_init, bg_fini, rt, "background", rt->cfg->worker_nice, rt->cfg->worker_idle, NULL };
	/* the leader lease must be renewed in time whatever the load: normal priority */
	pb_workers_ops lops = { lead_init, lead_fini, rt, "leader", 0, false, NULL };
	/*
	 * A sweep queues at most one check per observing promotion (one open per
	 * component and target stage): room for all of them, so promotions
	 * deployed together (or a restart) do not lose their slots to a full queue.
	 */
	size_t cap = RT_BACKGROUND_CAP + rt->cfg->ncomponents * (PB_STAGE_COUNT - 1);
	int r;

	r = pb_workers_new(RT_BACKGROUND_THREADS, cap, &ops, &rt->background);
	if (r)
		return pb_err_set(err, r, "runtime: cannot start the background pool");
	pb_runtime_watch_pool(rt, "background", rt->background);
	r = pb_workers_new(1, 4, &lops, &rt->leadpool);
	if (r)
		return pb_err_set(err, r, "runtime: cannot start the leader lease worker");
	r = pb_scheduler_new(rt->cfg, rt->background, bg_services, &rt->scheduler, err);
	if (r)
		return r;
	pb_metric_touch(rt->m.jobs_dropped, PB_LV("background"));
	pb_metric_set(rt->m.leader, NULL, 0);
	for (size_t i = 0; i < rt->npools; i++) /* shown from the first scrape, before the first tick */
		pb_metric_touch(rt->m.queue_depth, PB_LV(rt->pools[i].name));
	r = start_admin(rt, err);
	if (r)
		return r;
	if (rt->admin)
		pb_info("runtime", "admin listener on %s:%d (/healthz, /metrics)", rt->cfg->http.listen_host,
			pb_admin_port(rt->admin));
	rt->started = true;
	pb_timer_arm(&rt->tick, RT_TICK_MS);
	pb_timer_arm(&rt->probe, 0);
	pb_timer_arm(&rt->lead, 0);
	pb_timer_arm(&rt->observe, (int64_t)rt->cfg->schedule.check_interval_s * 1000);
	if (rt->cfg->github.enabled) {
		pb_metric_set(rt->m.github_outbox_pending, NULL, 0);
		pb_timer_arm(&rt->outbox, 0);
		pb_timer_arm(&rt->ghpoll, (int64_t)rt->cfg->github.poll_interval_s * 1000);
	}
	return 0;
}

int pb_runtime_admin_port(const pb_runtime *rt)
{
	return rt->admin ? pb_admin_port(rt->admin) : 0;
}

int pb_runtime_run(pb_runtime *rt, pb_err *err)
{
	return pb_loop_run(rt->loop, err);
}

void pb_runtime_stop(pb_runtime *rt)
{
	pb_loop_stop(rt->loop);
}

void pb_runtime_free(pb_runtime *rt)
{
	if (!rt)
		return;
	if (rt->loop) {
		pb_timer_cancel(&rt->tick);
		pb_timer_cancel(&rt->probe);
		pb_timer_cancel(&rt->observe);
		pb_timer_cancel(&rt->outbox);
		pb_timer_cancel(&rt->ghpoll);
		pb_timer_cancel(&rt->lead);
	}
	pb_admin_free(rt->admin);
	/* drains: a running sweep or check finishes before the monitor it uses goes */
	pb_workers_free(rt->background);
	pb_workers_free(rt->leadpool);  /* after the sweeps: the lease goes once nothing acts as leader */
	pb_scheduler_free(rt->scheduler);
	pb_loop_free(rt->loop);
	pb_metrics_free(rt->reg);
	pthread_mutex_destroy(&rt->health.lock);
	pthread_mutex_destroy(&rt->lead_st.lock);
	free(rt);
}

/* slack_run.c — pb_slack_run: wires the Socket Mode loop, the command pool and the poster that talks to Slack. */
#include "pb_slack.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "pb_cmd.h"
#include "pb_deploy.h"
#include "pb_log.h"
#include "pb_services.h"
#include "pb_store.h"
#include "pb_str.h"
#include "slack_blocks.h"
#include "slack_envelope.h"
#include "runtime.h"
#include "slack_poster.h"
#include "slack_socket.h"
#include "slack_web.h"
#include "workers.h"

#define JOB_QUEUE_CAP 256
#define POST_QUEUE_CAP 4096
/* At shutdown the poster gets this long to deliver what handlers emitted. */
#define POST_DRAIN_MS 20000

/* Shared, read-only after start (the poster and pools are internally locked). */
typedef struct slack_app {
	const pb_config *cfg;
	char *bot_token;
	pb_slack_poster *poster;     /* every message to Slack goes through it, in emission order */
	pb_workers *commands;        /* interactive: slash commands, mentions, clicks */
	pb_slack_system_sink system; /* for work no chat message started */
	const pb_metrics_promobot *metrics;
	pb_slack_poster_stats last;  /* what app_tick already counted (loop thread) */
	pb_lanes *lanes;             /* the command pool's and the poster's CPU lanes, or NULL (no cap) */
	pb_lanes_stats last_lanes;   /* likewise */
	pthread_mutex_t open_lock;   /* services open one at a time: a fresh file is being set up */
} slack_app;

/* One per command worker thread: its own services (SQLite connection, engine). */
typedef struct slack_worker {
	slack_app *app;
	pb_services svc;
	bool svc_ok;
	int index;
} slack_worker;

/* A command job: one envelope from the Socket Mode loop, acked, parsed by the worker. */
typedef struct cmd_job {
	pb_job job;
	slack_app *app;
	char *frame;
	size_t len;
	pb_slack_msg m;
} cmd_job;

/* The sink of one command: turns its cards into posts while the handler runs (order kept). */
typedef struct job_sink {
	pb_sink sink;
	slack_worker *w;
	const pb_slack_msg *m;
	char reply_channel[PB_SLACK_ID_MAX];  /* where caller-only replies go */
	char parent_ts[64];                   /* last parent card this job updated */
	char *parent_blocks;                  /* …and its blocks (JSON) */
} job_sink;

static const char *str_or(const char *s, const char *dflt)
{
	return s && s[0] ? s : dflt;
}

static void remember_parent(job_sink *js, const char *ts, const cJSON *body)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(body, "blocks");

	pb_strlcpy(js->parent_ts, ts, sizeof(js->parent_ts));
	free(js->parent_blocks);
	js->parent_blocks = blocks ? cJSON_PrintUnformatted(blocks) : NULL;
}

/* Thread cards go where the promotion's thread is, as stored now; the poster resolves it again. */
static void emit_thread(job_sink *js, const pb_card *c, pb_post_kind kind)
{
	const char *channel = js->w->app->cfg->slack.channel;
	cJSON *body = pb_slack_card_body(c);
	pb_promotion p;
	pb_err e;

	pb_err_init(&e);
	if (c->promotion_id && pb_store_promotion_get(js->w->svc.store, c->promotion_id, &p, &e) == 0) {
		channel = str_or(p.channel_ref, channel);
		/* the clicked card may be this parent: mark_clicked builds on its new blocks */
		if (kind == PB_POST_PARENT && p.thread_ref[0] && body)
			remember_parent(js, p.thread_ref, body);
	}
	pb_slack_poster_submit_card(js->w->app->poster, c, c->promotion_id ? kind : PB_POST_CHANNEL, channel, body,
				    c->promotion_id, NULL, NULL);
}

static void job_emit(pb_sink *sink, const pb_card *c)
{
	job_sink *js = (job_sink *)sink;
	slack_app *app = js->w->app;

	switch (c->audience) {
	case PB_AUDIENCE_CALLER:
		pb_slack_poster_submit_card(app->poster, c, PB_POST_EPHEMERAL, js->reply_channel, pb_slack_card_body(c), 0,
					    js->m->user_id, NULL);
		break;
	case PB_AUDIENCE_CHANNEL:
		pb_slack_poster_submit_card(app->poster, c, PB_POST_CHANNEL, app->cfg->slack.channel, pb_slack_card_body(c),
					    0, NULL, NULL);
		break;
	case PB_AUDIENCE_THREAD:
		if (c->role == PB_THREAD_OPEN && c->promotion_id)
			pb_slack_poster_submit_card(app->poster, c, PB_POST_OPEN, app->cfg->slack.channel,
						    pb_slack_card_body(c), c->promotion_id, NULL, NULL);
		else
			emit_thread(js, c, c->role == PB_THREAD_PARENT_UPDATE ? PB_POST_PARENT : PB_POST_THREAD);
		break;
	}
}

/* Slack ids are [A-Z0-9]; anything else is not spliced into a mention. */
static bool id_safe(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* The clicked card now says who decided (the same approval rules ran as for the command). */
static void mark_clicked(job_sink *js, const char *verb)
{
	const pb_slack_msg *m = js->m;
	const char *blocks_src = !strcmp(js->parent_ts, m->message_ts) && js->parent_blocks
					 ? js->parent_blocks : m->message_blocks;
	char note[256], stamp[64];
	cJSON *blocks, *body;

	pb_time_fmt(pb_services_now(&js->w->svc), stamp, sizeof(stamp));
	snprintf(note, sizeof(note), "%s by <@%s> (%s)",
		 !strcmp(verb, "approve") ? ":white_check_mark: Approved" : ":x: Rejected",
		 m->user_id, stamp);
	blocks = pb_slack_blocks_with_note(blocks_src, note, strcmp(verb, "approve") != 0);
	body = cJSON_CreateObject();
	if (!blocks || !body || !cJSON_AddStringToObject(body, "text", note)) {
		cJSON_Delete(blocks);
		cJSON_Delete(body);
		return;
	}
	cJSON_AddItemToObject(body, "blocks", blocks);
	pb_slack_poster_submit_card(js->w->app->poster, NULL, PB_POST_UPDATE, m->message_channel, body, 0, NULL,
				    m->message_ts);
}

/*
 * While storage cannot record a de-dup claim (PostgreSQL restarting, a locked
 * or read-only file) the claim is tried again with a doubling wait on the
 * worker, for about this long in all; then the command is NOT run: run without
 * its claim, a Slack retry of the same envelope could run it a second time.
 */
#define CLAIM_FIRST_WAIT_MS 100
#define CLAIM_BOUND_MS 3000
#define STORAGE_DOWN_TEXT \
	":warning: Storage is unavailable right now, so your command was *not run*. Please try again in a minute."

typedef enum { CLAIM_RUN, CLAIM_DUPLICATE, CLAIM_UNAVAILABLE } claim_result;

/* Dedupe: the envelope, the event and the click each run once, whatever Slack retries. */
static claim_result claim(slack_worker *w, const char *kind, const char *id)
{
	int64_t deadline, left, wait = CLAIM_FIRST_WAIT_MS;
	char key[256];
	bool failed = false;
	pb_err e;
	int rc;

	if (!id || !id[0])
		return CLAIM_RUN;
	snprintf(key, sizeof(key), "slack:%s:%s", kind, id);
	deadline = pb_clock_mono_ms(w->svc.clock) + CLAIM_BOUND_MS;
	for (;;) {
		pb_err_init(&e);
		rc = pb_store_event_id_claim(w->svc.store, key, pb_services_now(&w->svc), &e);
		if (rc == 0)
			return CLAIM_RUN;
		if (rc == PB_E_CONFLICT && !failed) {
			pb_info("slack", "duplicate %s %s skipped", kind, id);
			return CLAIM_DUPLICATE;
		}
		if (rc == PB_E_CONFLICT) {
			/* our failed attempt may have committed with its answer lost: running it could be the second run */
			pb_warn("slack", "%s %s: recorded after a storage failure (or a duplicate): not run", kind, id);
			return CLAIM_UNAVAILABLE;
		}
		if (!failed)
			pb_warn("slack", "cannot record %s %s, retrying for up to %d ms: %s", kind, id, CLAIM_BOUND_MS,
				pb_err_text(&e));
		failed = true;
		left = deadline - pb_clock_mono_ms(w->svc.clock);
		if (left <= 0)
			break;
		pb_clock_sleep_ms(w->svc.clock, wait < left ? wait : left);
		wait *= 2;
	}
	pb_error("slack", "cannot record %s %s: storage unavailable, the command was not run: %s", kind, id,
		 pb_err_text(&e));
	return CLAIM_UNAVAILABLE;
}

static char *action_text(const pb_slack_msg *m)
{
	pb_buf b;

	if (!id_safe(m->action_value))
		return NULL;
	pb_buf_init(&b);
	if (!strcmp(m->action, "approve"))
		pb_buf_printf(&b, "approve %s", m->action_value);
	else if (!strcmp(m->action, "reject"))
		pb_buf_printf(&b, "reject %s \"rejected from the thread button\"", m->action_value);
	if (b.oom || !b.len) {
		pb_buf_deinit(&b);
		return NULL;
	}
	return pb_buf_steal(&b);
}

/* An ephemeral line to whoever sent m, where they typed or clicked (nothing when Slack named nobody). */
static void tell_user(slack_app *app, const pb_slack_msg *m, const char *text)
{
	const char *channel = m->kind == PB_SLACK_MSG_ACTION ? m->message_channel : m->channel_id;
	cJSON *body;

	if (!m->user_id[0])
		return;
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "text", text)) {
		cJSON_Delete(body);
		return;
	}
	pb_slack_poster_submit_card(app->poster, NULL, PB_POST_EPHEMERAL, str_or(channel, app->cfg->slack.channel), body,
				    0, m->user_id, NULL);
}

/* The verb label of a command that never reached dispatch: a known command's name or "unknown" (bounded). */
static const char *verb_of(const pb_slack_msg *m)
{
	const char *t = m->kind == PB_SLACK_MSG_ACTION ? m->action : m->text;
	const pb_command *cmd;
	char word[32];
	size_t n;

	t += strspn(t, " \t/");
	if (!strncmp(t, "promote", 7) && (t[7] == ' ' || t[7] == '\t'))
		t += 7 + strspn(t + 7, " \t");
	n = strcspn(t, " \t\r\n");
	if (n == 0 || n >= sizeof(word))
		return "unknown";
	memcpy(word, t, n);
	word[n] = '\0';
	cmd = pb_command_find(word);
	return cmd ? cmd->name : "unknown";
}

/* Storage did not take the de-dup claim in time: the command is not run; the user and /metrics learn it. */
static void not_run(slack_app *app, const pb_slack_msg *m)
{
	tell_user(app, m, STORAGE_DOWN_TEXT);
	if (app->metrics)
		pb_metric_inc(app->metrics->commands, PB_LV(verb_of(m), "not_run"));
}

/* Opens the worker's services (one worker at a time: a fresh file is being set up). */
static void worker_open_services(slack_worker *w)
{
	char owner[64];
	pb_err e;

	snprintf(owner, sizeof(owner), "promobot-%ld-slack-%d", (long)getpid(), w->index);
	pb_err_init(&e);
	pthread_mutex_lock(&w->app->open_lock);
	w->svc_ok = pb_services_open(&w->svc, w->app->cfg, NULL, owner, PB_SVC_ENGINE_OPTIONAL, &e) == 0;
	pthread_mutex_unlock(&w->app->open_lock);
	w->svc.system_sink = &w->app->system.sink;
	pb_services_set_metrics(&w->svc, w->app->metrics);
	if (!w->svc_ok)
		pb_error("slack", "worker %d: %s", w->index, pb_err_text(&e));
}

static void cmd_job_run(pb_job *job, void *state)
{
	cmd_job *cj = (cmd_job *)job;
	slack_app *app = cj->app;
	slack_worker *w = state;
	pb_slack_msg *m = &cj->m;
	job_sink js = { .sink = { .emit = job_emit, .confirms = true } };
	pb_caller caller;
	claim_result cl;
	char *text = NULL;
	pb_err e;
	int rc;

	pb_err_init(&e);
	if (pb_slack_msg_parse(cj->frame, cj->len, m, &e)) {
		pb_warn("slack", "ignoring malformed envelope: %s", pb_err_text(&e));
		return;
	}
	if (m->kind != PB_SLACK_MSG_COMMAND && m->kind != PB_SLACK_MSG_ACTION) {
		pb_debug("slack", "acked unhandled %s envelope", m->type);
		return;
	}
	if (w && !w->svc_ok)
		worker_open_services(w); /* opening failed at start (e.g. the file was locked): try again */
	if (!w || !w->svc_ok) {
		pb_error("slack", "worker not ready: envelope %s not run", m->envelope_id);
		not_run(app, m);
		return;
	}
	cl = claim(w, "envelope", m->envelope_id);
	if (cl == CLAIM_RUN)
		cl = claim(w, "event", m->event_id);
	if (cl == CLAIM_RUN && m->kind == PB_SLACK_MSG_ACTION && m->action_ts[0]) {
		char act[256];

		snprintf(act, sizeof(act), "%s:%s:%s", m->message_ts, m->user_id, m->action_ts);
		cl = claim(w, "action", act);
	}
	if (cl == CLAIM_UNAVAILABLE)
		not_run(app, m);
	if (cl != CLAIM_RUN)
		return;
	if (m->kind == PB_SLACK_MSG_ACTION) {
		text = action_text(m);
		if (!text) {
			pb_warn("slack", "button %s with value '%s' ignored", m->action, m->action_value);
			return;
		}
	}
	js.w = w;
	js.m = m;
	pb_strlcpy(js.reply_channel,
		   str_or(m->kind == PB_SLACK_MSG_ACTION ? m->message_channel : m->channel_id,
			  app->cfg->slack.channel),
		   sizeof(js.reply_channel));
	caller = pb_caller_for(app->cfg, m->user_id, m->user_name[0] ? m->user_name : m->user_id);
	/* The cards are queued for the poster during the call; the lock is gone when it returns. */
	rc = pb_dispatch(&w->svc, &caller, text ? text : m->text, &js.sink);
	if (m->kind == PB_SLACK_MSG_ACTION && rc == 0)
		mark_clicked(&js, m->action);
	pb_debug("slack", "envelope %s done (%d)", m->envelope_id, rc);
	free(text);
	free(js.parent_blocks);
}

static void cmd_job_free(pb_job *job)
{
	cmd_job *cj = (cmd_job *)job;

	pb_slack_msg_deinit(&cj->m);
	free(cj->frame);
	free(cj);
}

/* worker_pin: the lanes' threads on the last CPUs the process may use, the first left to the loop (lanes.h). */
static void lanes_pin(pb_lanes *lanes)
{
	cpu_set_t allowed, pin;
	char list[256];
	size_t len = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		pb_warn("slack", "CPU lanes not pinned: cannot read the affinity mask: %s", strerror(errno));
		return;
	}
	if (!pb_lanes_pin_last(lanes, &allowed) || !pb_lanes_pinned(lanes, &pin))
		return;
	list[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE && len + 8 < sizeof(list); cpu++)
		if (CPU_ISSET(cpu, &pin))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", len ? "," : "", cpu);
	pb_info("slack", "CPU lanes: %d of %d CPUs, commands and posts on CPU %s", pb_lanes_count(lanes),
		CPU_COUNT(&allowed), list);
}

static void *worker_init(void *ud, int index)
{
	slack_app *app = ud;
	slack_worker *w = calloc(1, sizeof(*w));
	pb_err e;

	if (!w)
		return NULL;
	w->app = app;
	w->index = index;
	worker_open_services(w);
	/* Slack retries within minutes; a week of remembered ids is plenty. */
	pb_err_init(&e);
	if (w->svc_ok && index == 0 &&
	    pb_store_event_ids_prune(w->svc.store, pb_services_now(&w->svc) - 7 * 86400, &e))
		pb_warn("slack", "cannot prune old event ids: %s", pb_err_text(&e));
	return w;
}

static void worker_fini(void *ud, void *state)
{
	slack_worker *w = state;

	if (!w)
		return;
	pb_services_close(&w->svc);
	free(w);
}

/* Loop thread, every second: the poster's figures into /metrics. */
static void app_tick(void *ud)
{
	slack_app *app = ud;
	pb_slack_poster_stats st;

	pb_slack_poster_stats_get(app->poster, &st);
	pb_metric_add(app->metrics->slack_posts, PB_LV("ok"), (double)(st.posted - app->last.posted));
	pb_metric_add(app->metrics->slack_posts, PB_LV("error"),
		      (double)(st.failed + st.dropped - app->last.failed - app->last.dropped));
	pb_metric_add(app->metrics->slack_rate_limited, NULL, (double)(st.rate_limited - app->last.rate_limited));
	pb_metric_set(app->metrics->queue_depth, PB_LV("slack_poster"), (double)st.queued);
	pb_metric_add(app->metrics->slack_thread_waits, NULL, (double)(st.thread_waits - app->last.thread_waits));
	app->last = st;
	if (app->lanes) {
		pb_lanes_stats ls;

		pb_lanes_stats_get(app->lanes, &ls);
		pb_metric_add(app->metrics->cpu_lane_waits, PB_LV("worker"),
			      (double)(ls.member_waits - app->last_lanes.member_waits));
		pb_metric_add(app->metrics->cpu_lane_waits, PB_LV("poster"),
			      (double)(ls.guest_waits - app->last_lanes.guest_waits));
		app->last_lanes = ls;
	}
}

/* ---- busy notices: the caller learns the command was not run, even for clicks and mentions ---- */

static void app_busy(void *ud, const pb_slack_msg *m)
{
	tell_user(ud, m, PB_SLACK_BUSY_TEXT);
}

static bool app_has_room(void *ud, size_t held)
{
	slack_app *app = ud;

	return pb_workers_room(app->commands) > held;
}

static void app_submit(void *ud, char *frame, size_t len)
{
	slack_app *app = ud;
	cmd_job *job = calloc(1, sizeof(*job));

	if (!job) {
		pb_error("slack", "out of memory: an acked envelope is dropped");
		free(frame);
		return;
	}
	job->job.run = cmd_job_run;
	job->job.free = cmd_job_free;
	job->app = app;
	job->frame = frame;
	job->len = len;
	if (pb_workers_submit(app->commands, &job->job)) {
		pb_error("slack", "job queue refused an acked envelope");
		cmd_job_free(&job->job);
	}
}

/* ---- signals: a dedicated thread waits for them, so no handler touches shared state ---- */

typedef struct sig_waiter {
	pthread_t thread;
	sigset_t set;
	pb_loop *loop;
	pthread_mutex_t lock;
	bool quit;
} sig_waiter;

static void *sig_main(void *arg)
{
	sig_waiter *s = arg;

	for (;;) {
		int sig = 0;
		bool quit;

		if (sigwait(&s->set, &sig))
			continue;
		pthread_mutex_lock(&s->lock);
		quit = s->quit;
		pthread_mutex_unlock(&s->lock);
		if (quit)
			break;
		pb_info("slack", "signal %d: shutting down", sig);
		pb_loop_stop(s->loop);
	}
	return NULL;
}

static char *read_token(const char *env_name, const char *prefix, pb_err *err)
{
	char *tok = pb_secret_read(env_name, NULL, err);

	if (tok && strncmp(tok, prefix, strlen(prefix)) != 0)
		pb_warn("slack", "%s does not look like an %s… token", env_name, prefix);
	return tok;
}

int pb_slack_run(const pb_config *cfg, pb_err *err)
{
	slack_app app = { .cfg = cfg, .open_lock = PTHREAD_MUTEX_INITIALIZER };
	pb_store *probe = NULL;
	pb_slack_loop_cfg lc = { 0 };
	pb_slack_loop *slack = NULL;
	pb_runtime *rt = NULL;
	sig_waiter sw = { 0 };
	sigset_t old;
	bool sig_started = false;
	char *app_token = NULL;
	pb_workers_ops ops = { worker_init, worker_fini, &app, "commands", cfg->worker_nice, cfg->worker_idle, NULL };
	int ncpus = pb_config_worker_cpus(cfg);
	pb_slack_poster_cfg pc = { 0 };
	size_t nworkers = cfg->workers > 0 ? (size_t)cfg->workers : 4;
	int rc;

	if (!cfg->slack.channel || !cfg->slack.channel[0])
		return pb_err_set(err, PB_E_INVALID, "chat.slack.channel is not set");
	app_token = read_token(str_or(cfg->slack.app_token_env, "SLACK_APP_TOKEN"), "xapp-", err);
	app.bot_token = app_token ? read_token(str_or(cfg->slack.bot_token_env, "SLACK_BOT_TOKEN"),
					       "xoxb-", err) : NULL;
	if (!app_token || !app.bot_token) {
		rc = PB_E_INVALID;
		goto out;
	}
	/* Open (and migrate) storage once up front: a broken database stops here, clearly. */
	rc = pb_services_store_open(cfg, &probe, err);
	pb_store_close(probe);
	if (rc)
		goto out;
	pc.cfg = cfg;
	pc.api_url = str_or(cfg->slack.api_url, "https://slack.com/api/");
	pc.bot_token = app.bot_token;
	pc.ca_file = cfg->slack.ca_file;
	pc.min_interval_ms = cfg->slack.min_post_interval_ms;
	pc.capacity = POST_QUEUE_CAP;
	pc.nice = cfg->worker_nice;
	pc.idle = cfg->worker_idle;
	/* The command workers and the poster share the CPU lanes: the loop's CPU stays free for acks. */
	if (ncpus > 0 && pb_lanes_new(ncpus, &ops.lanes) != 0) {
		rc = pb_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	pc.lanes = ops.lanes;
	if (ops.lanes && cfg->worker_pin)
		lanes_pin(ops.lanes);
	/* Block the stop signals before any thread starts: only sig_main receives them. */
	sigemptyset(&sw.set);
	sigaddset(&sw.set, SIGINT);
	sigaddset(&sw.set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sw.set, &old);
	rc = pb_runtime_new(cfg, "slack", &rt, err);
	if (rc)
		goto out_mask;
	app.metrics = pb_runtime_metrics(rt);
	app.lanes = ops.lanes;
	/* shown from the first scrape, before the first tick */
	pb_metric_set(app.metrics->cpu_lanes, NULL, (double)pb_lanes_count(ops.lanes));
	pb_metric_touch(app.metrics->cpu_lane_waits, PB_LV("worker"));
	pb_metric_touch(app.metrics->cpu_lane_waits, PB_LV("poster"));
	pb_metric_touch(app.metrics->slack_thread_waits, NULL);
	rc = pb_slack_poster_new(&pc, &app.poster, err);
	if (rc)
		goto out_mask;
	pb_slack_system_sink_init(&app.system, app.poster, cfg);
	rc = pb_workers_new(nworkers, JOB_QUEUE_CAP, &ops, &app.commands);
	if (rc) {
		pb_err_set(err, rc, "cannot start %zu workers", nworkers);
		goto out_mask;
	}
	pb_runtime_set_system_sink(rt, &app.system.sink);
	pb_runtime_watch_pool(rt, "commands", app.commands);
	pb_runtime_on_tick(rt, app_tick, &app);
	rc = pb_runtime_start(rt, err);
	if (rc)
		goto out_mask;
	lc.api_url = str_or(cfg->slack.api_url, "https://slack.com/api/");
	lc.app_token = app_token;
	lc.ca_file = cfg->slack.ca_file;
	/* Undocumented, for tests only: a shorter dead-link watchdog. */
	{
		const char *idle = getenv("PROMOBOT_SLACK_IDLE_S");
		long v;

		if (idle && pb_parse_long(idle, 2, 300, &v) == 0) {
			lc.idle_s = (unsigned)v;
			lc.ping_s = (unsigned)(v / 3 ? v / 3 : 1);
		}
	}
	lc.has_room = app_has_room;
	lc.submit = app_submit;
	lc.busy = app_busy;
	lc.ud = &app;
	lc.loop = pb_runtime_loop(rt);
	lc.metrics = app.metrics;
	rc = pb_slack_loop_new(&lc, &slack, err);
	if (rc)
		goto out_mask;
	sw.loop = pb_runtime_loop(rt);
	pthread_mutex_init(&sw.lock, NULL);
	if (pthread_create(&sw.thread, NULL, sig_main, &sw) == 0)
		sig_started = true;
	pb_info("slack", "promobot on Slack: channel %s, %zu workers", cfg->slack.channel, nworkers);
	rc = pb_runtime_run(rt, err);
	if (sig_started) {
		pthread_mutex_lock(&sw.lock);
		sw.quit = true;
		pthread_mutex_unlock(&sw.lock);
		pthread_kill(sw.thread, SIGTERM);
		pthread_join(sw.thread, NULL);
	}
	pthread_mutex_destroy(&sw.lock);
out_mask:
	pb_slack_loop_free(slack);
	/* Acked commands still run: the pool drains its queue before joining. */
	pb_workers_free(app.commands);
	app.commands = NULL;
	/* background jobs finish too (they may still post), then the loop goes */
	pb_runtime_free(rt);
	/* …and what they all emitted still reaches Slack, within a bound. */
	pb_slack_poster_free(app.poster, POST_DRAIN_MS);
	app.poster = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	pb_lanes_free(ops.lanes); /* after its members and its guest */
	free(app.bot_token);
	free(app_token);
	return rc;
}

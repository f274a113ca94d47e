/* monitor_check.c — one scheduled check: container state, probe, resources, logs; recorded with its alert in one transaction. */
#include "monitor_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_log.h"
#include "pb_str.h"
#include "pb_workflow.h"

#define LOGS_MAX_BYTES (1u << 20)  /* per check: a log storm is cut, not buffered without bound */

/* What the engine said about the deployed container. */
typedef struct container_view {
	bool asked;              /* there is a container to ask about and an engine */
	bool engine_down;        /* the engine could not be asked */
	pb_check_class cls;      /* PB_CHK_OK when running and not unhealthy/restarted */
	bool running, tty;
	char id[PB_ID_MAX];
	char detail[300];
} container_view;

static pb_docker *entry_docker(const pb_services *svc, mon_entry *e, const pb_monitor_cfg *mc)
{
	pb_err err;

	if (!e->docker) {
		pb_err_init(&err);
		if (pb_docker_new(svc->cfg->docker.host, mc->deadline_ms, &e->docker, &err))
			pb_warn("monitor", "docker client: %s", pb_err_text(&err));
	}
	return e->docker;
}

/* What the engine's events said about the container since the last check. */
typedef struct event_tally {
	unsigned starts, restarts, ooms, unhealthy;
	int last_exit;             /* exit code of the last die; -1 none */
	int64_t seen_start_ms;     /* StartedAt the previous check saw; its own start event is no restart */
	int64_t now_start_ms;      /* StartedAt now */
	bool now_start_seen;       /* the start event of now_start_ms is in this window */
} event_tally;

static void tally_event(void *ud, const pb_docker_event *ev)
{
	event_tally *t = ud;

	/*
	 * The engine logs "start" a few ms after StartedAt. A start the previous
	 * check already saw through inspect may still reach us in this window
	 * (the window ends 1 s ago): one within a second after that StartedAt is
	 * that start, not another one.
	 */
	if (!strcmp(ev->action, "start")) {
		int64_t at_ms = ev->time_ns / 1000000;

		if (!(t->seen_start_ms > 0 && at_ms >= t->seen_start_ms && at_ms < t->seen_start_ms + 1000))
			t->starts++;
		if (t->now_start_ms > 0 && at_ms >= t->now_start_ms && at_ms < t->now_start_ms + 1000)
			t->now_start_seen = true;
	} else if (!strcmp(ev->action, "restart")) {
		t->restarts++;
	} else if (!strcmp(ev->action, "oom")) {
		t->ooms++;
	} else if (!strcmp(ev->action, "die")) {
		t->last_exit = ev->exit_code;
	} else if (!strcmp(ev->action, "health_status") && !strcmp(ev->health, "unhealthy")) {
		t->unhealthy++;
	}
}

/*
 * Events since the last check, read as one bounded window per check
 * (GET /events?since=<cursor>&until=<1 s ago>, which the engine answers and
 * closes) rather than a stream followed by a thread: the monitor is a pull
 * model already, a window needs no reconnect logic, and its end (the
 * cursor) is stored in the same transaction as the sample that counted its
 * events — a crash before the commit reads the window again, after it
 * never — so events are neither lost nor counted twice across restarts.
 * The limit: dockerd keeps only its last 256 events (all containers) in
 * memory, so on a very busy engine the oldest events of a long interval
 * are gone; RestartCount and StartedAt from inspect still count the
 * restarts then. A failed read leaves the cursor: the next check re-reads.
 */
static void read_events(pb_docker *d, const container_view *cv, pb_monitor_state *ms, event_tally *t)
{
	pb_docker_events_window w;
	pb_err err;

	pb_err_init(&err);
	if (pb_docker_events_read(d, cv->id, &ms->events_ns, tally_event, t, &w, &err)) {
		pb_debug("monitor", "events of %s: %s", cv->id, pb_err_text(&err));
		return;
	}
	if (w.malformed || w.oversized || w.truncated)
		pb_warn("monitor", "events of %s: %zu malformed and %zu oversized lines skipped%s", cv->id,
			w.malformed, w.oversized, w.truncated ? "; window cut, the rest is read next check" : "");
}

static uint8_t cap8(unsigned v)
{
	return v > 255 ? 255 : (uint8_t)v;
}

/* State, restarts and OOM from inspect and the engine's events; updates the restart memory in ms. */
static void inspect_container(pb_docker *d, container_view *cv, pb_monitor_state *ms, pb_sample *s)
{
	event_tally ev = { .last_exit = -1 };
	pb_docker_state ds;
	unsigned restarts = 0, ooms = 0;
	bool was_down = ms->last_cls == PB_CHK_NOT_RUNNING;
	pb_err err;
	int r;

	memset(&ds, 0, sizeof(ds));
	pb_err_init(&err);
	r = pb_docker_container_inspect(d, cv->id, &ds, &err);
	if (r == PB_E_NOTFOUND) {
		cv->cls = PB_CHK_NOT_RUNNING;
		snprintf(cv->detail, sizeof(cv->detail), "container %.64s no longer exists", cv->id);
		return;
	}
	if (r) {
		cv->engine_down = true;
		snprintf(cv->detail, sizeof(cv->detail), "%s", pb_err_text(&err));
		return;
	}
	if (!ms->started_at[0] || !pb_docker_time_ms(ms->started_at, &ev.seen_start_ms))
		ev.seen_start_ms = 0;
	if (!pb_docker_time_ms(ds.started_at, &ev.now_start_ms))
		ev.now_start_ms = 0;
	read_events(d, cv, ms, &ev);
	cv->running = ds.running;
	cv->tty = ds.tty;
	/*
	 * Restarts are the start events of the window, plus the current start
	 * when StartedAt moved but its event is not in the window yet (it came
	 * within the last second; the next check's window skips it then), or
	 * RestartCount's growth (the engine's policy restarts) or the restart
	 * events when those say more (dockerd's restart sends start and
	 * restart, podman's restart and start: one restart each). A container
	 * the last check found stopped that runs again recovered: that one
	 * start ends the outage, it is no restart.
	 */
	if (ms->restart_count >= 0 && ms->started_at[0] && strcmp(ds.started_at, ms->started_at) &&
	    !ev.now_start_seen)
		ev.starts++;
	if (ev.starts && was_down && ds.running)
		ev.starts--;
	if (ev.restarts && was_down && ds.running)
		ev.restarts--;
	if (ms->restart_count >= 0 && ds.restart_count > ms->restart_count)
		restarts = (unsigned)(ds.restart_count - ms->restart_count);
	if (ev.starts > restarts || ev.restarts > restarts)
		restarts = ev.starts > ev.restarts ? ev.starts : ev.restarts;
	ooms = ev.ooms;
	/* OOMKilled stays true while the container stays dead: count it when it is news */
	if (!ooms && ds.oom_killed && (restarts || (!ds.running && !was_down)))
		ooms = 1;
	s->restarts = cap8(restarts);
	s->ooms = cap8(ooms);
	if (restarts)
		s->flags |= PB_SAMPLE_F_RESTART;
	if (ooms)
		s->flags |= PB_SAMPLE_F_OOM;
	if (ev.unhealthy)
		s->flags |= PB_SAMPLE_F_UNHEALTHY;
	ms->restart_count = ds.restart_count;
	pb_strlcpy(ms->started_at, ds.started_at, sizeof(ms->started_at));
	if (!ds.running) {
		cv->cls = PB_CHK_NOT_RUNNING;
		snprintf(cv->detail, sizeof(cv->detail), "container is %s (exit code %d%s)", ds.status, ds.exit_code,
			 ds.oom_killed ? ", OOM killed" : "");
	} else if (!strcmp(ds.health, "unhealthy")) {
		cv->cls = PB_CHK_UNHEALTHY;
		snprintf(cv->detail, sizeof(cv->detail), "engine healthcheck: unhealthy (%.200s)", ds.health_output);
	} else if (restarts) {
		char exit_txt[48] = "";

		if (ev.last_exit >= 0)
			snprintf(exit_txt, sizeof(exit_txt), ", last exit code %d", ev.last_exit);
		cv->cls = PB_CHK_RESTARTED;
		snprintf(cv->detail, sizeof(cv->detail),
			 "container restarted %u time(s) since the last check%s%s (restart count %d, started %s)",
			 restarts, exit_txt, ooms ? ", OOM killed" : "", ds.restart_count, ds.started_at);
	}
}

static void read_stats(pb_docker *d, const container_view *cv, pb_sample *s)
{
	pb_docker_stats ds;
	pb_err err;

	pb_err_init(&err);
	if (pb_docker_container_stats(d, cv->id, &ds, &err)) {
		pb_debug("monitor", "stats of %s: %s", cv->id, pb_err_text(&err));
		return;
	}
	s->cpu_dpct = ds.cpu_percent * 10 > 2e9 ? 2000000000 : (int32_t)(ds.cpu_percent * 10 + 0.5);
	s->mem_kb = ds.mem_used / 1024 > 2000000000u ? 2000000000 : (int32_t)(ds.mem_used / 1024);
	s->flags |= PB_SAMPLE_F_STATS;
}

/* Feeds the lines written after ms->log_since to the scanner; moves log_since forward. */
static void scan_logs(pb_docker *d, mon_entry *e, const pb_monitor_cfg *mc, const container_view *cv,
		      pb_monitor_state *ms, pb_sample *s)
{
	uint32_t crit = 0, warn = 0;
	const char *p, *end;
	pb_buf buf;
	pb_err err;

	pb_err_init(&err);
	if (!e->logscan && pb_logscan_new(mc, &e->logscan, &err)) {
		pb_warn("monitor", "log scanner: %s", pb_err_text(&err));
		return;
	}
	pb_buf_init(&buf);
	if (pb_docker_container_logs_since(d, cv->id, cv->tty, ms->log_since, LOGS_MAX_BYTES, &buf, &err) == 0) {
		for (p = pb_buf_str(&buf), end = p + buf.len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), pre = 0;
			int64_t ms_at = 0;

			/* the engine's since is inclusive: a line at log_since was scanned last time */
			if (pb_docker_log_line_time(p, len, &ms_at, &pre) && ms_at > ms->log_since) {
				pb_logscan_feed(e->logscan, p + pre, len - pre);
				pb_logscan_feed(e->logscan, "\n", 1);
				ms->log_since = ms_at;
			}
			p += len + (nl != NULL);
		}
		pb_logscan_flush(e->logscan);
	} else {
		pb_debug("monitor", "logs of %s: %s", cv->id, pb_err_text(&err));
	}
	pb_buf_deinit(&buf);
	pb_logscan_take(e->logscan, &crit, &warn);
	s->log_critical = crit > 65535 ? 65535 : (uint16_t)crit;
	s->log_warning = warn > 65535 ? 65535 : (uint16_t)warn;
}

/* An external deployment has no container of ours: the check is its probe alone. */
static void look_at_container(const pb_services *svc, mon_entry *e, const pb_promotion *p, const pb_deploy_cfg *dc,
			      const pb_monitor_cfg *mc, pb_monitor_state *ms, pb_sample *s, container_view *cv)
{
	pb_deployment dep;
	pb_docker *d;
	pb_err err;

	memset(cv, 0, sizeof(*cv));
	cv->cls = PB_CHK_OK;
	pb_err_init(&err);
	if (!svc->cfg->docker_enabled || (dc && dc->external) ||
	    pb_store_deployment_latest(svc->store, p->id, &dep, &err) ||
	    !dep.container_id[0])
		return;
	d = entry_docker(svc, e, mc);
	if (!d) {
		cv->asked = true;
		cv->engine_down = true;
		snprintf(cv->detail, sizeof(cv->detail), "no docker client");
		return;
	}
	cv->asked = true;
	pb_strlcpy(cv->id, dep.container_id, sizeof(cv->id));
	inspect_container(d, cv, ms, s);
	if (cv->engine_down)
		return;
	if (cv->running && mc->stats_every > 0 && ms->checks % mc->stats_every == 0)
		read_stats(d, cv, s);
	scan_logs(d, e, mc, cv, ms, s);  /* a dead container's last words count too */
}

static const pb_check_class probe_cls[] = {
	[PB_PROBE_UP] = PB_CHK_OK,
	[PB_PROBE_TIMEOUT] = PB_CHK_TIMEOUT,
	[PB_PROBE_ERROR] = PB_CHK_PROBE_ERROR,
	[PB_PROBE_AUTH] = PB_CHK_AUTH,
	[PB_PROBE_NONE] = PB_CHK_OK,
};

/* The probe's verdict; PB_PROBE_NONE when the component has none. */
static pb_probe_result run_probe(mon_entry *e, const pb_deploy_cfg *dc, const pb_monitor_cfg *mc, pb_sample *s,
				 char *detail, size_t size)
{
	pb_err err;

	if (!dc || dc->health.kind == PB_HEALTH_NONE)
		return PB_PROBE_NONE;
	pb_err_init(&err);
	if (!e->probe && pb_probe_new(&dc->health, mc->deadline_ms, &e->probe, &err)) {
		snprintf(detail, size, "%s", pb_err_text(&err));
		return PB_PROBE_ERROR;
	}
	return pb_probe_run(e->probe, &s->latency_us, detail, size);
}

/* Container first (a dead container's port may still answer through a proxy), then the probe. */
static void decide(pb_sample *s, const container_view *cv, pb_probe_result pr, char *detail, size_t size)
{
	if (cv->asked && !cv->engine_down && cv->cls != PB_CHK_OK) {
		s->state = PB_SAMPLE_DOWN;
		s->cls = (uint8_t)cv->cls;
		snprintf(detail, size, "%s", cv->detail);
	} else if (pr != PB_PROBE_UP && pr != PB_PROBE_NONE) {
		s->state = PB_SAMPLE_DOWN;
		s->cls = (uint8_t)probe_cls[pr];
	} else if (pr == PB_PROBE_UP || (cv->asked && !cv->engine_down)) {
		s->state = PB_SAMPLE_UP;
		s->cls = PB_CHK_OK;
	} else {
		/* nothing could be asked: no result, never UP */
		s->state = PB_SAMPLE_UNKNOWN;
		s->cls = PB_CHK_ENGINE_ERROR;
		snprintf(detail, size, "%s", cv->asked ? cv->detail : "no probe and no container to ask");
	}
}

static void fmt_duration(int64_t s, char *out, size_t size)
{
	if (s >= 3600)
		snprintf(out, size, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, size, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, size, "%lld s", (long long)s);
}

/* "title\nbody" of the alert decided by this sample. */
static void alert_text(pb_alert_kind k, const pb_promotion *p, const pb_monitor_cfg *mc, const pb_monitor_state *ms,
		       const pb_sample *s, const char *detail, int64_t up_since, pb_buf *out)
{
	char since[64], until[64], dur[64];
	const char *mention = mc->mention ? mc->mention : "";

	pb_time_fmt(ms->down_since, since, sizeof(since));
	if (k == PB_ALERT_DOWN || k == PB_ALERT_REMIND) {
		fmt_duration(s->slot - ms->down_since, dur, sizeof(dur));
		pb_buf_printf(out, "%s %s%s\n", k == PB_ALERT_DOWN ? "🔴 DOWN:" : "🔴 Still DOWN:", p->component,
			      k == PB_ALERT_DOWN ? "" : " (reminder)");
		pb_buf_printf(out, "%s%s%s since %s (%d failed checks, down for %s)%s%s", mention, *mention ? " " : "",
			      pb_check_class_name((pb_check_class)ms->down_cls), since, ms->fails, dur,
			      detail[0] ? ": " : "", detail);
		return;
	}
	pb_time_fmt(up_since, until, sizeof(until));
	fmt_duration(up_since - ms->down_since, dur, sizeof(dur));
	pb_buf_printf(out, "🟢 UP again: %s\n", p->component);
	pb_buf_printf(out, "%s%sthe outage lasted %s (%s → %s, %s); %d checks passed since", mention,
		      *mention ? " " : "", dur, since, until, pb_check_class_name((pb_check_class)ms->down_cls),
		      ms->oks);
}

/* Sample + state + alert: one transaction. PB_E_CONFLICT when the slot was already recorded. */
static int record(const pb_services *svc, const pb_promotion *p, const pb_monitor_cfg *mc, pb_monitor_state *ms,
		  const pb_sample *s, const char *detail, pb_err *err)
{
	pb_alert_kind k = pb_monitor_step(mc, ms, s);
	int64_t now = pb_services_now(svc);
	pb_buf text;
	int r;

	pb_buf_init(&text);
	if (k != PB_ALERT_NONE)
		alert_text(k, p, mc, ms, s, detail, s->slot - (int64_t)(ms->oks - 1) * mc->interval_s, &text);
	if (k == PB_ALERT_UP)
		ms->down_since = 0;
	ms->last_at = now;
	r = pb_store_begin(svc->store, err);
	if (r == 0)
		r = pb_store_sample_record(svc->store, s, ms, err);
	if (r == 0 && k != PB_ALERT_NONE)
		r = text.oom ? pb_err_set(err, -ENOMEM, "out of memory")
			     : pb_store_obs_post_add(svc->store, p->id, pb_alert_kind_name(k), s->slot, pb_buf_str(&text),
						     now, NULL, err);
	if (r == 0)
		r = pb_store_commit(svc->store, err);
	if (r)
		pb_store_rollback(svc->store);
	pb_buf_deinit(&text);
	return r;
}

int mon_check_run(pb_monitor *m, const pb_services *svc, mon_entry *e, int64_t slot, pb_err *err)
{
	pb_sample s = { .promotion_id = e->promotion_id, .slot = slot, .latency_us = -1, .cpu_dpct = -1, .mem_kb = -1 };
	const pb_monitor_cfg *mc;
	const pb_deploy_cfg *dc;
	pb_monitor_state ms;
	container_view cv;
	pb_probe_result pr;
	pb_promotion p;
	char detail[300] = "";
	int r;

	(void)m;
	r = pb_store_promotion_get(svc->store, e->promotion_id, &p, err);
	if (r || p.state != PB_ST_OBSERVING)
		return r == PB_E_NOTFOUND ? 0 : r;
	mc = mon_cfg(svc->cfg, &p);
	r = pb_store_monitor_get(svc->store, p.id, &ms, err);
	if (r || slot <= ms.last_slot)
		return r;
	dc = mon_deploy(svc->cfg, &p);
	look_at_container(svc, e, &p, dc, mc, &ms, &s, &cv);
	pr = run_probe(e, dc, mc, &s, detail, sizeof(detail));
	decide(&s, &cv, pr, detail, sizeof(detail));
	r = record(svc, &p, mc, &ms, &s, detail, err);
	if (r == PB_E_CONFLICT)
		return 0;  /* another run recorded this slot first: nothing decided twice */
	return r;
}

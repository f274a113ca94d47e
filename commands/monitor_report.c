/* monitor_report.c — daily reports claimed once per local day, the verdict at the end, status and on-demand reports. */
#include "monitor_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_ghout.h"
#include "pb_log.h"
#include "pb_obs.h"
#include "pb_str.h"
#include "pb_workflow.h"

/* A report posted this long after its due time says it is late (the bot was down). */
#define REPORT_LATE_S 900

static pb_obs_grid grid_of(const pb_config *cfg, const pb_promotion *p, const pb_monitor_cfg *mc, int64_t now)
{
	int64_t end = mon_obs_end(cfg, p);
	pb_obs_grid g = { .first_slot = p->observing_since, .interval_s = mc->interval_s, .until = now < end ? now : end };

	return g;
}

/* The day's figures and its text (template + extras); out gets the text. */
static int day_report(const pb_services *svc, const pb_promotion *p, const pb_tz *tz, int64_t day, bool late,
		      pb_obs_day *d, pb_buf *out, pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	pb_obs_grid g = grid_of(svc->cfg, p, mc, pb_services_now(svc));
	pb_sample *samples = NULL;
	pb_event *events = NULL;
	pb_blocker *blockers = NULL;
	size_t ns = 0, ne = 0, nb = 0;
	pb_obs_notes notes;
	int r;

	r = pb_store_samples_range(svc->store, p->id, pb_tz_day_start(tz, day), pb_tz_day_start(tz, day + 1),
				   &samples, &ns, err);
	if (r == 0)
		r = pb_store_events_for_promotion(svc->store, p->id, &events, &ne, err);
	if (r == 0)
		r = pb_store_blockers_open(svc->store, p->component, &blockers, &nb, err);
	if (r == 0 && pb_obs_day_compute(tz, day, pb_tz_day_of(tz, p->observing_since), &g, samples, ns, d))
		r = pb_err_set(err, -ENOMEM, "out of memory");
	if (r == 0) {
		notes = (pb_obs_notes){ .events = events, .nevents = ne, .blockers = blockers, .nblockers = nb };
		if (pb_obs_day_render(tz, d, &notes, late, out) || out->oom)
			r = pb_err_set(err, -ENOMEM, "out of memory");
	}
	free(samples);
	free(events);
	free(blockers);
	return r;
}

static pb_obs_rollup rollup_of(const pb_promotion *p, const pb_obs_day *d)
{
	pb_obs_rollup ru = {
		.promotion_id = p->id, .day = d->day, .day_index = d->day_index, .expected = d->expected,
		.up = d->up, .down = d->down, .unknown = d->unknown, .p50_ms = d->p50_ms, .p95_ms = d->p95_ms,
		.p99_ms = d->p99_ms, .log_critical = d->log_critical, .log_warning = d->log_warning,
		.ooms = d->ooms, .restarts = d->restarts, .outages = (uint32_t)d->outages_total,
		.cpu_avg = d->cpu_avg, .mem_avg_mb = d->mem_avg_mb,
	};

	return ru;
}

/* Claims the report of `day`: computed, stored with its rollup, queued for the thread — once. */
static int claim_report(const pb_services *svc, const pb_promotion *p, const pb_tz *tz, int64_t day, bool late,
			bool *claimed, pb_err *err)
{
	pb_obs_post existing;
	pb_obs_rollup ru;
	pb_obs_day d;
	pb_buf text;
	int r;

	*claimed = false;
	r = pb_store_obs_post_get(svc->store, p->id, MON_POST_REPORT, day, &existing, err);
	if (r == 0)
		free(existing.text);
	if (r != PB_E_NOTFOUND)
		return r;
	pb_buf_init(&text);
	pb_buf_printf(&text, "📊 Monitoring report: %s\n", p->component);
	r = day_report(svc, p, tz, day, late, &d, &text, err);
	ru = rollup_of(p, &d);
	if (r == 0)
		r = pb_store_begin(svc->store, err);
	if (r == 0) {
		r = pb_store_obs_post_add(svc->store, p->id, MON_POST_REPORT, day, pb_buf_str(&text),
					  pb_services_now(svc), NULL, err);
		if (r == 0)
			r = pb_ghout_comment(svc, p, pb_buf_str(&text), err); /* the issue gets it too */
		if (r == 0)
			r = pb_store_obs_rollup_put(svc->store, &ru, err);
		if (r == 0)
			r = pb_store_commit(svc->store, err);
		if (r)
			pb_store_rollback(svc->store);
	}
	pb_buf_deinit(&text);
	*claimed = r == 0;
	return r == PB_E_CONFLICT ? 0 : r;  /* someone else claimed it first: posted once all the same */
}

int pb_monitor_verdict(const pb_services *svc, const pb_promotion *p, pb_obs_verdict *out, pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	pb_obs_grid g = grid_of(svc->cfg, p, mc, pb_services_now(svc));
	pb_sample *samples = NULL;
	size_t n = 0;
	int crit = 0, r;

	r = pb_store_samples_range(svc->store, p->id, p->observing_since, mon_obs_end(svc->cfg, p), &samples, &n, err);
	if (r == 0)
		r = pb_store_blockers_critical(svc->store, p->component, &crit, err);
	if (r == 0 && pb_obs_verdict_compute(&g, p->observing_since, mon_obs_end(svc->cfg, p), samples, n,
					     svc->cfg->policy.uptime_target, mc->min_coverage, crit, out))
		r = pb_err_set(err, -ENOMEM, "out of memory");
	free(samples);
	return r;
}

static void verdict_text(const pb_services *svc, const pb_promotion *p, const pb_obs_verdict *v, pb_buf *out)
{
	pb_buf_printf(out, "%s Observation verdict: %s\n", v->kind == PB_VERDICT_PASS ? "✅" : v->kind == PB_VERDICT_FAIL ? "❌" : "❔",
		      pb_verdict_name(v->kind));
	pb_buf_printf(out, "%d-day observation of %s: uptime %.2f%% (target %.1f%%, UNKNOWN counted as down), "
		      "coverage %.2f%% of %u checks, %zu outage(s), %u critical log entries, %u OOM(s), "
		      "%d open critical blocker(s).",
		      svc->cfg->policy.observation_days, p->component, v->uptime_pct, svc->cfg->policy.uptime_target,
		      v->coverage_pct, v->expected, v->outages, v->log_critical, v->ooms, v->open_critical_blockers);
	if (v->reasons[0])
		pb_buf_printf(out, "\nWhy: %s.", v->reasons);
	if (v->kind == PB_VERDICT_PASS)
		pb_buf_printf(out, "\nNext: a deployer runs /promote complete %s", p->component);
	else if (v->kind == PB_VERDICT_FAIL)
		pb_buf_printf(out, "\nA blocker with this evidence was opened; complete needs an admin override.");
	else
		pb_buf_printf(out, "\nToo few checks had a result to decide: extend the observation or decide by hand "
			      "(an admin: /promote complete %s <reason>).", p->component);
}

/* A FAIL opens a blocker with the evidence, in the verdict's transaction. */
static int open_fail_blocker(const pb_services *svc, const pb_promotion *p, const pb_obs_verdict *v, pb_err *err)
{
	pb_blocker b;
	pb_event ev;
	int r;

	memset(&b, 0, sizeof(b));
	pb_strlcpy(b.component, p->component, sizeof(b.component));
	b.severity = PB_SEV_HIGH;
	snprintf(b.text, sizeof(b.text), "observation verdict FAIL: %s", v->reasons);
	pb_strlcpy(b.opened_by, "promobot", sizeof(b.opened_by));
	b.opened_at = pb_services_now(svc);
	r = pb_store_blocker_add(svc->store, &b, err);
	if (r)
		return r;
	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = p->id;
	pb_strlcpy(ev.component, p->component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, "blocker.opened", sizeof(ev.kind));
	snprintf(ev.detail, sizeof(ev.detail), "#%lld %s: %s", (long long)b.id, pb_severity_name(b.severity), b.text);
	ev.at = b.opened_at;
	r = pb_store_event_append(svc->store, &ev, err);
	/* on GitHub too, like /promote block: a blocker issue linked from the promotion issue */
	return r ? r : pb_ghout_blocker_opened(svc, &b, p, err);
}

static int claim_verdict(const pb_services *svc, const pb_promotion *p, bool *claimed, pb_err *err)
{
	pb_obs_post existing;
	pb_obs_verdict v;
	pb_event ev;
	pb_buf text;
	int r;

	*claimed = false;
	r = pb_store_obs_post_get(svc->store, p->id, MON_POST_VERDICT, 0, &existing, err);
	if (r == 0)
		free(existing.text);
	if (r != PB_E_NOTFOUND)
		return r;
	r = pb_monitor_verdict(svc, p, &v, err);
	if (r)
		return r;
	pb_buf_init(&text);
	verdict_text(svc, p, &v, &text);
	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = p->id;
	pb_strlcpy(ev.component, p->component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, "observation.verdict", sizeof(ev.kind));
	pb_obs_verdict_summary(&v, ev.detail, sizeof(ev.detail));
	ev.at = pb_services_now(svc);
	r = pb_store_begin(svc->store, err);
	if (r == 0) {
		r = pb_store_obs_post_add(svc->store, p->id, MON_POST_VERDICT, 0, pb_buf_str(&text), ev.at, NULL, err);
		if (r == 0)
			r = pb_ghout_comment(svc, p, pb_buf_str(&text), err);
		if (r == 0)
			r = pb_store_event_append(svc->store, &ev, err);
		if (r == 0 && v.kind == PB_VERDICT_FAIL)
			r = open_fail_blocker(svc, p, &v, err);
		if (r == 0)
			r = pb_store_commit(svc->store, err);
		if (r)
			pb_store_rollback(svc->store);
	}
	pb_buf_deinit(&text);
	*claimed = r == 0;
	return r == PB_E_CONFLICT ? 0 : r;
}

int mon_reports_due(pb_monitor *m, const pb_services *svc, const pb_promotion *p, mon_entry *snap,
		    pb_monitor_sweep_stats *stats, pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	int64_t now = pb_services_now(svc), end = mon_obs_end(svc->cfg, p), last_day;
	bool claimed = false;
	const pb_tz *tz;
	pb_err zerr;
	int r = 0;

	pb_err_init(&zerr);
	tz = mon_zone(m, mc, &zerr);
	if (!tz) {
		pb_warn("monitor", "%s: no daily report: %s", p->component, pb_err_text(&zerr));
		return 0;
	}
	last_day = pb_tz_day_of(tz, end - 1);
	if (!snap->report_day)
		snap->report_day = pb_tz_day_of(tz, p->observing_since);
	for (; snap->report_day <= last_day && r == 0; snap->report_day++) {
		int64_t due = pb_tz_at(tz, snap->report_day + 1, mc->report_hour, mc->report_min);

		if (now < due)
			break;
		r = claim_report(svc, p, tz, snap->report_day, now >= due + REPORT_LATE_S, &claimed, err);
		stats->reports += claimed;
	}
	if (r == 0 && !snap->verdict_done && now >= end) {
		r = claim_verdict(svc, p, &claimed, err);
		snap->verdict_done = r == 0;
		stats->verdicts += claimed;
	}
	return r;
}

/* ---- reading ---- */

int pb_monitor_status_line(const pb_services *svc, const pb_promotion *p, char *out, size_t size, pb_err *err)
{
	int64_t now = pb_services_now(svc);
	int days = svc->cfg->policy.observation_days;
	int64_t day = (now - p->observing_since) / 86400 + 1;
	pb_monitor_state ms;
	pb_obs_verdict v;
	char last[96];
	int r;

	r = pb_store_monitor_get(svc->store, p->id, &ms, err);
	if (r == 0)
		r = pb_monitor_verdict(svc, p, &v, err);
	if (r)
		return r;
	if (day > days)
		day = days;
	if (!ms.checks)
		snprintf(last, sizeof(last), "no check yet");
	else if (ms.last_state == PB_SAMPLE_UP && ms.last_latency_us >= 0)
		snprintf(last, sizeof(last), "last check %lld s ago: UP %d ms", (long long)(now - ms.last_at),
			 (ms.last_latency_us + 500) / 1000);
	else
		snprintf(last, sizeof(last), "last check %lld s ago: %s (%s)", (long long)(now - ms.last_at),
			 ms.last_state == PB_SAMPLE_UP ? "UP" : ms.last_state == PB_SAMPLE_DOWN ? "DOWN" : "UNKNOWN",
			 pb_check_class_name((pb_check_class)ms.last_cls));
	if (v.expected)
		snprintf(out, size, "day %lld/%d, uptime %.2f %% (%u checks), %s%s", (long long)day, days, v.uptime_pct,
			 v.expected, last, ms.health == PB_SAMPLE_DOWN ? " — 🔴 DOWN" : "");
	else
		snprintf(out, size, "day %lld/%d, %s", (long long)day, days, last);
	return 0;
}

/* "3" → Day 3, "2026-12-01" → that date, NULL → today. */
static int which_day(const pb_tz *tz, const pb_promotion *p, int64_t now, const char *which, int64_t *day, pb_err *err)
{
	int64_t first = pb_tz_day_of(tz, p->observing_since);
	long n = 0;
	int y = 0, mo = 0, d = 0;
	char tail;

	if (!which) {
		*day = pb_tz_day_of(tz, now);
	} else if (pb_parse_long(which, 1, 366, &n) == 0) {
		*day = first + n - 1;
	} else if (sscanf(which, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
		*day = pb_civil_days(y, mo, d);
	} else {
		return pb_err_set(err, PB_E_INVALID, "'%s' is not a day: give a day number (1, 2, …) or a date (YYYY-MM-DD)",
				  which);
	}
	if (*day < first || *day > pb_tz_day_of(tz, now))
		return pb_err_set(err, PB_E_NOTFOUND, "%s has no observation on that day (observed since Day 1, %s)",
				  p->component, "its first local day");
	return 0;
}

int pb_monitor_report_text(const pb_services *svc, const pb_promotion *p, const char *which, pb_buf *out,
			   pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	pb_obs_post stored;
	pb_obs_day d;
	pb_tz *tz = NULL;
	int64_t day = 0;
	int r;

	r = pb_tz_load(mc->timezone ? mc->timezone : "UTC", &tz, err);
	if (r == 0)
		r = which_day(tz, p, pb_services_now(svc), which, &day, err);
	if (r == 0) {
		r = pb_store_obs_post_get(svc->store, p->id, MON_POST_REPORT, day, &stored, err);
		if (r == 0) {
			const char *nl = strchr(stored.text, '\n');

			pb_buf_puts(out, nl ? nl + 1 : stored.text);
			free(stored.text);
		} else if (r == PB_E_NOTFOUND) {
			r = day_report(svc, p, tz, day, false, &d, out, err);
		}
	}
	pb_tz_free(tz);
	return r;
}

int pb_monitor_day_figures(const pb_services *svc, const pb_promotion *p, pb_obs_rollup **out, size_t *count,
			   pb_err *err)
{
	const pb_monitor_cfg *mc = mon_cfg(svc->cfg, p);
	int64_t now = pb_services_now(svc), end = mon_obs_end(svc->cfg, p), first, last;
	pb_obs_rollup *stored = NULL, *list = NULL;
	pb_obs_grid g;
	pb_sample *samples = NULL;
	size_t ns = 0, nsam = 0, n = 0;
	pb_tz *tz = NULL;
	int r;

	*out = NULL;
	*count = 0;
	if (!p->observing_since || now < p->observing_since)
		return 0;
	/* a promotion that left observing early (rolled back, failed) expects no slot after it left */
	if (p->state != PB_ST_OBSERVING && p->state != PB_ST_COMPLETED && p->updated_at > p->observing_since &&
	    p->updated_at < end)
		end = p->updated_at;
	if (now > end)
		now = end;
	g = grid_of(svc->cfg, p, mc, now);
	r = pb_tz_load(mc->timezone ? mc->timezone : "UTC", &tz, err);
	if (r == 0)
		r = pb_store_obs_rollups(svc->store, p->id, &stored, &ns, err);
	if (r)
		goto out;
	first = pb_tz_day_of(tz, p->observing_since);
	last = pb_tz_day_of(tz, now - 1);
	if (last < first)
		last = first;
	list = calloc((size_t)(last - first + 1), sizeof(*list));
	if (!list) {
		r = pb_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (int64_t day = first; day <= last && r == 0; day++) {
		const pb_obs_rollup *have = NULL;
		pb_obs_day d;

		for (size_t i = 0; i < ns && !have; i++)
			if (stored[i].day == day)
				have = &stored[i];
		if (have) {
			list[n++] = *have;
			continue;
		}
		free(samples);
		samples = NULL;
		r = pb_store_samples_range(svc->store, p->id, pb_tz_day_start(tz, day), pb_tz_day_start(tz, day + 1),
					   &samples, &nsam, err);
		if (r == 0 && pb_obs_day_compute(tz, day, first, &g, samples, nsam, &d))
			r = pb_err_set(err, -ENOMEM, "out of memory");
		if (r == 0)
			list[n++] = rollup_of(p, &d);
	}
out:
	if (r == 0) {
		*out = list;
		*count = n;
	} else {
		free(list);
	}
	free(samples);
	free(stored);
	pb_tz_free(tz);
	return r;
}

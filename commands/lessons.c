/* lessons.c — the step-12 lessons-learned draft: metrics from the audit trail, validations, blockers, deployments and observed days. */
#include "pb_lessons.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pb_config.h"
#include "pb_tz.h"

void pb_lessons_duration(int64_t s, char *out, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, size, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(out, size, "%lld min", (long long)((s + 30) / 60));
	else if (s < 2 * 86400)
		snprintf(out, size, "%.1f hours", s / 3600.0);
	else
		snprintf(out, size, "%.1f days", s / 86400.0);
}

static const char *times_word(int n)
{
	return n == 1 ? "once" : n == 2 ? "twice" : NULL;
}

/* "once", "twice", "3 times" */
static void times(int n, char *out, size_t size)
{
	const char *w = times_word(n);

	if (w)
		snprintf(out, size, "%s", w);
	else
		snprintf(out, size, "%d times", n);
}

/* When the promotion completed (its completion event), 0 if it did not. */
static int64_t completed_at(const pb_lessons_input *in)
{
	for (size_t i = 0; i < in->nevents; i++)
		if (!strcmp(in->events[i].kind, "state") && !strcmp(in->events[i].to_state, "completed"))
			return in->events[i].at;
	return 0;
}

/* When the promotion ended otherwise (cancelled, failed, rolled back): the last transition into that state. */
static int64_t ended_at(const pb_lessons_input *in)
{
	int64_t at = 0;

	for (size_t i = 0; i < in->nevents; i++)
		if (!strcmp(in->events[i].kind, "state") && !strcmp(in->events[i].to_state, pb_state_name(in->p->state)))
			at = in->events[i].at;
	return at ? at : in->p->updated_at;
}

/* Instants of rollbacks: rolled-back deployments, else the transition to rolled_back. */
static size_t rollbacks(const pb_lessons_input *in, int64_t *at, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < in->ndeployments && n < max; i++)
		if (!strcmp(in->deployments[i].status, "rolled_back"))
			at[n++] = in->deployments[i].finished_at ? in->deployments[i].finished_at : in->deployments[i].started_at;
	for (size_t i = 0; i < in->nevents && n == 0; i++)
		if (!strcmp(in->events[i].kind, "state") && !strcmp(in->events[i].to_state, "rolled_back"))
			at[n++] = in->events[i].at;
	return n;
}

/*
 * How long a deploy took: until the promotion left `deploying` (its state
 * event), else the row's finished_at. A later rollback rewrites the row's
 * status and finished_at, so the event is the truer end.
 */
static int64_t deploy_seconds(const pb_lessons_input *in, const pb_deployment *d)
{
	for (size_t i = 0; i < in->nevents; i++)
		if (!strcmp(in->events[i].kind, "state") && !strcmp(in->events[i].from_state, "deploying") &&
		    in->events[i].at >= d->started_at)
			return in->events[i].at - d->started_at;
	return d->finished_at ? d->finished_at - d->started_at : 0;
}

void pb_lessons_compute(const pb_lessons_input *in, pb_lessons_metrics *m)
{
	int64_t done = completed_at(in), rb[8];
	double sum = 0;
	bool passed = false;

	memset(m, 0, sizeof(*m));
	m->completed = done != 0;
	if (done)
		m->promotion_s = done - in->p->created_at;
	else
		m->promotion_s = (pb_state_is_open(in->p->state) ? in->now : ended_at(in)) - in->p->created_at;
	m->blocker_mean_s = -1;
	for (size_t i = 0; i < in->nblockers; i++) {
		m->blockers++;
		if (in->blockers[i].resolved_at) {
			m->blockers_resolved++;
			sum += (double)(in->blockers[i].resolved_at - in->blockers[i].opened_at);
		}
	}
	if (m->blockers_resolved)
		m->blocker_mean_s = sum / m->blockers_resolved;
	for (size_t i = 0; i < in->nvalidations; i++) {
		m->validation_runs++;
		m->validation_total_s += in->validations[i].finished_at - in->validations[i].started_at;
		if (!in->validations[i].passed && !passed)
			m->validation_failed_before_pass++;
		passed = passed || in->validations[i].passed;
	}
	for (size_t i = 0; i < in->ndeployments; i++) {
		m->deploys++;
		m->deploy_total_s += deploy_seconds(in, &in->deployments[i]);
	}
	for (size_t i = 0; i < in->ndays; i++) {
		m->expected += in->days[i].expected;
		m->up += in->days[i].up;
		m->outages += in->days[i].outages;
	}
	m->uptime_pct = m->expected ? 100.0 * m->up / m->expected : -1;
	m->rollbacks = (int)rollbacks(in, rb, sizeof(rb) / sizeof(rb[0]));
}

/* The criteria a validation run failed, "lint, coverage" (from its stored result). */
static void failed_criteria(const pb_validation *v, char *out, size_t size)
{
	cJSON *root = cJSON_Parse(v->result_json ? v->result_json : "");
	const cJSON *it, *err, *crit = cJSON_GetObjectItemCaseSensitive(root, "criteria");
	size_t len = 0;

	out[0] = '\0';
	if (!cJSON_IsArray(crit))
		crit = NULL;
	cJSON_ArrayForEach(it, crit) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "state");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "criterion");

		if (!cJSON_IsString(st) || strcmp(st->valuestring, "fail") || !cJSON_IsString(name) || len >= size)
			continue;
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", name->valuestring);
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (!out[0] && cJSON_IsString(err))
		snprintf(out, size, "%s", err->valuestring);
	cJSON_Delete(root);
}

/* Adds each name of `add` ("a, b") to the list `acc` once. */
static void merge_names(char *acc, size_t size, const char *add)
{
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", add);
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t len = strlen(acc), tl = strlen(t);
		bool seen = false;

		for (const char *f = strstr(acc, t); f && !seen; f = strstr(f + 1, t))
			seen = (f == acc || f[-1] == ' ') && (f[tl] == ',' || f[tl] == '\0');
		if (!seen && len + tl + 3 < size)
			snprintf(acc + len, size - len, "%s%s", len ? ", " : "", t);
	}
}

static void ymd(int64_t day, char *out, size_t size)
{
	int y, mo, d;

	pb_civil_from_days(day, &y, &mo, &d);
	snprintf(out, size, "%04d-%02d-%02d", y, mo, d);
}

static void went_well(const pb_lessons_input *in, const pb_lessons_metrics *m, const pb_obs_stored_verdict *v,
		      pb_buf *b)
{
	char dur[32];

	pb_buf_puts(b, "\n## What Went Well\n");
	if (v->found && v->kind == PB_VERDICT_PASS && !v->override)
		pb_buf_printf(b, "- Observation PASS: uptime %.2f %% over %d day%s (target %g %%)\n", v->uptime_pct,
			      in->observation_days, in->observation_days == 1 ? "" : "s", in->uptime_target);
	if (m->validation_runs && !m->validation_failed_before_pass && in->validations[0].passed)
		pb_buf_puts(b, "- Validation passed on the first run\n");
	if (m->deploys == 1 && !strcmp(in->deployments[0].status, "succeeded")) {
		pb_lessons_duration(m->deploy_total_s, dur, sizeof(dur));
		pb_buf_printf(b, "- Deployed on the first attempt in %s\n", dur);
	}
	if (!m->blockers)
		pb_buf_puts(b, "- No blockers were opened during the promotion\n");
	if (m->expected && !m->outages)
		pb_buf_puts(b, "- No outage during the observation\n");
	pb_buf_puts(b, "- [List successes]\n");
}

static void could_improve(const pb_lessons_input *in, const pb_lessons_metrics *m, const pb_obs_stored_verdict *v,
			  pb_buf *b)
{
	char names[256] = "", one[256], n[32];
	int64_t rb[8];
	size_t nrb;

	pb_buf_puts(b, "\n## What Could Be Improved\n");
	if (m->validation_failed_before_pass) {
		bool passed = false;

		for (size_t i = 0; i < in->nvalidations && !in->validations[i].passed; i++) {
			failed_criteria(&in->validations[i], one, sizeof(one));
			merge_names(names, sizeof(names), one);
		}
		for (size_t i = 0; i < in->nvalidations; i++)
			passed = passed || in->validations[i].passed;
		times(m->validation_failed_before_pass, n, sizeof(n));
		pb_buf_printf(b, "- Validation failed %s (%s)%s\n", n, names[0] ? names : "no criterion recorded",
			      passed ? " before passing" : " and has not passed yet");
	}
	nrb = rollbacks(in, rb, sizeof(rb) / sizeof(rb[0]));
	for (size_t i = 0; i < nrb; i++) {
		if (in->p->observing_since && rb[i] >= in->p->observing_since)
			pb_buf_printf(b, "- Rolled back on day %lld of the observation\n",
				      (long long)((rb[i] - in->p->observing_since) / 86400 + 1));
		else
			pb_buf_puts(b, "- Rolled back automatically during the deploy\n");
	}
	for (size_t i = 0; i < in->ndeployments; i++)
		if (!strcmp(in->deployments[i].status, "failed"))
			pb_buf_printf(b, "- Deploy %zu failed: %s\n", i + 1, in->deployments[i].detail);
	if (m->outages) {
		pb_buf_printf(b, "- %u outage%s during the observation (", m->outages, m->outages == 1 ? "" : "s");
		for (size_t i = 0, k = 0; i < in->ndays; i++)
			if (in->days[i].outages)
				pb_buf_printf(b, "%sday %d: %u", k++ ? ", " : "", in->days[i].day_index, in->days[i].outages);
		pb_buf_puts(b, ")\n");
	}
	if (v->override)
		pb_buf_printf(b, "- Completed by an admin override of a %s verdict\n", v->override_of);
	else if (v->found && v->kind != PB_VERDICT_PASS)
		pb_buf_printf(b, "- Observation %s: uptime %.2f %% (target %g %%)\n", pb_verdict_name(v->kind), v->uptime_pct,
			      in->uptime_target);
	pb_buf_puts(b, "- [List improvements]\n");
}

static void blockers_section(const pb_lessons_input *in, pb_buf *b)
{
	char dur[32];

	pb_buf_puts(b, "\n## Blockers Encountered\n");
	for (size_t i = 0; i < in->nblockers; i++) {
		const pb_blocker *x = &in->blockers[i];

		if (x->resolved_at) {
			pb_lessons_duration(x->resolved_at - x->opened_at, dur, sizeof(dur));
			pb_buf_printf(b, "- #%lld [%s] %s — resolved by %s after %s; how: [how it was resolved]\n",
				      (long long)x->id, pb_severity_name(x->severity), x->text, x->resolved_by, dur);
		} else {
			pb_lessons_duration(in->now - x->opened_at, dur, sizeof(dur));
			pb_buf_printf(b, "- #%lld [%s] %s — still open after %s\n", (long long)x->id,
				      pb_severity_name(x->severity), x->text, dur);
		}
	}
	if (!in->nblockers)
		pb_buf_puts(b, "- None opened during the promotion\n");
	pb_buf_puts(b, "- [List blockers and how they were resolved]\n");
}

static void metrics_section(const pb_lessons_input *in, const pb_lessons_metrics *m, pb_buf *b)
{
	char dur[32], crit[256];

	pb_buf_puts(b, "\n## Metrics\n");
	if (m->completed)
		pb_buf_printf(b, "- Time to promotion: %.1f days (request → complete)\n", m->promotion_s / 86400.0);
	else if (pb_state_is_open(in->p->state))
		pb_buf_printf(b, "- Time to promotion: in progress: %.1f days so far (%s)\n", m->promotion_s / 86400.0,
			      pb_state_name(in->p->state));
	else
		pb_buf_printf(b, "- Time to promotion: not promoted: %s after %.1f days\n", pb_state_name(in->p->state),
			      m->promotion_s / 86400.0);
	if (!m->blockers) {
		pb_buf_puts(b, "- Blocker resolution time: no blockers\n");
	} else {
		if (m->blocker_mean_s >= 0)
			pb_lessons_duration((int64_t)(m->blocker_mean_s + 0.5), dur, sizeof(dur));
		pb_buf_printf(b, "- Blocker resolution time: %d blocker%s, mean resolution %s", m->blockers,
			      m->blockers == 1 ? "" : "s", m->blocker_mean_s >= 0 ? dur : "n/a (none resolved)");
		if (m->blockers_resolved < m->blockers)
			pb_buf_printf(b, ", %d still open", m->blockers - m->blockers_resolved);
		pb_buf_puts(b, " (");
		for (size_t i = 0; i < in->nblockers; i++) {
			const pb_blocker *x = &in->blockers[i];

			pb_lessons_duration((x->resolved_at ? x->resolved_at : in->now) - x->opened_at, dur, sizeof(dur));
			pb_buf_printf(b, "%s#%lld %s%s", i ? ", " : "", (long long)x->id, dur, x->resolved_at ? "" : " so far");
		}
		pb_buf_puts(b, ")\n");
	}
	pb_lessons_duration(m->validation_total_s, dur, sizeof(dur));
	pb_buf_printf(b, "- Validation time: %s over %d run%s", dur, m->validation_runs, m->validation_runs == 1 ? "" : "s");
	for (size_t i = 0; i < in->nvalidations; i++) {
		const pb_validation *v = &in->validations[i];

		pb_lessons_duration(v->finished_at - v->started_at, dur, sizeof(dur));
		failed_criteria(v, crit, sizeof(crit));
		pb_buf_printf(b, "%s%zu: %s %s%s%s%s", i ? ", " : " (", i + 1, dur, v->passed ? "passed" : "failed",
			      v->passed ? "" : " (", v->passed ? "" : crit, v->passed ? "" : ")");
	}
	pb_buf_puts(b, in->nvalidations ? ")\n" : "\n");
	if (!m->deploys) {
		pb_buf_puts(b, "- Deployment time: not deployed\n");
	} else {
		pb_lessons_duration(m->deploy_total_s, dur, sizeof(dur));
		pb_buf_printf(b, "- Deployment time: %s over %d deploy%s", dur, m->deploys, m->deploys == 1 ? "" : "s");
		for (size_t i = 0; i < in->ndeployments; i++) {
			const pb_deployment *d = &in->deployments[i];

			pb_lessons_duration(deploy_seconds(in, d), dur, sizeof(dur));
			pb_buf_printf(b, "%s%zu: %s %s in %s", i ? ", " : " (", i + 1, d->image, d->status, dur);
		}
		pb_buf_puts(b, ")\n");
	}
}

static void observation_section(const pb_lessons_input *in, const pb_lessons_metrics *m,
				const pb_obs_stored_verdict *v, pb_buf *b)
{
	char date[16];

	pb_buf_puts(b, "\n## Observation\n");
	if (!m->expected) {
		pb_buf_puts(b, "- Not observed yet\n");
		return;
	}
	pb_buf_printf(b, "- Uptime: %.2f %% of %u scheduled checks over %zu day%s (UNKNOWN counted as down; target %g %%)\n",
		      m->uptime_pct, m->expected, in->ndays, in->ndays == 1 ? "" : "s", in->uptime_target);
	if (v->override)
		pb_buf_printf(b, "- Verdict: %s, completed by an admin override\n", v->override_of);
	else if (v->found)
		pb_buf_printf(b, "- Verdict: %s (uptime %.2f %%, coverage %.2f %%)\n", pb_verdict_name(v->kind), v->uptime_pct,
			      v->coverage_pct);
	else
		pb_buf_puts(b, "- Verdict: not decided yet\n");
	pb_buf_printf(b, "- Outages: %u\n", m->outages);
	pb_buf_puts(b, "- p95 trend:");
	for (size_t i = 0; i < in->ndays; i++) {
		if (in->days[i].p95_ms >= 0)
			pb_buf_printf(b, "%s Day %d %.0f ms", i ? " →" : "", in->days[i].day_index, in->days[i].p95_ms);
		else
			pb_buf_printf(b, "%s Day %d –", i ? " →" : "", in->days[i].day_index);
	}
	pb_buf_puts(b, "\n\n| Day | Date | Uptime | p95 | Outages | Restarts |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < in->ndays; i++) {
		const pb_obs_rollup *d = &in->days[i];

		ymd(d->day, date, sizeof(date));
		pb_buf_printf(b, "| %d | %s | ", d->day_index, date);
		if (d->expected)
			pb_buf_printf(b, "%.2f %%", 100.0 * d->up / d->expected);
		else
			pb_buf_puts(b, "–");
		if (d->p95_ms >= 0)
			pb_buf_printf(b, " | %.0f ms", d->p95_ms);
		else
			pb_buf_puts(b, " | –");
		pb_buf_printf(b, " | %u | %u |\n", d->outages, d->restarts);
	}
}

int pb_lessons_render(const pb_lessons_input *in, pb_buf *out)
{
	const pb_promotion *p = in->p;
	pb_obs_stored_verdict v;
	pb_lessons_metrics m;

	pb_lessons_compute(in, &m);
	pb_obs_stored_verdict_read(in->events, in->nevents, &v);
	pb_buf_printf(out, "# %s Promotion - Lessons Learned\n\n", in->component_name);
	pb_buf_printf(out, "**Date**: %s\n**Component**: %s\n**Promotion**: %s → %s (", in->date, in->component_name,
		      pb_stage_title((pb_stage)p->from_stage), pb_stage_title((pb_stage)p->target_stage));
	if (p->issue_number > 0)
		pb_buf_printf(out, "Issue #%lld, ", (long long)p->issue_number);
	pb_buf_printf(out, "Promotion #%lld, %s)\n", (long long)p->id, pb_state_name(p->state));
	went_well(in, &m, &v, out);
	could_improve(in, &m, &v, out);
	blockers_section(in, out);
	pb_buf_puts(out, "\n## Process Improvements\n- [List suggested process improvements]\n");
	pb_buf_puts(out, "\n## Recommendations for Future Promotions\n- [List recommendations]\n");
	metrics_section(in, &m, out);
	observation_section(in, &m, &v, out);
	return out->oom ? -ENOMEM : 0;
}

/* obs_verdict.c — the observation's verdict against the success criteria (uptime with UNKNOWN as down, logs, OOMs, blockers, coverage). */
#include "pb_obs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_err.h"
#include "pb_stats.h"

const char *pb_verdict_name(pb_verdict_kind v)
{
	return v == PB_VERDICT_PASS ? "PASS" : v == PB_VERDICT_FAIL ? "FAIL" : "INCONCLUSIVE";
}

static void reason(pb_obs_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends "; "-separated reasons, truncating at the buffer's end. */
static void reason(pb_obs_verdict *v, const char *fmt, ...)
{
	size_t len = strlen(v->reasons);
	va_list ap;

	if (len && len + 2 < sizeof(v->reasons)) {
		memcpy(v->reasons + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof(v->reasons))
		return;
	va_start(ap, fmt);
	vsnprintf(v->reasons + len, sizeof(v->reasons) - len, fmt, ap);
	va_end(ap);
}

static void count(pb_obs_verdict *v, const pb_sample *samples, size_t n, int64_t start, int64_t end, int32_t *lat,
		  size_t *nlat)
{
	bool down = false;

	for (size_t i = 0; i < n; i++) {
		const pb_sample *s = &samples[i];

		if (s->slot < start || s->slot >= end)
			continue;
		if (s->state == PB_SAMPLE_UP) {
			v->up++;
			down = false;
			if (s->latency_us >= 0)
				lat[(*nlat)++] = s->latency_us;
		} else if (s->state == PB_SAMPLE_DOWN) {
			v->down++;
			v->outages += !down;
			down = true;
		}
		v->log_critical += s->log_critical;
		v->ooms += pb_sample_ooms(s);
		v->restarts += pb_sample_restarts(s);
	}
}

/* Hard failures: FAIL whatever the coverage. */
static bool hard_failures(pb_obs_verdict *v, double uptime_target)
{
	double known = v->up + v->down ? 100.0 * v->up / (v->up + v->down) : 100;
	bool failed = false;

	if (known < uptime_target) {
		reason(v, "uptime %.2f%% of the checks with a result < %.1f%%", known, uptime_target);
		failed = true;
	}
	if (v->log_critical) {
		reason(v, "%u critical log entries", v->log_critical);
		failed = true;
	}
	if (v->ooms) {
		reason(v, "%u OOM kill(s)", v->ooms);
		failed = true;
	}
	if (v->open_critical_blockers) {
		reason(v, "%d open critical blocker(s)", v->open_critical_blockers);
		failed = true;
	}
	return failed;
}

int pb_obs_verdict_compute(const pb_obs_grid *g, int64_t start, int64_t end, const pb_sample *samples, size_t n,
			   double uptime_target, double min_coverage, int open_critical_blockers, pb_obs_verdict *out)
{
	int32_t *lat = malloc((n ? n : 1) * sizeof(*lat));
	size_t nlat = 0;

	if (!lat)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->open_critical_blockers = open_critical_blockers;
	out->expected = pb_obs_expected(g, start, end);
	count(out, samples, n, start, end, lat, &nlat);
	if (out->expected < out->up + out->down)
		out->expected = out->up + out->down;
	out->unknown = out->expected - out->up - out->down;
	out->uptime_pct = out->expected ? 100.0 * out->up / out->expected : 0;
	out->coverage_pct = out->expected ? 100.0 * (out->up + out->down) / out->expected : 0;
	pb_stats_sort_i32(lat, nlat);
	out->p95_ms = nlat ? pb_stats_rank_i32(lat, nlat, 95) / 1000.0 : -1;
	free(lat);
	if (hard_failures(out, uptime_target))
		out->kind = PB_VERDICT_FAIL;
	else if (!out->expected || out->coverage_pct < min_coverage) {
		out->kind = PB_VERDICT_INCONCLUSIVE;
		reason(out, "coverage %.2f%% < %.1f%% (too many checks without a result)", out->coverage_pct, min_coverage);
	} else if (out->uptime_pct < uptime_target) {
		out->kind = PB_VERDICT_FAIL;
		reason(out, "uptime %.2f%% < %.1f%% (UNKNOWN counted as down)", out->uptime_pct, uptime_target);
	} else {
		out->kind = PB_VERDICT_PASS;
	}
	return 0;
}

void pb_obs_verdict_summary(const pb_obs_verdict *v, char *out, size_t size)
{
	snprintf(out, size, "%s: uptime %.2f%%, coverage %.2f%%%s%s", pb_verdict_name(v->kind), v->uptime_pct,
		 v->coverage_pct, v->reasons[0] ? "; " : "", v->reasons);
}

int pb_obs_verdict_summary_parse(const char *s, pb_verdict_kind *kind, double *uptime_pct, double *coverage_pct)
{
	static const pb_verdict_kind kinds[] = { PB_VERDICT_PASS, PB_VERDICT_FAIL, PB_VERDICT_INCONCLUSIVE };
	double up, cov;
	int used = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *name = pb_verdict_name(kinds[i]);
		size_t n = strlen(name);

		if (strncmp(s, name, n) || s[n] != ':')
			continue;
		if (sscanf(s + n, ": uptime %lf%%, coverage %lf%%%n", &up, &cov, &used) != 2 || !used)
			return PB_E_INVALID;
		if (!(up >= 0 && up <= 100) || !(cov >= 0 && cov <= 100)) /* NaN fails too */
			return PB_E_INVALID;
		*kind = kinds[i];
		*uptime_pct = up;
		*coverage_pct = cov;
		return 0;
	}
	return PB_E_INVALID;
}

void pb_obs_stored_verdict_read(const pb_event *events, size_t n, pb_obs_stored_verdict *out)
{
	const pb_event *verdict = NULL, *done = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(events[i].kind, "observation.verdict") && (!verdict || events[i].at >= verdict->at))
			verdict = &events[i];
		else if (!strcmp(events[i].kind, "state") && !strcmp(events[i].to_state, "completed"))
			done = &events[i];
	}
	if (done && !strncmp(done->detail, "override of ", 12)) {
		out->override = true;
		snprintf(out->override_of, sizeof(out->override_of), "%.*s", (int)strcspn(done->detail + 12, " ("),
			 done->detail + 12);
	}
	if (done && !strncmp(done->detail, "observation ", 12) &&
	    pb_obs_verdict_summary_parse(done->detail + 12, &out->kind, &out->uptime_pct, &out->coverage_pct) == 0) {
		out->found = true;
		return;
	}
	if (verdict && pb_obs_verdict_summary_parse(verdict->detail, &out->kind, &out->uptime_pct, &out->coverage_pct) == 0)
		out->found = true;
}

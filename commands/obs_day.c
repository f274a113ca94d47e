/* obs_day.c — one local day of an observation from its samples: uptime with UNKNOWN, exact percentiles, outages, hours, the report text. */
#include "pb_obs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_stats.h"

static int64_t ceil_div(int64_t a, int64_t b)
{
	return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

uint32_t pb_obs_expected(const pb_obs_grid *g, int64_t start, int64_t end)
{
	int64_t a = start > g->first_slot ? start : g->first_slot;
	int64_t b = end < g->until ? end : g->until;

	if (a >= b || g->interval_s <= 0)
		return 0;
	return (uint32_t)(ceil_div(b - g->first_slot, g->interval_s) - ceil_div(a - g->first_slot, g->interval_s));
}

static double pct(uint32_t part, uint32_t whole)
{
	return whole ? 100.0 * part / whole : -1;
}

/* Accumulates what one sample says about the day. */
typedef struct day_acc {
	double cpu_sum, mem_sum;
	uint32_t nstats;
	uint32_t hour_up[PB_OBS_MAX_HOURS];
	size_t hour_lat_from[PB_OBS_MAX_HOURS + 1];  /* latency index where each hour starts */
	bool in_outage;
} day_acc;

static void add_outage(pb_obs_day *d, day_acc *acc, const pb_sample *s)
{
	acc->in_outage = true;
	if (d->noutages < PB_OBS_MAX_OUTAGES)
		d->outages[d->noutages++] = (pb_obs_outage){ .start = s->slot, .end = 0, .cls = s->cls };
	d->outages_total++;
}

static void end_outage(pb_obs_day *d, day_acc *acc, int64_t slot)
{
	acc->in_outage = false;
	if (d->noutages && d->outages_total == d->noutages)
		d->outages[d->noutages - 1].end = slot;
}

static void add_sample(pb_obs_day *d, day_acc *acc, const pb_sample *s, int32_t *lat, int hour)
{
	if (s->state == PB_SAMPLE_UP) {
		d->up++;
		acc->hour_up[hour]++;
		if (s->latency_us >= 0)
			lat[d->probes_ok++] = s->latency_us;
		if (acc->in_outage)
			end_outage(d, acc, s->slot);
	} else if (s->state == PB_SAMPLE_DOWN) {
		d->down++;
		d->timeouts += s->cls == PB_CHK_TIMEOUT;
		if (!acc->in_outage)
			add_outage(d, acc, s);
	}
	d->log_critical += s->log_critical;
	d->log_warning += s->log_warning;
	d->ooms += pb_sample_ooms(s);
	d->restarts += pb_sample_restarts(s);
	/* a healthcheck that failed and recovered between two checks: only the engine's event saw it */
	d->unhealthy_between += (s->flags & PB_SAMPLE_F_UNHEALTHY) && s->state == PB_SAMPLE_UP;
	if ((s->flags & PB_SAMPLE_F_STATS) && s->cpu_dpct >= 0 && s->mem_kb >= 0) {
		double cpu = s->cpu_dpct / 10.0, mem = s->mem_kb / 1024.0;

		acc->cpu_sum += cpu;
		acc->mem_sum += mem;
		acc->nstats++;
		if (cpu > d->cpu_peak)
			d->cpu_peak = cpu;
		if (mem > d->mem_peak_mb)
			d->mem_peak_mb = mem;
	}
}

static double rank_ms(const int32_t *sorted, size_t n, double p)
{
	return n ? pb_stats_rank_i32(sorted, n, p) / 1000.0 : -1;
}

/* Per-hour uptime and p95 (each hour's latencies are a contiguous run: samples come sorted). */
static void finish_hours(pb_obs_day *d, const pb_obs_grid *g, day_acc *acc, int32_t *lat)
{
	for (int h = 0; h < d->nhours; h++) {
		int64_t hs = d->start + (int64_t)h * 3600, he = h == d->nhours - 1 ? d->end : hs + 3600;
		uint32_t exp = pb_obs_expected(g, hs, he);
		size_t from = acc->hour_lat_from[h], to = acc->hour_lat_from[h + 1];

		if (exp < acc->hour_up[h])
			exp = acc->hour_up[h];
		d->hour_uptime[h] = pct(acc->hour_up[h], exp);
		pb_stats_sort_i32(lat + from, to - from);
		d->hour_p95[h] = rank_ms(lat + from, to - from, 95);
	}
}

static void day_init(pb_obs_day *d, const pb_tz *tz, int64_t day, int64_t first_day, const pb_obs_grid *g)
{
	memset(d, 0, sizeof(*d));
	d->day = day;
	pb_civil_from_days(day, &d->year, &d->month, &d->day_of_month);
	d->day_index = (int)(day - first_day + 1);
	d->start = pb_tz_day_start(tz, day);
	d->end = pb_tz_day_start(tz, day + 1);
	d->partial = g->first_slot > d->start || g->until < d->end;
	d->observed_from = g->first_slot > d->start ? g->first_slot : d->start;
	d->observed_until = g->until < d->end ? g->until : d->end;
	d->nhours = (int)((d->end - d->start + 1800) / 3600);
	if (d->nhours < 1)
		d->nhours = 1;
	if (d->nhours > PB_OBS_MAX_HOURS)
		d->nhours = PB_OBS_MAX_HOURS;
	d->expected = pb_obs_expected(g, d->start, d->end);
	d->cpu_avg = d->cpu_peak = d->mem_avg_mb = d->mem_peak_mb = -1;
}

int pb_obs_day_compute(const pb_tz *tz, int64_t day, int64_t first_day, const pb_obs_grid *g,
		       const pb_sample *samples, size_t n, pb_obs_day *out)
{
	int32_t *lat = malloc((n ? n : 1) * sizeof(*lat));
	day_acc acc;
	int hour = 0;

	if (!lat)
		return -ENOMEM;
	day_init(out, tz, day, first_day, g);
	memset(&acc, 0, sizeof(acc));
	out->cpu_peak = out->mem_peak_mb = 0;
	for (size_t i = 0; i < n; i++) {
		const pb_sample *s = &samples[i];

		if (s->slot < out->start || s->slot >= out->end)
			continue;
		while (hour + 1 < out->nhours && s->slot >= out->start + (int64_t)(hour + 1) * 3600)
			acc.hour_lat_from[++hour] = out->probes_ok;
		add_sample(out, &acc, s, lat, hour);
	}
	while (hour < out->nhours)
		acc.hour_lat_from[++hour] = out->probes_ok;
	if (out->expected < out->up + out->down)
		out->expected = out->up + out->down;
	out->unknown = out->expected - out->up - out->down;
	out->uptime_pct = pct(out->up, out->expected);
	out->coverage_pct = pct(out->up + out->down, out->expected);
	finish_hours(out, g, &acc, lat);
	pb_stats_sort_i32(lat, out->probes_ok);
	out->p50_ms = rank_ms(lat, out->probes_ok, 50);
	out->p95_ms = rank_ms(lat, out->probes_ok, 95);
	out->p99_ms = rank_ms(lat, out->probes_ok, 99);
	if (acc.nstats) {
		out->cpu_avg = acc.cpu_sum / acc.nstats;
		out->mem_avg_mb = acc.mem_sum / acc.nstats;
	} else {
		out->cpu_peak = out->mem_peak_mb = -1;
	}
	free(lat);
	return 0;
}

/* ---- the report text ---- */

static void hhmm(const pb_tz *tz, int64_t t, char *out, size_t size)
{
	pb_civil c;

	pb_tz_local(tz, t, &c);
	snprintf(out, size, "%02d:%02d", c.hour, c.min);
}

/* Milliseconds as the template writes them: integer, one decimal below 10 ms, "n/a" when unknown. */
static void fmt_ms(double ms, char *out, size_t size)
{
	if (ms < 0)
		snprintf(out, size, "n/a");
	else if (ms < 10)
		snprintf(out, size, "%.1fms", ms);
	else
		snprintf(out, size, "%.0fms", ms);
}

/* Uptime rounded DOWN to a tenth: 99.96 % of a day is not "100.0%". */
static void fmt_uptime(double u, char *out, size_t size)
{
	if (u < 0)
		snprintf(out, size, "n/a");
	else
		snprintf(out, size, "%.1f%%", floor(u * 10 + 1e-9) / 10);
}

static void list_sep(pb_buf *b, bool *first)
{
	pb_buf_puts(b, *first ? "" : "; ");
	*first = false;
}

static void render_issues(const pb_tz *tz, const pb_obs_day *d, const pb_obs_notes *notes, pb_buf *out)
{
	bool first = true;
	char a[16], b[16];

	pb_buf_puts(out, "**Issues**: ");
	for (size_t i = 0; i < d->noutages; i++) {
		list_sep(out, &first);
		hhmm(tz, d->outages[i].start, a, sizeof(a));
		if (d->outages[i].end)
			hhmm(tz, d->outages[i].end, b, sizeof(b));
		pb_buf_printf(out, "outage %s–%s (%s)", a, d->outages[i].end ? b : "still down at day end",
			      pb_check_class_name((pb_check_class)d->outages[i].cls));
	}
	if (d->outages_total > d->noutages) {
		list_sep(out, &first);
		pb_buf_printf(out, "%zu more outages", d->outages_total - d->noutages);
	}
	if (d->restarts) {
		list_sep(out, &first);
		pb_buf_printf(out, "%u restart(s)", d->restarts);
	}
	if (d->ooms) {
		list_sep(out, &first);
		pb_buf_printf(out, "%u OOM kill(s)", d->ooms);
	}
	if (d->unhealthy_between) {
		list_sep(out, &first);
		pb_buf_printf(out, "unhealthy between checks %u time(s)", d->unhealthy_between);
	}
	for (size_t i = 0; notes && i < notes->nblockers; i++) {
		const pb_blocker *bl = &notes->blockers[i];

		if (bl->opened_at < d->start || bl->opened_at >= d->end)
			continue;
		list_sep(out, &first);
		pb_buf_printf(out, "blocker #%lld [%s] opened: %s", (long long)bl->id, pb_severity_name(bl->severity),
			      bl->text);
	}
	pb_buf_puts(out, first ? "None\n" : "\n");
}

static bool is_action(const pb_event *ev)
{
	static const char *const kinds[] = { "rollback", "deploy", "redeploy", "blocker.resolved", "override" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(ev->kind, kinds[i]))
			return true;
	return !strcmp(ev->kind, "state") && !strcmp(ev->to_state, "rolled_back");
}

static void render_actions(const pb_tz *tz, const pb_obs_day *d, const pb_obs_notes *notes, pb_buf *out)
{
	bool first = true;
	char at[16];

	pb_buf_puts(out, "**Actions Taken**: ");
	for (size_t i = 0; notes && i < notes->nevents; i++) {
		const pb_event *ev = &notes->events[i];

		if (ev->at < d->start || ev->at >= d->end || !is_action(ev))
			continue;
		list_sep(out, &first);
		hhmm(tz, ev->at, at, sizeof(at));
		pb_buf_printf(out, "%s %s by %s%s%s", at, ev->kind, ev->actor, ev->detail[0] ? ": " : "", ev->detail);
	}
	pb_buf_puts(out, first ? "None\n" : "\n");
}

static void render_extras(const pb_tz *tz, const pb_obs_day *d, bool late, pb_buf *out)
{
	char spark[PB_OBS_MAX_HOURS * 4], up[16], ms[16], at[16];
	double maxp95 = 0;

	fmt_uptime(d->coverage_pct, up, sizeof(up));
	pb_buf_printf(out, "\n**Coverage**: %s of %u scheduled checks had a result (%u UNKNOWN, counted as down)\n", up,
		      d->expected, d->unknown);
	if (d->timeouts)
		pb_buf_printf(out, "**Timeouts**: %u (not in the percentiles)\n", d->timeouts);
	if (d->cpu_avg >= 0)
		pb_buf_printf(out, "**CPU**: avg %.0f%%, peak %.0f%% · **Memory**: avg %.0fMB, peak %.0fMB\n", d->cpu_avg,
			      d->cpu_peak, d->mem_avg_mb, d->mem_peak_mb);
	pb_stats_sparkline(d->hour_uptime, (size_t)d->nhours, 90, 100, spark, sizeof(spark));
	pb_buf_printf(out, "**Uptime by hour** (90–100%%): %s\n", spark);
	for (int h = 0; h < d->nhours; h++)
		if (d->hour_p95[h] > maxp95)
			maxp95 = d->hour_p95[h];
	pb_stats_sparkline(d->hour_p95, (size_t)d->nhours, 0, maxp95, spark, sizeof(spark));
	fmt_ms(maxp95 > 0 ? maxp95 : -1, ms, sizeof(ms));
	pb_buf_printf(out, "**p95 by hour**: %s (max %s)\n", spark, ms);
	if (d->partial) {
		bool began = d->observed_from > d->start;

		hhmm(tz, began ? d->observed_from : d->observed_until, at, sizeof(at));
		pb_buf_printf(out, "_(partial day: observation %s %s)_\n", began ? "began" : "covered until", at);
	}
	if (late)
		pb_buf_puts(out, "_(posted late: the bot was not running when this report was due)_\n");
}

int pb_obs_day_render(const pb_tz *tz, const pb_obs_day *d, const pb_obs_notes *notes, bool late, pb_buf *out)
{
	char up[16], p50[16], p95[16], p99[16], cpu[16], mem[16];

	fmt_uptime(d->uptime_pct, up, sizeof(up));
	fmt_ms(d->p50_ms, p50, sizeof(p50));
	fmt_ms(d->p95_ms, p95, sizeof(p95));
	fmt_ms(d->p99_ms, p99, sizeof(p99));
	if (d->cpu_avg >= 0) {
		snprintf(cpu, sizeof(cpu), "%.0f%%", d->cpu_avg);
		snprintf(mem, sizeof(mem), "%.0fMB", d->mem_avg_mb);
	} else {
		snprintf(cpu, sizeof(cpu), "n/a");
		snprintf(mem, sizeof(mem), "n/a");
	}
	pb_buf_printf(out, "## Day %d Monitoring Report\n\n", d->day_index);
	pb_buf_printf(out, "**Date**: %04d-%02d-%02d\n", d->year, d->month, d->day_of_month);
	pb_buf_printf(out, "**Uptime**: %s\n", up);
	pb_buf_printf(out, "**Errors**: %u critical, %u warnings\n", d->log_critical, d->log_warning);
	pb_buf_printf(out, "**Performance**: p50: %s, p95: %s, p99: %s\n", p50, p95, p99);
	pb_buf_printf(out, "**Resource Usage**: CPU: %s, Memory: %s\n", cpu, mem);
	render_issues(tz, d, notes, out);
	render_actions(tz, d, notes, out);
	render_extras(tz, d, late, out);
	return out->oom ? -ENOMEM : 0;
}

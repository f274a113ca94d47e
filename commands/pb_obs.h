/* pb_obs.h — observation figures from samples: a local day's statistics, the daily report text, the verdict. */
#ifndef PB_OBS_H
#define PB_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_store.h"
#include "pb_str.h"
#include "pb_tz.h"

/*
 * Pure functions (no storage, no clock): the scheduler reads samples and
 * audit events, these turn them into figures and text, so the arithmetic is
 * tested and benchmarked on its own.
 *
 * Slots. An observation's scheduled slots are first_slot + k * interval_s
 * (k >= 0). The slots EXPECTED in a window [start, end) are those with
 * start <= slot < end and slot < until (until = "now" or the end of the
 * observation period: future slots are not expected yet). Every expected
 * slot without an UP or DOWN sample — no row, or a row in state UNKNOWN
 * (skipped, engine unreachable) — is UNKNOWN. Uptime = UP / expected
 * (UNKNOWN counts as not up); coverage = (UP + DOWN) / expected.
 * Samples not on the grid (an interval changed) still count as UP/DOWN,
 * and expected is never less than UP + DOWN.
 */
typedef struct pb_obs_grid {
	int64_t first_slot;      /* the first scheduled check (observing_since) */
	int interval_s;          /* > 0 */
	int64_t until;           /* slots at or after this are not expected yet */
} pb_obs_grid;

/* Expected slots of the grid in [start, end). */
uint32_t pb_obs_expected(const pb_obs_grid *g, int64_t start, int64_t end);

#define PB_OBS_MAX_OUTAGES 16
#define PB_OBS_MAX_HOURS 25

/* A run of consecutive DOWN samples (UNKNOWN slots inside do not end it). */
typedef struct pb_obs_outage {
	int64_t start;           /* slot of the first DOWN */
	int64_t end;             /* slot of the first UP after it; 0 = still down at the window's end */
	uint8_t cls;             /* pb_check_class of the first DOWN */
} pb_obs_outage;

typedef struct pb_obs_day {
	int64_t day;             /* civil day number (pb_tz) */
	int year, month, day_of_month;
	int day_index;           /* 1 = the first local day the promotion observed */
	int64_t start, end;      /* [start, end): the local day, 23, 24 or 25 hours */
	bool partial;            /* observation began or ended inside the day */
	int64_t observed_from;   /* max(start, first slot) */
	int64_t observed_until;  /* min(end, until) */
	uint32_t expected, up, down, unknown;
	double uptime_pct;       /* 100 * up / expected; -1 when expected == 0 */
	double coverage_pct;     /* 100 * (up + down) / expected; -1 when expected == 0 */
	uint32_t probes_ok;      /* UP samples with a latency (the percentile population) */
	uint32_t timeouts;       /* DOWN samples of class timeout: not in the percentiles */
	double p50_ms, p95_ms, p99_ms;  /* nearest rank over UP latencies; -1 when none */
	uint32_t log_critical, log_warning, ooms, restarts;
	uint32_t unhealthy_between;     /* checks that were UP although the engine said unhealthy since the last one */
	double cpu_avg, cpu_peak;       /* percent; -1 when never measured */
	double mem_avg_mb, mem_peak_mb; /* MiB; -1 when never measured */
	pb_obs_outage outages[PB_OBS_MAX_OUTAGES];
	size_t noutages;                /* kept (at most PB_OBS_MAX_OUTAGES) */
	size_t outages_total;           /* all of them */
	int nhours;                     /* local hours in the day: 23, 24 or 25 */
	double hour_uptime[PB_OBS_MAX_HOURS]; /* percent per local hour; -1 when no slot was expected */
	double hour_p95[PB_OBS_MAX_HOURS];    /* ms per local hour; -1 when no UP latency */
} pb_obs_day;

/*
 * Figures of local day `day` (civil day number in tz). `samples` are the
 * promotion's samples sorted by slot (any range: those outside the day are
 * ignored). `first_day` is the civil day of the first slot (Day 1).
 * Allocates only a scratch array for the latencies. 0, or -ENOMEM.
 */
int pb_obs_day_compute(const pb_tz *tz, int64_t day, int64_t first_day, const pb_obs_grid *g,
		       const pb_sample *samples, size_t n, pb_obs_day *out);

/*
 * What else the report lists, from the audit trail: `events` of the
 * promotion (any order; those outside [d->start, d->end) are ignored) and
 * the component's blockers. Issues: outages with start/end (local HH:MM),
 * restarts, OOMs, blockers opened that day. Actions taken: rollbacks,
 * redeploys, deploys, blockers resolved that day, admin overrides.
 */
typedef struct pb_obs_notes {
	const pb_event *events;
	size_t nevents;
	const pb_blocker *blockers;
	size_t nblockers;
} pb_obs_notes;

/*
 * The daily report in the guide's exact template (the seven lines from
 * "## Day X Monitoring Report" to "**Actions Taken**"), then: coverage and
 * UNKNOWN share, timeouts, CPU/memory average and peak, the hourly
 * sparklines of uptime and p95, "(partial day)" / "(posted late)" markers.
 * Figures are written as the template shows (XX.X% uptime, integer ms,
 * integer % and MB). Appends to out; 0 or -ENOMEM.
 */
int pb_obs_day_render(const pb_tz *tz, const pb_obs_day *d, const pb_obs_notes *notes, bool late,
		      pb_buf *out);

typedef enum { PB_VERDICT_PASS = 0, PB_VERDICT_FAIL, PB_VERDICT_INCONCLUSIVE } pb_verdict_kind;
const char *pb_verdict_name(pb_verdict_kind v);   /* "PASS", "FAIL", "INCONCLUSIVE" */

typedef struct pb_obs_verdict {
	pb_verdict_kind kind;
	uint32_t expected, up, down, unknown;
	double uptime_pct;       /* UNKNOWN counted as down */
	double coverage_pct;
	uint32_t log_critical, ooms, restarts;
	size_t outages;
	double p95_ms;           /* over the whole period, -1 when none */
	int open_critical_blockers;
	char reasons[512];       /* "uptime 99.1% < 99.5%; 2 critical log errors" — empty on PASS */
} pb_obs_verdict;

/*
 * The verdict over [start, end) against the success criteria: PASS needs
 * uptime >= uptime_target (UNKNOWN as down), no critical log entry, no OOM
 * and no open critical blocker; coverage below min_coverage gives
 * INCONCLUSIVE (never PASS) unless a criterion already FAILs. 0 or -ENOMEM.
 */
int pb_obs_verdict_compute(const pb_obs_grid *g, int64_t start, int64_t end, const pb_sample *samples,
			   size_t n, double uptime_target, double min_coverage, int open_critical_blockers,
			   pb_obs_verdict *out);

/*
 * The one-line summary stored with a verdict (the audit event of the verdict
 * and the completion's detail): "PASS: uptime 99.97%, coverage 100.00%"
 * followed by "; <reasons>" when there are any. Writer and reader live here
 * together so the staging → production criterion can read what was stored.
 */
void pb_obs_verdict_summary(const pb_obs_verdict *v, char *out, size_t size);
/* Reads kind, uptime and coverage back from a summary; 0, or PB_E_INVALID when s is not one. */
int pb_obs_verdict_summary_parse(const char *s, pb_verdict_kind *kind, double *uptime_pct, double *coverage_pct);

/* The verdict a promotion's audit trail holds (what was decided, read back without samples). */
typedef struct pb_obs_stored_verdict {
	bool found;              /* a verdict summary was recorded */
	bool override;           /* completed by an admin override instead of a PASS */
	pb_verdict_kind kind;
	double uptime_pct, coverage_pct;
	char override_of[16];    /* the kind the override overrode */
} pb_obs_stored_verdict;

/*
 * Reads `events` (one promotion's, any order): the completion's detail
 * ("observation <summary>" or "override of <KIND> (…)", written by complete)
 * wins over the observation.verdict event the scheduler recorded.
 */
void pb_obs_stored_verdict_read(const pb_event *events, size_t n, pb_obs_stored_verdict *out);

#endif

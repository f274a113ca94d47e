/* fuzz_lessons.c — the lessons-learned draft from stored-looking records: audit events (the verdict summaries
 * complete and the scheduler wrote), validation results JSON, blockers, deployments, daily rollups. */
#include <assert.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "pb_lessons.h"

typedef struct rd {
	const uint8_t *p;
	size_t n;
} rd;

static uint64_t take(rd *r, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes && r->n; i++, r->p++, r->n--)
		v = v << 8 | *r->p;
	return v;
}

/* A time as storage holds it: epoch seconds around now (2026), sometimes 0 (not yet). */
static int64_t when(rd *r)
{
	uint64_t v = take(r, 4);

	return v % 17 == 0 ? 0 : INT64_C(1765000000) + (int64_t)(v % 40000000) - 20000000;
}

/* A length byte then that many bytes: a stored text (NUL ends it early, as SQLite's text would). */
static void text(rd *r, char *out, size_t size)
{
	size_t len = (size_t)take(r, 1), i;

	for (i = 0; i < len && i + 1 < size && r->n; i++, r->p++, r->n--)
		out[i] = (char)*r->p;
	out[i] = '\0';
}

/* One of the stored spellings, or (choice ≥ n) a text from the input. */
static void pick(rd *r, const char *const *v, size_t n, char *out, size_t size)
{
	size_t c = (size_t)take(r, 1);

	if (c < n * 8)
		snprintf(out, size, "%s", v[c % n]);
	else
		text(r, out, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = { "requested", "state", "approved", "rejected", "blocker.opened",
					     "blocker.resolved", "validation", "deployed", "observation.verdict",
					     "rolled_back" };
	static const char *const states[] = { "requested", "validating", "in_review", "blocked", "approved",
					      "deploying", "observing", "completed", "failed", "rolled_back",
					      "cancelled", "" };
	static const char *const details[] = { "observation PASS: uptime 99.95%, coverage 100.00%",
					       "override of FAIL (uptime 97.10%)",
					       "INCONCLUSIVE: uptime 100.00%, coverage 85.71%; no samples on day 3",
					       "FAIL: uptime 12.50%, coverage 100.00%", "observation ", "override of " };
	static const char *const dstatus[] = { "running", "succeeded", "failed", "rolled_back" };
	static pb_event ev[8];
	static pb_validation va[4];
	static char vjson[4][512];
	static pb_blocker bl[4];
	static pb_deployment de[4];
	static pb_obs_rollup days[8];
	pb_promotion p;
	pb_lessons_input in;
	pb_lessons_metrics m;
	char dur[64];
	rd r = { data, size };
	pb_buf out;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	p.id = 3;
	snprintf(p.component, sizeof(p.component), "neo4j");
	p.from_stage = (int)(take(&r, 1) % 3);
	p.target_stage = p.from_stage + 1;
	p.state = (pb_state)(take(&r, 1) % PB_ST_COUNT);
	p.issue_number = (int64_t)(take(&r, 1) % 3);
	p.created_at = when(&r);
	p.updated_at = when(&r);
	p.observing_since = when(&r);
	in.p = &p;
	in.component_name = "Neo4j Graph Database";
	in.date = "2026-12-06";
	in.now = when(&r);
	in.observation_days = (int)(take(&r, 1) % 15);
	in.uptime_target = 90.0 + (double)(take(&r, 1) % 101) / 10.0;

	in.nevents = (size_t)(take(&r, 1) % 9);
	for (size_t i = 0; i < in.nevents; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		ev[i].promotion_id = 3;
		pick(&r, kinds, sizeof(kinds) / sizeof(kinds[0]), ev[i].kind, sizeof(ev[i].kind));
		pick(&r, states, sizeof(states) / sizeof(states[0]), ev[i].from_state, sizeof(ev[i].from_state));
		pick(&r, states, sizeof(states) / sizeof(states[0]), ev[i].to_state, sizeof(ev[i].to_state));
		pick(&r, details, sizeof(details) / sizeof(details[0]), ev[i].detail, sizeof(ev[i].detail));
		ev[i].at = when(&r);
	}
	in.events = ev;
	in.nvalidations = (size_t)(take(&r, 1) % 5);
	for (size_t i = 0; i < in.nvalidations; i++) {
		memset(&va[i], 0, sizeof(va[i]));
		va[i].passed = take(&r, 1) & 1;
		va[i].coverage = (double)(int)(take(&r, 2) % 1102) / 10.0 - 1.0;
		text(&r, vjson[i], sizeof(vjson[i]));
		va[i].result_json = vjson[i];
		va[i].started_at = when(&r);
		va[i].finished_at = when(&r);
	}
	in.validations = va;
	in.nblockers = (size_t)(take(&r, 1) % 5);
	for (size_t i = 0; i < in.nblockers; i++) {
		memset(&bl[i], 0, sizeof(bl[i]));
		bl[i].severity = (pb_severity)(take(&r, 1) % PB_SEV_COUNT);
		text(&r, bl[i].text, sizeof(bl[i].text));
		bl[i].opened_at = when(&r);
		bl[i].resolved_at = when(&r);
	}
	in.blockers = bl;
	in.ndeployments = (size_t)(take(&r, 1) % 5);
	for (size_t i = 0; i < in.ndeployments; i++) {
		memset(&de[i], 0, sizeof(de[i]));
		pick(&r, dstatus, sizeof(dstatus) / sizeof(dstatus[0]), de[i].status, sizeof(de[i].status));
		text(&r, de[i].detail, sizeof(de[i].detail));
		de[i].started_at = when(&r);
		de[i].finished_at = when(&r);
	}
	in.deployments = de;
	in.ndays = (size_t)(take(&r, 1) % 9);
	for (size_t i = 0; i < in.ndays; i++) {
		memset(&days[i], 0, sizeof(days[i]));
		days[i].day = 20428 + (int64_t)i;
		days[i].day_index = (int)i + 1;
		days[i].expected = (uint32_t)(take(&r, 2) % 1441);
		days[i].up = days[i].expected ? (uint32_t)(take(&r, 2) % (days[i].expected + 1)) : 0;
		days[i].down = days[i].expected - days[i].up;
		days[i].p50_ms = (double)take(&r, 2) / 4.0;
		days[i].p95_ms = days[i].p50_ms + (double)take(&r, 2);
		days[i].p99_ms = days[i].p95_ms + (double)take(&r, 1);
		days[i].outages = (uint32_t)take(&r, 1);
		days[i].ooms = (uint32_t)take(&r, 1) % 4;
		days[i].restarts = (uint32_t)take(&r, 1) % 4;
	}
	in.days = days;

	pb_lessons_compute(&in, &m);
	assert(m.uptime_pct == -1 || (m.uptime_pct >= 0 && m.uptime_pct <= 100));
	assert(m.blockers_resolved <= m.blockers);
	pb_buf_init(&out);
	if (pb_lessons_render(&in, &out) != 0)
		abort();
	assert(out.len > 0 && strlen(out.data) == out.len);
	pb_buf_deinit(&out);
	pb_lessons_duration(in.now - p.created_at, dur, sizeof(dur));
	assert(strlen(dur) < sizeof(dur));
	return 0;
}

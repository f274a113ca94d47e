/* test_lessons.c — the lessons-learned draft from crafted audit trails: failed validations, rollbacks, open blockers, in progress. */
#include <criterion/criterion.h>
#include <string.h>

#include "pb_lessons.h"

#define T0 1795597200LL /* 2026-11-25 09:00 UTC */
#define DAY 86400

static pb_event state_ev(const char *to, int64_t at, const char *detail)
{
	pb_event e;

	memset(&e, 0, sizeof(e));
	e.promotion_id = 4;
	strcpy(e.kind, "state");
	if (!strcmp(to, "observing"))
		strcpy(e.from_state, "deploying");
	strcpy(e.to_state, to);
	strcpy(e.detail, detail);
	e.at = at;
	return e;
}

static pb_validation run(bool passed, const char *json, int64_t start, int64_t secs)
{
	pb_validation v;

	memset(&v, 0, sizeof(v));
	v.passed = passed;
	v.result_json = (char *)json;
	v.started_at = start;
	v.finished_at = start + secs;
	return v;
}

#define EXPECT_IN(doc, needle) cr_expect(strstr(pb_buf_str(&(doc)), (needle)), "missing \"%s\" in:\n%s", (needle), \
					 pb_buf_str(&(doc)))

Test(lessons, a_rolled_back_promotion_with_failing_validations_and_an_open_blocker)
{
	pb_promotion p = { .id = 4, .component = "neo4j", .from_stage = 0, .target_stage = 1,
			   .state = PB_ST_ROLLED_BACK, .created_at = T0, .observing_since = T0 + 2 * DAY,
			   .issue_number = 17 };
	pb_event ev[] = { state_ev("validating", T0 + 60, ""), state_ev("observing", T0 + 2 * DAY, ""),
			  state_ev("rolled_back", T0 + 3 * DAY + 3600, "rolled back on demand") };
	pb_validation val[] = {
		run(false, "{\"criteria\":[{\"criterion\":\"lint\",\"state\":\"fail\"},{\"criterion\":\"tests\",\"state\":\"pass\"}]}",
		    T0 + 600, 300),
		run(false, "{\"criteria\":[{\"criterion\":\"lint\",\"state\":\"fail\"},{\"criterion\":\"types\",\"state\":\"fail\"}]}",
		    T0 + 7200, 420),
		run(true, "{\"criteria\":[]}", T0 + DAY, 3 * 3600),
	};
	pb_blocker bl[] = {
		{ .id = 7, .severity = PB_SEV_CRITICAL, .text = "disk full", .resolved_by = "bob", .opened_at = T0 + 100,
		  .resolved_at = T0 + 100 + DAY + DAY / 2 },
		{ .id = 8, .severity = PB_SEV_LOW, .text = "typo", .opened_at = T0 + 3 * DAY },
	};
	pb_deployment dep[] = { { .image = "neo4j:5.13", .status = "rolled_back", .started_at = T0 + 2 * DAY - 90,
				  .finished_at = T0 + 3 * DAY + 3600 } };
	pb_obs_rollup days[] = {
		{ .day_index = 1, .day = 20784, .expected = 90, .up = 90, .p95_ms = 4, .outages = 0 },
		{ .day_index = 2, .day = 20785, .expected = 144, .up = 140, .p95_ms = 7.4, .outages = 2 },
	};
	pb_lessons_input in = { .p = &p, .component_name = "Neo4j", .date = "2026-11-29", .now = T0 + 4 * DAY,
				.events = ev, .nevents = 3, .validations = val, .nvalidations = 3, .blockers = bl,
				.nblockers = 2, .deployments = dep, .ndeployments = 1, .days = days, .ndays = 2,
				.observation_days = 7, .uptime_target = 99.5 };
	pb_lessons_metrics m;
	pb_buf doc;

	pb_lessons_compute(&in, &m);
	cr_expect_eq(m.promotion_s, 3 * DAY + 3600, "ended at the rollback");
	cr_expect_eq(m.validation_total_s, 300 + 420 + 3 * 3600);
	cr_expect_eq(m.validation_failed_before_pass, 2);
	cr_expect_eq(m.blockers_resolved, 1);
	cr_expect_eq(m.rollbacks, 1);
	cr_expect_eq(m.expected, 234);
	cr_expect_eq(m.up, 230);
	pb_buf_init(&doc);
	cr_assert_eq(pb_lessons_render(&in, &doc), 0);
	EXPECT_IN(doc, "**Promotion**: Development → Staging (Issue #17, Promotion #4, rolled_back)\n");
	EXPECT_IN(doc, "- Validation failed twice (lint, types) before passing\n");
	EXPECT_IN(doc, "- Rolled back on day 2 of the observation\n");
	EXPECT_IN(doc, "- 2 outages during the observation (day 2: 2)\n");
	EXPECT_IN(doc, "- #7 [critical] disk full — resolved by bob after 36.0 hours; how: [how it was resolved]\n");
	EXPECT_IN(doc, "- #8 [low] typo — still open after 24.0 hours\n");
	EXPECT_IN(doc, "- Time to promotion: not promoted: rolled_back after 3.0 days\n");
	EXPECT_IN(doc, "- Blocker resolution time: 2 blockers, mean resolution 36.0 hours, 1 still open "
		       "(#7 36.0 hours, #8 24.0 hours so far)\n");
	EXPECT_IN(doc, "- Validation time: 3.2 hours over 3 runs (1: 5 min failed (lint), 2: 7 min failed (lint, types), "
		       "3: 3.0 hours passed)\n");
	EXPECT_IN(doc, "- Deployment time: 90 s over 1 deploy (1: neo4j:5.13 rolled_back in 90 s)\n");
	EXPECT_IN(doc, "- Uptime: 98.29 % of 234 scheduled checks over 2 days");
	EXPECT_IN(doc, "- p95 trend: Day 1 4 ms → Day 2 7 ms\n");
	EXPECT_IN(doc, "| 2 | 2026-11-28 | 97.22 % | 7 ms | 2 | 0 |\n");
	cr_expect_null(strstr(pb_buf_str(&doc), "Validation passed on the first run"), "%s", pb_buf_str(&doc));
	pb_buf_deinit(&doc);
}

Test(lessons, an_open_promotion_is_in_progress_and_not_observed_yet)
{
	pb_promotion p = { .id = 2, .component = "neo4j", .target_stage = 2, .from_stage = 1, .state = PB_ST_IN_REVIEW,
			   .created_at = T0 };
	pb_validation val[] = { run(true, "{}", T0 + 60, 45) };
	pb_lessons_input in = { .p = &p, .component_name = "Neo4j", .date = "2026-11-26", .now = T0 + DAY / 2,
				.validations = val, .nvalidations = 1, .observation_days = 7, .uptime_target = 99.5 };
	pb_buf doc;

	pb_buf_init(&doc);
	cr_assert_eq(pb_lessons_render(&in, &doc), 0);
	EXPECT_IN(doc, "- Time to promotion: in progress: 0.5 days so far (in_review)\n");
	EXPECT_IN(doc, "- Validation passed on the first run\n");
	EXPECT_IN(doc, "- No blockers were opened during the promotion\n");
	EXPECT_IN(doc, "- Blocker resolution time: no blockers\n");
	EXPECT_IN(doc, "- Validation time: 45 s over 1 run (1: 45 s passed)\n");
	EXPECT_IN(doc, "- Deployment time: not deployed\n");
	EXPECT_IN(doc, "## Observation\n- Not observed yet\n");
	pb_buf_deinit(&doc);
}

Test(lessons, durations_are_worded_by_size)
{
	char b[32];

	pb_lessons_duration(59, b, sizeof(b));
	cr_expect_str_eq(b, "59 s");
	pb_lessons_duration(150, b, sizeof(b));
	cr_expect_str_eq(b, "3 min");
	pb_lessons_duration(5400, b, sizeof(b));
	cr_expect_str_eq(b, "90 min");
	pb_lessons_duration(7200, b, sizeof(b));
	cr_expect_str_eq(b, "2.0 hours");
	pb_lessons_duration(3 * DAY, b, sizeof(b));
	cr_expect_str_eq(b, "3.0 days");
}

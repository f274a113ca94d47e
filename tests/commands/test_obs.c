/* test_obs.c — a day's figures and text from samples: UNKNOWN accounting, outages, hours on 23/25-hour days, the exact template. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pb_obs.h"

static pb_tz *tz;

static void load_berlin(void)
{
	cr_assert_eq(pb_tz_load("Europe/Berlin", &tz, NULL), 0);
}

static void free_tz(void)
{
	pb_tz_free(tz);
}

TestSuite(obs, .init = load_berlin, .fini = free_tz);

static pb_sample up(int64_t slot, int32_t us)
{
	return (pb_sample){ .slot = slot, .state = PB_SAMPLE_UP, .latency_us = us, .cpu_dpct = -1, .mem_kb = -1 };
}

static pb_sample down(int64_t slot, pb_check_class cls)
{
	return (pb_sample){ .slot = slot, .state = PB_SAMPLE_DOWN, .cls = (uint8_t)cls, .latency_us = -1,
			    .cpu_dpct = -1, .mem_kb = -1 };
}

Test(obs, expected_slots_follow_the_grid_and_stop_at_until)
{
	pb_obs_grid g = { .first_slot = 1000, .interval_s = 60, .until = 1000 + 3600 };

	cr_expect_eq(pb_obs_expected(&g, 0, 1000), 0, "before the first slot");
	cr_expect_eq(pb_obs_expected(&g, 1000, 1060), 1);
	cr_expect_eq(pb_obs_expected(&g, 1001, 1060), 0);
	cr_expect_eq(pb_obs_expected(&g, 0, 100000), 60, "until cuts the future off");
	cr_expect_eq(pb_obs_expected(&g, 1030, 1150), 2, "1060 and 1120");
}

/* 2026-12-01 in Berlin (CET): 2026-11-30 23:00 UTC … 2026-12-01 23:00 UTC. */
#define DEC1 (pb_civil_days(2026, 12, 1) * 86400 - 3600)

Test(obs, a_day_counts_unknown_as_not_up_and_keeps_exact_percentiles)
{
	int64_t day = pb_tz_day_of(tz, DEC1);
	pb_obs_grid g = { .first_slot = DEC1 - 86400, .interval_s = 60, .until = DEC1 + 2 * 86400 };
	pb_sample *s = calloc(1440, sizeof(*s));
	size_t n = 0;
	pb_obs_day d;

	for (int i = 0; i < 1440; i++) {
		int64_t slot = DEC1 + i * 60;

		if (i >= 600 && i < 610)
			continue;                                  /* the bot was down: 10 UNKNOWN */
		if (i >= 700 && i < 705)
			s[n++] = down(slot, PB_CHK_TIMEOUT);        /* one 5-minute outage */
		else if (i == 800)
			s[n++] = (pb_sample){ .slot = slot, .state = PB_SAMPLE_UNKNOWN, .cls = PB_CHK_SKIPPED,
					      .latency_us = -1, .cpu_dpct = -1, .mem_kb = -1 };
		else
			s[n++] = up(slot, 1000 * (1 + i % 100));    /* 1..100 ms, evenly */
	}
	cr_assert_eq(pb_obs_day_compute(tz, day, day - 1, &g, s, n, &d), 0);
	cr_expect_eq(d.day_index, 2);
	cr_expect(d.year == 2026 && d.month == 12 && d.day_of_month == 1);
	cr_expect_eq(d.expected, 1440);
	cr_expect_eq(d.down, 5);
	cr_expect_eq(d.unknown, 11, "10 missing slots and one skipped");
	cr_expect_eq(d.up, 1424);
	cr_expect_float_eq(d.uptime_pct, 100.0 * 1424 / 1440, 1e-9);
	cr_expect_float_eq(d.coverage_pct, 100.0 * 1429 / 1440, 1e-9);
	cr_expect_eq(d.timeouts, 5);
	cr_expect_eq(d.noutages, 1);
	cr_expect_eq(d.outages[0].start, DEC1 + 700 * 60);
	cr_expect_eq(d.outages[0].end, DEC1 + 705 * 60);
	cr_expect_eq(d.nhours, 24);
	cr_expect_float_eq(d.hour_uptime[10], 100.0 * 50 / 60, 1e-9, "10 of hour 10's slots had no result");
	cr_expect_float_eq(d.hour_uptime[0], 100, 1e-9);
	cr_expect_float_eq(d.p50_ms, 50, 1e-9, "nearest rank over 1424 evenly spread values");
	cr_expect_float_eq(d.p99_ms, 99, 1e-9);
	free(s);
}

Test(obs, outages_survive_unknown_gaps_and_a_day_ending_down)
{
	int64_t day = pb_tz_day_of(tz, DEC1);
	pb_obs_grid g = { .first_slot = DEC1, .interval_s = 60, .until = DEC1 + 86400 };
	pb_sample s[64];
	size_t n = 0;
	pb_obs_day d;

	s[n++] = up(DEC1, 1000);
	s[n++] = down(DEC1 + 60, PB_CHK_NOT_RUNNING);
	/* DEC1 + 120: no result — the outage goes on */
	s[n++] = down(DEC1 + 180, PB_CHK_NOT_RUNNING);
	s[n++] = up(DEC1 + 240, 1000);
	for (int i = 0; i < 20; i++) {   /* 20 short outages: 16 kept, all counted */
		s[n++] = down(DEC1 + 300 + i * 120, PB_CHK_PROBE_ERROR);
		s[n++] = up(DEC1 + 360 + i * 120, 1000);
	}
	s[n++] = down(DEC1 + 86340, PB_CHK_UNHEALTHY);
	cr_assert_eq(pb_obs_day_compute(tz, day, day, &g, s, n, &d), 0);
	cr_expect_eq(d.outages[0].start, DEC1 + 60);
	cr_expect_eq(d.outages[0].end, DEC1 + 240);
	cr_expect_eq(d.outages_total, 22);
	cr_expect_eq(d.noutages, PB_OBS_MAX_OUTAGES);
	cr_expect_eq(d.day_index, 1);
	cr_expect(!d.partial, "observed from 00:00 to the end");
}

Test(obs, hours_of_dst_days_and_partial_first_day)
{
	int64_t oct25 = pb_civil_days(2026, 10, 25), mar29 = pb_civil_days(2026, 3, 29);
	int64_t start = pb_tz_day_start(tz, oct25);
	pb_obs_grid g = { .first_slot = start + 5 * 3600 + 1800, .interval_s = 600, .until = start + 2 * 86400 };
	pb_obs_day d;

	cr_assert_eq(pb_obs_day_compute(tz, oct25, oct25, &g, NULL, 0, &d), 0);
	cr_expect_eq(d.nhours, 25);
	cr_expect_eq(d.end - d.start, 25 * 3600);
	cr_expect(d.partial);
	cr_expect_eq(d.expected, (25 * 3600 - 5 * 3600 - 1800) / 600);
	cr_expect_eq(d.uptime_pct, 0, "no sample at all: nothing was UP");
	cr_expect_float_eq(d.hour_uptime[0], -1, 1e-9, "no slot was expected before observation began");
	g.first_slot = pb_tz_day_start(tz, mar29);
	cr_assert_eq(pb_obs_day_compute(tz, mar29, mar29, &g, NULL, 0, &d), 0);
	cr_expect_eq(d.nhours, 23);
	cr_expect_eq(d.expected, 23 * 6);
}

Test(obs, the_report_is_the_guide_template_with_extras)
{
	int64_t day = pb_tz_day_of(tz, DEC1);
	pb_obs_grid g = { .first_slot = DEC1, .interval_s = 3600, .until = DEC1 + 86400 };
	pb_sample s[24];
	pb_event ev = { .kind = "rollback", .actor = "carol", .detail = "to neo4j:5.12", .at = DEC1 + 3 * 3600 };
	pb_blocker b = { .id = 4, .severity = PB_SEV_HIGH, .text = "slow writes", .opened_at = DEC1 + 3600 };
	pb_obs_notes notes = { .events = &ev, .nevents = 1, .blockers = &b, .nblockers = 1 };
	pb_obs_day d;
	pb_buf out;

	for (int i = 0; i < 24; i++) {
		s[i] = up(DEC1 + i * 3600, 4000 + i * 1000);
		s[i].flags = PB_SAMPLE_F_STATS;
		s[i].cpu_dpct = 120;
		s[i].mem_kb = 512 * 1024;
	}
	s[2] = down(DEC1 + 2 * 3600, PB_CHK_PROBE_ERROR);
	s[5].log_critical = 2;
	s[5].log_warning = 3;
	cr_assert_eq(pb_obs_day_compute(tz, day, day, &g, s, 24, &d), 0);
	pb_buf_init(&out);
	cr_assert_eq(pb_obs_day_render(tz, &d, &notes, true, &out), 0);
	cr_expect(strstr(pb_buf_str(&out), "## Day 1 Monitoring Report\n\n**Date**: 2026-12-01\n**Uptime**: 95.8%\n"
		      "**Errors**: 2 critical, 3 warnings\n"
		      "**Performance**: p50: 16ms, p95: 26ms, p99: 27ms\n"
		      "**Resource Usage**: CPU: 12%, Memory: 512MB\n"
		      "**Issues**: outage 02:00–03:00 (probe error); blocker #4 [high] opened: slow writes\n"
		      "**Actions Taken**: 03:00 rollback by carol: to neo4j:5.12\n"),
		  "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Coverage**: 100.0% of 24 scheduled checks had a result (0 UNKNOWN"), "%s",
		  pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Uptime by hour** (90–100%): ██▁█████"), "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "posted late"), "%s", pb_buf_str(&out));
	cr_expect_null(strstr(pb_buf_str(&out), "partial"), "%s", pb_buf_str(&out));
	pb_buf_deinit(&out);
}

/* Restarts and OOM kills seen between checks (counts from the engine's events), a flag-only old row, an unhealthy spell nobody saw DOWN. */
Test(obs, restarts_ooms_and_unhealthy_between_checks_are_issues)
{
	int64_t day = pb_tz_day_of(tz, DEC1);
	pb_obs_grid g = { .first_slot = DEC1, .interval_s = 3600, .until = DEC1 + 4 * 3600 };
	pb_sample s[4];
	pb_obs_day d;
	pb_buf out;

	for (int i = 0; i < 4; i++)
		s[i] = up(DEC1 + i * 3600, 4000);
	s[1] = down(DEC1 + 3600, PB_CHK_RESTARTED);
	s[1].restarts = 3;
	s[1].ooms = 2;
	s[1].flags = PB_SAMPLE_F_RESTART | PB_SAMPLE_F_OOM;
	s[2].flags = PB_SAMPLE_F_RESTART;        /* a row from before the counts: one */
	s[3].flags = PB_SAMPLE_F_UNHEALTHY;      /* UP, yet the engine said unhealthy since the last check */
	cr_assert_eq(pb_obs_day_compute(tz, day, day, &g, s, 4, &d), 0);
	cr_expect_eq(d.restarts, 4);
	cr_expect_eq(d.ooms, 2);
	cr_expect_eq(d.unhealthy_between, 1);
	pb_buf_init(&out);
	cr_assert_eq(pb_obs_day_render(tz, &d, NULL, false, &out), 0);
	cr_expect(strstr(pb_buf_str(&out), "**Issues**: outage 01:00–02:00 (container restarted); 4 restart(s); "
		      "2 OOM kill(s); unhealthy between checks 1 time(s)\n"), "%s", pb_buf_str(&out));
	pb_buf_deinit(&out);
}

Test(obs, an_empty_day_says_none_and_na)
{
	int64_t day = pb_tz_day_of(tz, DEC1);
	pb_obs_grid g = { .first_slot = DEC1 + 43200, .interval_s = 60, .until = DEC1 + 43200 };
	pb_obs_day d;
	pb_buf out;

	cr_assert_eq(pb_obs_day_compute(tz, day, day, &g, NULL, 0, &d), 0);
	pb_buf_init(&out);
	cr_assert_eq(pb_obs_day_render(tz, &d, NULL, false, &out), 0);
	cr_expect(strstr(pb_buf_str(&out), "**Uptime**: n/a\n"), "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Performance**: p50: n/a, p95: n/a, p99: n/a\n"), "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Resource Usage**: CPU: n/a, Memory: n/a\n"), "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Issues**: None\n**Actions Taken**: None\n"), "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "partial day: observation began 12:00"), "%s", pb_buf_str(&out));
	pb_buf_deinit(&out);
}

Test(obs, verdicts)
{
	pb_obs_grid g = { .first_slot = 0, .interval_s = 60, .until = 100 * 60 };
	pb_sample s[100];
	pb_obs_verdict v;

	for (int i = 0; i < 100; i++)
		s[i] = up(i * 60, 1000);
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 100, 99.0, 99.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_PASS);
	cr_expect_str_eq(v.reasons, "");
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 100, 99.0, 99.0, 1, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_FAIL, "an open critical blocker");
	s[50].flags = PB_SAMPLE_F_OOM;
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 100, 99.0, 99.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_FAIL);
	cr_expect(strstr(v.reasons, "1 OOM"), "%s", v.reasons);
	s[50].flags = 0;
	s[51].log_critical = 1;
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 100, 99.0, 99.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_FAIL);
	s[51].log_critical = 0;
	/* 2 of 100 slots without a result: coverage 98 % < 99 %: not a PASS, not a FAIL either */
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 98, 97.0, 99.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_INCONCLUSIVE, "%s", v.reasons);
	cr_expect_float_eq(v.uptime_pct, 98, 1e-9, "UNKNOWN counted as down");
	/* with full coverage required to be 90 %, 98 % uptime against a 99 % target fails */
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 98, 99.0, 90.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_FAIL);
	cr_expect(strstr(v.reasons, "UNKNOWN counted as down"), "%s", v.reasons);
	s[10] = down(600, PB_CHK_TIMEOUT);
	s[11] = down(660, PB_CHK_TIMEOUT);
	cr_assert_eq(pb_obs_verdict_compute(&g, 0, 6000, s, 100, 99.0, 99.0, 0, &v), 0);
	cr_expect_eq(v.kind, PB_VERDICT_FAIL, "98 %% of known checks UP");
	cr_expect_eq(v.outages, 1);
}

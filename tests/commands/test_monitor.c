/* test_monitor.c — the observation on a fake clock: alerts, skipped slots, restarts, reports once per local day, verdict, complete. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pb_monitor.h"
#include "pb_obs.h"
#include "pb_tz.h"

static th h;
static pb_monitor *mon;
static th_target tgt = { .fd = -1 };

static void teardown(void);

/* Monitoring section and policy for a test; the probe targets our socket. */
static void setup_with(const char *monitoring, const char *policy)
{
	char top[1024], staging[512];

	/* the suite's setup_default already ran for a test that calls this itself: release it first */
	if (h.store)
		teardown();
	tgt.port = 0;
	th_target_up(&tgt);
	snprintf(top, sizeof(top), "\"monitoring\": %s,", monitoring);
	snprintf(staging, sizeof(staging),
		 "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\","
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 500}}",
		 tgt.port);
	th_setup_ex(&h, policy, top, staging);
	h.svc.system_sink = &h.sink;
	cr_assert_eq(pb_monitor_new(h.cfg, &mon, NULL), 0);
}

#define MON_DEFAULT                                                                                 \
	"{\"interval_s\": 60, \"deadline_ms\": 500, \"fail_threshold\": 2, \"success_threshold\": 2," \
	" \"remind_every_min\": 5, \"mention\": \"@oncall\", \"timezone\": \"Europe/Berlin\", \"report_time\": \"09:00\"}"

static void setup_default(void)
{
	setup_with(MON_DEFAULT, "{\"observation_days\": 7}");
}

static void teardown(void)
{
	/*
	 * Criterion runs a test's own .fini AND the suite's (and the suite's
	 * .init before the test's): tests that set up with setup_with() name
	 * teardown in both, so the second call finds everything released (it
	 * used to close the store twice).
	 */
	if (!h.store)
		return;
	pb_monitor_free(mon);
	mon = NULL;
	th_target_down(&tgt);
	th_teardown(&h);
	memset(&h, 0, sizeof(h));
}

TestSuite(monitor, .init = setup_default, .fini = teardown);

/* A promotion of neo4j in observing since the harness clock's now. */
static int64_t observe(void)
{
	return th_walk_to(&h, "neo4j", PB_ST_OBSERVING);
}

/* Accepted but never run: the check "still runs" at the next sweep. */
static int hang(void *ud, int64_t promotion_id, int64_t slot)
{
	(void)ud;
	(void)promotion_id;
	(void)slot;
	return 0;
}

/* A sweep with the cards of this one only (fn NULL: the checks run at once). */
static pb_monitor_sweep_stats sweep_with(pb_monitor_submit_fn fn)
{
	pb_monitor_sweep_stats st;

	pb_buf_reset(&h.out);
	h.ncards = h.nthread = 0;
	st = th_sweep(&h, mon, fn);
	th_target_drain(&tgt);
	return st;
}

static pb_monitor_sweep_stats sweep(void)
{
	return sweep_with(NULL);
}

/* Moves the clock by `s` seconds and sweeps. */
static pb_monitor_sweep_stats after(int64_t s)
{
	pb_fake_clock_advance(&h.clock, s * 1000);
	return sweep();
}

static size_t posts_of(int64_t pid, const char *kind)
{
	return th_posts_of(&h, pid, kind);
}

static pb_sample sample_at(int64_t pid, int64_t slot)
{
	return th_sample_at(&h, pid, slot);
}

Test(monitor, down_after_two_failures_reminder_and_up_with_the_outage_in_the_thread)
{
	int64_t pid = observe(), t0 = th_now(&h);

	cr_assert_eq(sweep().submitted, 1);
	cr_expect_eq(sample_at(pid, t0).state, PB_SAMPLE_UP);
	th_target_down(&tgt);
	after(60);
	cr_expect_eq(sample_at(pid, t0 + 60).state, PB_SAMPLE_DOWN);
	cr_expect_eq(sample_at(pid, t0 + 60).cls, PB_CHK_PROBE_ERROR);
	cr_expect_eq(posts_of(pid, "down"), 0, "one failure is no outage");
	after(60);
	cr_assert_eq(posts_of(pid, "down"), 1);
	cr_expect(strstr(th_out(&h), "🔴 DOWN: neo4j"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "@oncall"), "the configured mention: %s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Observation"), "the parent card shows the health: %s", th_out(&h));
	cr_expect_geq(h.nthread, 1, "alerts go to the promotion's thread");
	for (int i = 0; i < 4; i++)
		after(60);
	cr_expect_eq(posts_of(pid, "remind"), 0, "4 minutes: no reminder yet");
	after(60);
	cr_expect_eq(posts_of(pid, "remind"), 1, "5 minutes after the DOWN alert");
	cr_expect(strstr(th_out(&h), "Still DOWN"), "%s", th_out(&h));
	th_target_up(&tgt);
	after(60);
	cr_expect_eq(posts_of(pid, "up"), 0, "one success is no recovery");
	after(60);
	cr_assert_eq(posts_of(pid, "up"), 1);
	cr_expect(strstr(th_out(&h), "🟢 UP again: neo4j"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "the outage lasted 7 min 0 s"), "first failure at +60, first success at +480: %s",
		  th_out(&h));
	after(60);
	cr_expect_eq(posts_of(pid, NULL), 3, "down, remind, up — nothing else");
}

Test(monitor, a_rerun_of_a_slot_or_a_restarted_monitor_decides_nothing_twice)
{
	int64_t pid = observe(), t0 = th_now(&h);
	pb_monitor *again = NULL;
	pb_err e;

	sweep();
	th_target_down(&tgt);
	after(60);
	after(60);
	cr_assert_eq(posts_of(pid, "down"), 1);
	/* a second process (or this one after a restart) runs the same slot again */
	cr_assert_eq(pb_monitor_new(h.cfg, &again, NULL), 0);
	pb_err_init(&e);
	cr_assert_eq(pb_monitor_check(again, &h.svc, pid, t0 + 120, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_monitor_check(again, &h.svc, pid, t0 + 60, &e), 0);
	cr_expect_eq(posts_of(pid, "down"), 1, "no second DOWN");
	/* a post decided but not delivered before a crash is delivered once after it */
	cr_assert_eq(pb_store_obs_post_add(h.store, pid, "remind", t0 + 999, "🔴 Still DOWN: neo4j\nleft over", th_now(&h),
					   NULL, NULL), 0);
	pb_monitor_free(mon);
	mon = again;
	pb_buf_reset(&h.out);
	sweep_with(hang);
	cr_expect(strstr(th_out(&h), "left over"), "%s", th_out(&h));
	sweep_with(hang);
	cr_expect_null(strstr(th_out(&h), "left over"), "delivered once: %s", th_out(&h));
}

Test(monitor, a_check_still_running_makes_the_next_slot_skipped_and_unknown)
{
	int64_t pid = observe(), t0 = th_now(&h);
	pb_monitor_sweep_stats st;
	char line[256];
	pb_promotion p;

	st = sweep_with(hang);
	cr_assert_eq(st.submitted, 1);
	pb_fake_clock_advance(&h.clock, 60 * 1000);
	st = sweep_with(hang);
	cr_expect_eq(st.submitted, 0, "never two checks of one promotion at once");
	cr_expect_eq(st.skipped, 1);
	cr_expect_eq(sample_at(pid, t0 + 60).state, PB_SAMPLE_UNKNOWN);
	cr_expect_eq(sample_at(pid, t0 + 60).cls, PB_CHK_SKIPPED);
	cr_assert_eq(pb_store_promotion_get(h.store, pid, &p, NULL), 0);
	cr_assert_eq(pb_monitor_status_line(&h.svc, &p, line, sizeof(line), NULL), 0);
	cr_expect(strstr(line, "uptime 0.00 %"), "two slots, neither UP: %s", line);
}

Test(monitor, status_shows_day_uptime_and_the_last_check)
{
	int64_t pid = observe();
	char line[256];
	pb_promotion p;

	sweep();
	for (int i = 0; i < 3; i++)
		after(60);
	pb_fake_clock_advance(&h.clock, 12 * 1000);
	cr_assert_eq(pb_store_promotion_get(h.store, pid, &p, NULL), 0);
	cr_assert_eq(pb_monitor_status_line(&h.svc, &p, line, sizeof(line), NULL), 0);
	cr_expect(strstr(line, "day 1/7, uptime 100.00 % (4 checks), last check 12 s ago: UP "), "%s", line);
	cr_assert_eq(th_run(&h, "bob", "status neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "day 1/7, uptime 100.00 %"), "%s", th_out(&h));
}

Test(monitor, reports_missed_for_three_days_are_posted_once_each_and_marked_late)
{
	int64_t pid = observe();
	pb_monitor_sweep_stats st;

	sweep();                              /* 2026-11-25 10:00 Berlin: the first (partial) day */
	pb_fake_clock_advance(&h.clock, (3 * 86400 + 1800) * 1000LL);  /* the bot was down until 11-28 10:30 */
	st = sweep();
	cr_expect_eq(st.reports, 3, "Days 1, 2 and 3 were due at 09:00 on the 26th, 27th and 28th");
	cr_expect_eq(posts_of(pid, "report"), 3);
	cr_expect(strstr(th_out(&h), "## Day 1 Monitoring Report"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "## Day 3 Monitoring Report"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "posted late"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "partial"), "Day 1 began at 10:00: %s", th_out(&h));
	st = sweep();
	cr_expect_eq(st.reports, 0, "claimed once");
	cr_assert_eq(th_run(&h, "bob", "report neo4j 2"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "## Day 2 Monitoring Report"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "**Uptime**: 0.0%"), "the bot was down all of Day 2: %s", th_out(&h));
	cr_expect_eq(th_run(&h, "bob", "report neo4j 2026-13-01"), PB_E_INVALID, "%s", th_out(&h));
	cr_expect_eq(th_run(&h, "bob", "report neo4j 12"), PB_E_NOTFOUND, "%s", th_out(&h));
}

/* 2026-10-22 12:00 UTC: a week in Europe/Berlin across the end of summer time (25 Oct). */
#define DST_START_MS 1792670400000LL

Test(monitor, a_dst_change_neither_skips_nor_repeats_a_report, .init = NULL, .fini = teardown)
{
	pb_tz *tz = NULL;
	int64_t pid, first;
	pb_obs_post *list = NULL;
	size_t n = 0;

	setup_with("{\"interval_s\": 3600, \"deadline_ms\": 500, \"timezone\": \"Europe/Berlin\"}",
		   "{\"observation_days\": 7}");
	pb_fake_clock_set_wall(&h.clock, DST_START_MS);
	pid = observe();
	for (int i = 0; i < 24 * 9; i++)
		after(3600);
	cr_assert_eq(pb_store_obs_posts_of(h.store, pid, "report", &list, &n, NULL), 0);
	cr_assert_eq(pb_tz_load("Europe/Berlin", &tz, NULL), 0);
	first = pb_tz_day_of(tz, DST_START_MS / 1000);
	cr_expect_eq(n, 8, "Oct 22 … Oct 29: eight local days, each once (got %zu)", n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(list[i].key, first + (int64_t)i, "consecutive local days");
		cr_expect_leq(list[i].created_at, pb_tz_at(tz, list[i].key + 1, 9, 0) + 3600, "on time, not late");
	}
	pb_obs_posts_free(list, n);
	pb_tz_free(tz);
}

Test(monitor, pass_verdict_lets_complete_and_a_fail_needs_an_admin_override, .init = NULL, .fini = teardown)
{
	int64_t pid;

	setup_with("{\"interval_s\": 600, \"deadline_ms\": 500}", "{\"observation_days\": 1}");
	pid = observe();
	sweep();
	for (int i = 0; i < 6 * 24; i++)
		after(600);
	cr_assert_eq(posts_of(pid, "verdict"), 1);
	cr_expect(strstr(th_out(&h), "Observation verdict: PASS"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "observation PASS"), "%s", th_out(&h));
}

Test(monitor, fail_verdict_opens_a_blocker_and_complete_needs_an_override, .init = NULL, .fini = teardown)
{
	int64_t pid;
	int crit = 0;

	setup_with("{\"interval_s\": 600, \"deadline_ms\": 500}", "{\"observation_days\": 1}");
	pid = observe();
	sweep();
	th_target_down(&tgt);
	for (int i = 0; i < 6 * 24; i++)
		after(600);
	cr_assert_eq(posts_of(pid, "verdict"), 1);
	cr_expect(strstr(th_out(&h), "Observation verdict: FAIL"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "blockers neo4j"), 0);
	cr_expect(strstr(th_out(&h), "observation verdict FAIL"), "the evidence is a blocker: %s", th_out(&h));
	cr_assert_eq(pb_store_blockers_critical(h.store, "neo4j", &crit, NULL), 0);
	cr_expect_eq(th_run(&h, "carol", "complete neo4j"), PB_E_REFUSED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "FAIL"), "%s", th_out(&h));
	cr_expect_eq(th_run(&h, "alice", "complete neo4j accepted by the team"), PB_E_REFUSED, "not an admin");
	cr_assert_eq(th_run(&h, "carol", "complete neo4j accepted: the outage was the test harness"), 0, "%s",
		     th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "history neo4j"), 0);
	cr_expect(strstr(th_out(&h), "override"), "the override is audited: %s", th_out(&h));
}

/* ---- the threshold state machine alone ---- */

Test(monitor_step, unknown_samples_neither_break_nor_extend_a_streak, .init = NULL, .fini = NULL)
{
	pb_monitor_cfg mc = { .interval_s = 60, .fail_threshold = 3, .success_threshold = 2, .remind_every_min = 0 };
	pb_monitor_state ms = { .restart_count = -1 };
	pb_sample s = { .slot = 1000, .state = PB_SAMPLE_DOWN };
	pb_alert_kind k;

	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE);
	s.slot += 60;
	s.state = PB_SAMPLE_UNKNOWN;
	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE);
	s.slot += 60;
	s.state = PB_SAMPLE_DOWN;
	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE);
	cr_expect_eq(ms.fails, 2);
	s.slot += 60;
	k = pb_monitor_step(&mc, &ms, &s);
	cr_expect_eq(k, PB_ALERT_DOWN);
	cr_expect_eq(ms.down_since, 1000, "the outage began at the first failure");
	s.slot += 60;
	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE, "no reminders when remind_every_min is 0");
	s.state = PB_SAMPLE_UP;
	s.slot += 60;
	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE);
	s.slot += 60;
	s.state = PB_SAMPLE_DOWN;
	cr_expect_eq(pb_monitor_step(&mc, &ms, &s), PB_ALERT_NONE, "still down: a flap does not alert again");
	s.state = PB_SAMPLE_UP;
	for (int i = 0; i < 2; i++) {
		s.slot += 60;
		k = pb_monitor_step(&mc, &ms, &s);
	}
	cr_expect_eq(k, PB_ALERT_UP);
	cr_expect_eq(ms.health, PB_SAMPLE_UP);
	cr_expect_eq(ms.checks, 9);
}

/* The pool's queue is full: the check is not taken. */
static int refuse(void *ud, int64_t promotion_id, int64_t slot)
{
	(void)ud;
	(void)promotion_id;
	(void)slot;
	return PB_E_BUSY;
}

Test(monitor, a_check_the_pool_refused_is_tried_again_at_the_next_sweep)
{
	int64_t pid = observe();
	pb_monitor_sweep_stats st;
	pb_promotion p;

	cr_assert_eq(pb_store_promotion_get(h.store, pid, &p, NULL), 0);
	st = sweep_with(refuse);
	cr_expect_eq(st.refused, 1);
	cr_expect_eq(st.submitted, 0);
	/* a second later the same slot is still the newest: it is planned again and runs */
	st = after(1);
	cr_expect_eq(st.submitted, 1);
	cr_expect_eq(sample_at(pid, p.observing_since).state, PB_SAMPLE_UP);
	/* refused until the next slot is due: that slot has no result (UNKNOWN), the next one runs */
	st = sweep_with(refuse);
	cr_expect_eq(st.refused, 0, "nothing due: the slot ran");
	pb_fake_clock_advance(&h.clock, 59 * 1000);
	st = sweep_with(refuse);
	cr_expect_eq(st.refused, 1);
	pb_fake_clock_advance(&h.clock, 60 * 1000);
	st = sweep();
	cr_expect_eq(st.submitted, 1);
	cr_expect_eq(sample_at(pid, p.observing_since + 120).state, PB_SAMPLE_UP);
	{
		pb_sample *list = NULL;
		size_t n = 0;

		cr_assert_eq(pb_store_samples_range(h.store, pid, p.observing_since + 60, p.observing_since + 61, &list,
						    &n, NULL), 0);
		cr_assert_eq(n, 1, "the slot the pool never took is recorded UNKNOWN when the next one is planned");
		cr_expect_eq(list[0].state, PB_SAMPLE_UNKNOWN);
		cr_expect_eq(list[0].cls, PB_CHK_NOT_RUN);
		free(list);
	}
}

/* ---- step 12 and the staging → production criterion, through whole flows on the fake clock ---- */

#define EXPECT_OUT(needle) cr_expect(strstr(th_out(&h), (needle)), "missing \"%s\" in:\n%s", (needle), th_out(&h))

/* Moves the harness clock by s seconds (no sweep: nothing observes yet). */
static void wait_s(int64_t s)
{
	pb_fake_clock_advance(&h.clock, s * 1000);
}

/*
 * neo4j → staging #1 from request to a PASS completion: two blockers, a
 * validation failing on lint then passing, a 130 s deploy (recorded as
 * deploy_flow records it: no engine here), one day observed at 600 s.
 * Returns the promotion id.
 */
static int64_t staging_flow_passed(void)
{
	pb_deployment d;
	pb_promotion p;

	cr_assert_eq(th_run(&h, "alice", "request neo4j staging graph pilot"), 0, "%s", th_out(&h));   /* t = 0 */
	wait_s(3600);
	cr_assert_eq(th_run(&h, "dave", "block neo4j high heap pressure"), 0, "%s", th_out(&h));        /* #1 at 1 h */
	wait_s(3600);
	cr_assert_eq(th_run(&h, "dave", "block neo4j medium flaky backup"), 0, "%s", th_out(&h));       /* #2 at 2 h */
	th_set_revision(&h, "lint-broken");
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "neo4j"), PB_ST_BLOCKED, "%s", th_out(&h));
	wait_s(43200);
	cr_assert_eq(th_run(&h, "dave", "unblock 2"), 0, "%s", th_out(&h));                            /* 12 h open */
	wait_s(36000);
	th_set_revision(&h, "rev-2");
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));                       /* t = 1 day */
	cr_assert_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	wait_s(46800);
	cr_assert_eq(th_run(&h, "dave", "unblock 1"), 0, "%s", th_out(&h));                            /* 36 h open */
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0, "%s", th_out(&h));
	th_force_state(&h, "neo4j", PB_ST_DEPLOYING);
	cr_assert_eq(pb_store_promotion_open_for(h.store, "neo4j", &p, NULL), 0);
	memset(&d, 0, sizeof(d));
	d.promotion_id = p.id;
	strcpy(d.component, "neo4j");
	strcpy(d.environment, "staging");
	strcpy(d.container_name, "neo4j-staging");
	strcpy(d.image, "neo4j:5.13");
	strcpy(d.status, "succeeded");
	d.started_at = th_now(&h);
	d.finished_at = d.started_at + 130;
	cr_assert_eq(pb_store_deployment_add(h.store, &d, NULL), 0);
	wait_s(130);
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);   /* observing since 2026-11-26 22:02:10 UTC */
	sweep();
	for (int i = 0; i < 6 * 24; i++)
		after(600);
	cr_assert_eq(posts_of(p.id, "verdict"), 1);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), 0, "%s", th_out(&h));
	return p.id;
}

Test(monitor, lessons_of_a_whole_flow_state_the_computed_figures, .init = NULL, .fini = teardown)
{
	static const char *lines[] = {
		"# Neo4j Promotion - Lessons Learned\n\n**Date**: 2026-11-27\n**Component**: Neo4j\n"
		"**Promotion**: Development → Staging (Promotion #1, completed)\n",
		"## What Went Well\n- Observation PASS: uptime 100.00 % over 1 day (target 99.5 %)\n"
		"- Deployed on the first attempt in 2 min\n- No outage during the observation\n- [List successes]\n",
		"## What Could Be Improved\n- Validation failed once (lint) before passing\n- [List improvements]\n",
		"## Blockers Encountered\n"
		"- #1 [high] heap pressure — resolved by dave after 36.0 hours; how: [how it was resolved]\n"
		"- #2 [medium] flaky backup — resolved by dave after 12.0 hours; how: [how it was resolved]\n",
		"## Process Improvements\n- [List suggested process improvements]\n",
		"## Recommendations for Future Promotions\n- [List recommendations]\n",
		"## Metrics\n- Time to promotion: 2.5 days (request → complete)\n"
		"- Blocker resolution time: 2 blockers, mean resolution 24.0 hours (#1 36.0 hours, #2 12.0 hours)\n"
		"- Validation time: 0 s over 2 runs (1: 0 s failed (lint), 2: 0 s passed)\n"
		"- Deployment time: 2 min over 1 deploy (1: neo4j:5.13 succeeded in 2 min)\n",
		"## Observation\n- Uptime: 100.00 % of 144 scheduled checks over 2 days (UNKNOWN counted as down; "
		"target 99.5 %)\n- Verdict: PASS (uptime 100.00 %, coverage 100.00 %)\n- Outages: 0\n- p95 trend: Day 1 ",
		"| Day | Date | Uptime | p95 | Outages | Restarts |\n|---|---|---|---|---|---|\n| 1 | 2026-11-26 | 100.00 % | ",
		"| 0 | 0 |\n| 2 | 2026-11-27 | 100.00 % | ",
	};
	char *file;

	setup_with("{\"interval_s\": 600, \"deadline_ms\": 500}", "{\"observation_days\": 1}");
	staging_flow_passed();
	cr_assert_eq(th_run(&h, "alice", "lessons neo4j --dry-run"), 0, "%s", th_out(&h));
	EXPECT_OUT("would be written to");
	cr_expect_null(th_read_file(&h, "LESSONS-staging-1.md", NULL), "a dry run writes nothing");
	cr_assert_eq(th_run(&h, "alice", "lessons neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(h.nthread, 1, "posted in the promotion's thread: %s", th_out(&h));
	EXPECT_OUT("LESSONS-staging-1.md");
	/* the reply shows the document as a preformatted block (indented): line by line there, whole in the file */
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char copy[1024], *save = NULL;

		snprintf(copy, sizeof(copy), "%s", lines[i]);
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			EXPECT_OUT(l);
	}
	file = th_read_file(&h, "LESSONS-staging-1.md", NULL);
	cr_assert_not_null(file, "written next to MATURITY.md");
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_expect(strstr(file, lines[i]), "file misses \"%s\":\n%s", lines[i], file);
	free(file);
	cr_expect_eq(th_run(&h, "stranger", "lessons neo4j"), PB_E_REFUSED, "team members only");
}

Test(monitor, production_ticks_the_staging_uptime_from_the_stored_pass, .init = NULL, .fini = teardown)
{
	setup_with("{\"interval_s\": 600, \"deadline_ms\": 500}", "{\"observation_days\": 1}");
	staging_flow_passed();
	cr_assert_eq(th_run(&h, "alice", "request neo4j production"), 0, "%s", th_out(&h));
	EXPECT_OUT("[x] 1-day uptime in staging ≥ 99.5 %: staging uptime 100.00 % over 1 day (promotion #1)");
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	EXPECT_OUT("[x] 1-day uptime in staging ≥ 99.5 %: staging uptime 100.00 % over 1 day (promotion #1)");
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
}

Test(monitor, production_is_held_when_staging_was_completed_by_an_override, .init = NULL, .fini = teardown)
{
	static const char why[] = "1-day uptime in staging ≥ 99.5 %: staging promotion #1 was completed by an admin "
				  "override of FAIL, not on a PASS verdict";

	setup_with("{\"interval_s\": 600, \"deadline_ms\": 500}", "{\"observation_days\": 1}");
	observe();
	sweep();
	th_target_down(&tgt);
	for (int i = 0; i < 6 * 24; i++)
		after(600);
	cr_assert_eq(th_run(&h, "carol", "complete neo4j accepted: the outage was the test harness"), 0, "%s",
		     th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "request neo4j production"), 0, "%s", th_out(&h));
	EXPECT_OUT(why);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_BLOCKED, "a required criterion fails: %s", th_out(&h));
	EXPECT_OUT("[!] 1-day uptime in staging");
	/* a validation stored before the criterion existed would not hold it: approve and deploy re-read it */
	th_force_state(&h, "neo4j", PB_ST_VALIDATING);
	th_force_state(&h, "neo4j", PB_ST_IN_REVIEW);
	cr_expect_eq(th_run(&h, "bob", "approve neo4j"), PB_E_REFUSED);
	EXPECT_OUT("approval of neo4j to production needs the staging observation");
	EXPECT_OUT(why);
	th_force_state(&h, "neo4j", PB_ST_APPROVED);
	cr_expect_eq(th_run(&h, "carol", "deploy neo4j"), PB_E_REFUSED);
	EXPECT_OUT("deploying of neo4j to production needs the staging observation");
}

Test(monitor, production_without_a_completed_staging_promotion_is_unticked_with_the_reason)
{
	cr_assert_eq(pb_store_component_ensure(h.store, "neo4j", PB_STAGE_DEVELOPMENT, th_now(&h), NULL), 0);
	cr_assert_eq(pb_store_component_set_stage(h.store, "neo4j", PB_STAGE_STAGING, th_now(&h), NULL), 0);
	cr_assert_eq(th_run(&h, "alice", "request neo4j production"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_BLOCKED);
	EXPECT_OUT("[!] 7-day uptime in staging ≥ 99.5 %: neo4j has no completed staging promotion to read it from");
	EXPECT_OUT("coverage 85.0% ≥ 80%");
}

Test(monitor, staging_promotions_have_no_uptime_criterion)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
	cr_expect_null(strstr(th_out(&h), "uptime in staging"), "%s", th_out(&h));
}

/* ---- delivery: marked only when the chat confirmed it, handed again after a restart ---- */

/* A chat that queues (Slack): keeps the cards, confirms only when the test says so. */
typedef struct qsink {
	pb_sink sink;
	pb_card *cards[16];
	size_t n;
	/* a chat that prints (the console): what storage said while the card was being shown */
	bool prints;
	int64_t posted_at_emit, handed_at_emit;
} qsink;

static pb_obs_post one_post(int64_t pid, const char *kind)
{
	pb_obs_post *list = NULL, p;
	size_t n = 0;

	cr_assert_eq(pb_store_obs_posts_of(h.store, pid, kind, &list, &n, NULL), 0);
	cr_assert_eq(n, 1, "one %s post", kind);
	p = list[0];
	p.text = NULL;
	pb_obs_posts_free(list, n);
	return p;
}

static void qsink_emit(pb_sink *sink, const pb_card *c)
{
	qsink *q = sink->userdata;

	if (!c->delivery_id)
		return; /* the parent card's refresh */
	if (q->prints) {
		pb_obs_post p = one_post(c->promotion_id, "remind");

		q->posted_at_emit = p.posted_at;
		q->handed_at_emit = p.handed_at;
	}
	cr_assert_lt(q->n, 16);
	q->cards[q->n++] = pb_card_dup(c);
}

static void qsink_init(qsink *q, bool prints)
{
	memset(q, 0, sizeof(*q));
	q->sink.emit = qsink_emit;
	q->sink.userdata = q;
	q->sink.confirms = !prints; /* a printing sink is confirmed by pb_sink_emit when emit returned */
	q->prints = prints;
	h.svc.system_sink = &q->sink;
}

static void qsink_free(qsink *q)
{
	for (size_t i = 0; i < q->n; i++)
		pb_card_free(q->cards[i]);
	h.svc.system_sink = &h.sink;
}

static size_t deliver(void)
{
	size_t n = 0;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_deliver(mon, &h.svc, &n, &e), 0, "%s", pb_err_text(&e));
	return n;
}

static int64_t pending_post(int64_t pid)
{
	int64_t id = 0;

	cr_assert_eq(pb_store_obs_post_add(h.store, pid, "remind", 60, "🔴 Still DOWN: neo4j\nfor a while", th_now(&h),
					   &id, NULL), 0);
	return id;
}

Test(monitor, a_printed_post_is_marked_only_after_it_was_printed)
{
	int64_t pid = observe();
	qsink q;

	pending_post(pid);
	qsink_init(&q, true);
	cr_assert_eq(deliver(), 1);
	cr_assert_eq(q.n, 1);
	cr_expect_eq(q.posted_at_emit, 0, "not marked delivered while it was being printed");
	cr_expect_eq(q.handed_at_emit, th_now(&h), "marked handed before it was printed");
	cr_expect_gt(one_post(pid, "remind").posted_at, 0, "marked once printed");
	cr_expect_eq(deliver(), 0);
	cr_expect_eq(q.n, 1, "printed once");
	qsink_free(&q);
}

Test(monitor, a_queued_post_waits_for_the_chat_and_is_never_handed_twice_meanwhile)
{
	int64_t pid = observe(), id = pending_post(pid);
	char want[64];
	qsink q;

	qsink_init(&q, false);
	cr_assert_eq(deliver(), 0, "handed, not confirmed");
	cr_assert_eq(q.n, 1);
	snprintf(want, sizeof(want), "obs-%lld-%lld-", (long long)id, (long long)pid);
	cr_expect_eq(strncmp(q.cards[0]->delivery_id, want, strlen(want)), 0, "%s", q.cards[0]->delivery_id);
	cr_expect_eq(q.cards[0]->handed_before, 0, "never handed before: it cannot be in the chat");
	cr_expect_eq(one_post(pid, "remind").posted_at, 0);
	cr_expect_eq(one_post(pid, "remind").handed_at, th_now(&h));
	pb_fake_clock_advance(&h.clock, 30 * 1000);
	cr_assert_eq(deliver(), 0);
	cr_expect_eq(q.n, 1, "still waiting for the chat: not handed again");
	/* the chat answers (from its own thread, as the Slack poster does) */
	pb_acks_push(q.cards[0]->acks, q.cards[0]->delivery_id, true, "1764061200.000100");
	cr_assert_eq(deliver(), 1);
	cr_expect_gt(one_post(pid, "remind").posted_at, 0);
	cr_expect_str_eq(one_post(pid, "remind").chat_ref, "1764061200.000100");
	pb_fake_clock_advance(&h.clock, (MON_CONFIRM_TIMEOUT_S + 1) * 1000);
	cr_assert_eq(deliver(), 0);
	cr_expect_eq(q.n, 1, "delivered: never handed again");
	qsink_free(&q);
}

Test(monitor, a_post_the_chat_gave_up_is_handed_again_after_the_retry_delay)
{
	int64_t pid = observe(), first;
	qsink q;

	pending_post(pid);
	qsink_init(&q, false);
	deliver();
	first = one_post(pid, "remind").handed_at;
	pb_acks_push(q.cards[0]->acks, q.cards[0]->delivery_id, false, "");
	cr_assert_eq(deliver(), 0, "given up: not marked");
	cr_expect_eq(q.n, 1, "not at once");
	pb_fake_clock_advance(&h.clock, (MON_RETRY_S - 1) * 1000);
	cr_assert_eq(deliver(), 0);
	cr_expect_eq(q.n, 1, "not before the retry delay");
	pb_fake_clock_advance(&h.clock, 1000);
	cr_assert_eq(deliver(), 0);
	cr_assert_eq(q.n, 2, "handed again");
	cr_expect_str_eq(q.cards[1]->delivery_id, q.cards[0]->delivery_id, "the same id: the chat finds it again");
	cr_expect_eq(q.cards[1]->handed_before, first, "it may be in the chat since the first handing");
	cr_expect_eq(one_post(pid, "remind").handed_at, first, "the first handing is kept");
	qsink_free(&q);
}

Test(monitor, after_a_restart_a_post_handed_before_is_handed_again_once_saying_so)
{
	int64_t pid = observe(), first;
	pb_monitor *again = NULL;
	qsink q;

	pending_post(pid);
	qsink_init(&q, false);
	deliver();
	first = one_post(pid, "remind").handed_at;
	/* a crash: the chat's queue and the monitor are gone, the confirmation never comes */
	pb_monitor_free(mon);
	cr_assert_eq(pb_monitor_new(h.cfg, &again, NULL), 0);
	mon = again;
	pb_fake_clock_advance(&h.clock, 5000);
	cr_assert_eq(deliver(), 0);
	cr_assert_eq(q.n, 2, "handed again after the restart");
	cr_expect_str_eq(q.cards[1]->delivery_id, q.cards[0]->delivery_id);
	cr_expect_eq(q.cards[1]->handed_before, first, "the chat looks for it before sending it");
	cr_assert_eq(deliver(), 0);
	cr_expect_eq(q.n, 2, "once");
	/* a confirmation from the process before the crash is ignored; the new one counts */
	pb_acks_push(q.cards[0]->acks, q.cards[0]->delivery_id, true, "1.0");
	cr_assert_eq(deliver(), 0);
	pb_acks_push(q.cards[1]->acks, q.cards[1]->delivery_id, true, "1764061200.000100");
	cr_assert_eq(deliver(), 1);
	cr_expect_str_eq(one_post(pid, "remind").chat_ref, "1764061200.000100");
	qsink_free(&q);
}

Test(monitor, a_post_never_confirmed_is_handed_again_after_the_timeout)
{
	int64_t pid = observe();
	qsink q;

	pending_post(pid);
	qsink_init(&q, false);
	deliver();
	pb_fake_clock_advance(&h.clock, (MON_CONFIRM_TIMEOUT_S - 1) * 1000);
	deliver();
	cr_expect_eq(q.n, 1);
	pb_fake_clock_advance(&h.clock, 1000);
	deliver();
	cr_assert_eq(q.n, 2, "a lost confirmation does not leave it pending for good");
	cr_expect_gt(q.cards[1]->handed_before, 0);
	qsink_free(&q);
}

/* ---- failover: another replica's monitor takes over from the stored schedule ---- */

/* A second replica on the same database: its own connection and monitor, the same clock. */
typedef struct replica {
	pb_services svc;
	pb_monitor *mon;
} replica;

static void replica_open(replica *r, const char *owner)
{
	memset(r, 0, sizeof(*r));
	r->svc = h.svc;
	r->svc.lock_owner = owner;
	cr_assert_eq(pb_store_open(h.cfg->storage_path, &r->svc.store, NULL), 0);
	cr_assert_eq(pb_monitor_new(h.cfg, &r->mon, NULL), 0);
}

static void replica_close(replica *r)
{
	pb_monitor_free(r->mon);
	pb_store_close(r->svc.store);
}

static int replica_run(void *ud, int64_t promotion_id, int64_t slot)
{
	replica *r = ud;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_check(r->mon, &r->svc, promotion_id, slot, &e), 0, "%s", pb_err_text(&e));
	return 0;
}

static pb_monitor_sweep_stats replica_sweep(replica *r)
{
	pb_monitor_sweep_stats st;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_sweep(r->mon, &r->svc, replica_run, r, &st, &e), 0, "%s", pb_err_text(&e));
	th_target_drain(&tgt);
	return st;
}

Test(monitor, a_new_leader_records_the_missed_slots_unknown_and_runs_none_twice)
{
	int64_t pid = observe(), t0 = th_now(&h);
	pb_monitor_sweep_stats st;
	replica b;

	sweep();                    /* the first leader checks t0 and t0+60, then dies */
	after(60);
	replica_open(&b, "replica-b");
	/* no leader for 5 minutes: the slots t0+120 … t0+300 nobody checked */
	pb_fake_clock_advance(&h.clock, 300 * 1000);
	st = replica_sweep(&b);
	cr_expect_eq(st.submitted, 1, "the due slot t0+360 runs");
	cr_expect_eq(st.unknown_filled, 4);
	for (int64_t s = t0 + 120; s <= t0 + 300; s += 60) {
		cr_expect_eq(sample_at(pid, s).state, PB_SAMPLE_UNKNOWN, "slot +%lld", (long long)(s - t0));
		cr_expect_eq(sample_at(pid, s).cls, PB_CHK_NOT_RUN);
	}
	cr_expect_eq(sample_at(pid, t0).state, PB_SAMPLE_UP, "sampled slots keep their result");
	cr_expect_eq(sample_at(pid, t0 + 60).state, PB_SAMPLE_UP);
	cr_expect_eq(sample_at(pid, t0 + 360).state, PB_SAMPLE_UP);
	/* the new leader's next sweep and the old leader's late check change nothing */
	st = replica_sweep(&b);
	cr_expect_eq(st.submitted + st.unknown_filled, 0);
	cr_assert_eq(pb_monitor_check(mon, &h.svc, pid, t0 + 120, NULL), 0);
	cr_expect_eq(sample_at(pid, t0 + 120).cls, PB_CHK_NOT_RUN, "a slot recorded is never run again");
	/* leadership comes back to the first replica: it resumes at the next slot, no gap, no re-run */
	pb_fake_clock_advance(&h.clock, 60 * 1000);
	st = sweep();
	cr_expect_eq(st.submitted, 1);
	cr_expect_eq(st.unknown_filled, 0);
	cr_expect_eq(sample_at(pid, t0 + 420).state, PB_SAMPLE_UP);
	replica_close(&b);
}

Test(monitor, two_replicas_alternating_as_leader_post_each_daily_report_and_alert_once)
{
	int64_t pid = observe();
	replica b;

	replica_open(&b, "replica-b");
	sweep();
	replica_sweep(&b);
	th_target_down(&tgt);
	/* the target goes down; leadership flips between the replicas at every sweep for two days */
	for (int i = 0; i < 2 * 24 * 6; i++) {
		pb_fake_clock_advance(&h.clock, 600 * 1000);
		if (i % 2)
			sweep();
		else
			replica_sweep(&b);
	}
	/* and a sweep of both at the same instant claims nothing twice */
	sweep();
	replica_sweep(&b);
	cr_expect_eq(posts_of(pid, "report"), 2, "Day 1 and Day 2, once each");
	cr_expect_eq(posts_of(pid, "down"), 1, "one DOWN alert, whoever checked");
	replica_close(&b);
}

/* ---- a deploy whose replica died: recovered by the leader's sweep once its lease expired ---- */

static size_t events_with(const char *component, const char *text)
{
	pb_event *list = NULL;
	size_t n = 0, hits = 0;

	cr_assert_eq(pb_store_events_for_component(h.store, component, 100, &list, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		hits += strstr(list[i].detail, text) != NULL;
	free(list);
	return hits;
}

Test(monitor, a_deploy_under_an_expired_lease_is_recovered_as_interrupted_by_the_sweep)
{
	pb_monitor_sweep_stats st;
	pb_lease l;

	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	th_force_state(&h, "neo4j", PB_ST_VALIDATING);
	th_force_state(&h, "neo4j", PB_ST_IN_REVIEW);
	th_force_state(&h, "neo4j", PB_ST_APPROVED);
	th_force_state(&h, "neo4j", PB_ST_DEPLOYING);
	/* the deploying replica holds the lease, then dies without releasing it */
	cr_assert_eq(pb_store_lock_acquire(h.store, "neo4j", "host-a:41:cafe:slack-1", "deploy", th_now(&h), NULL), 0);
	st = sweep();
	cr_expect_eq(st.interrupted, 0, "a live lease: a deploy in progress is left alone");
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_DEPLOYING);
	pb_fake_clock_advance(&h.clock, (PB_LEASE_DEFAULT_S + 1) * 1000LL);
	st = sweep();
	cr_expect_eq(st.interrupted, 1);
	cr_expect_eq(th_state(&h, "neo4j"), -1, "closed as failed");
	cr_expect(strstr(th_out(&h), "Deploy interrupted"), "a card in the thread: %s", th_out(&h));
	cr_expect_eq(pb_store_lease_get(h.store, "component:neo4j", &l, NULL), PB_E_NOTFOUND,
		     "the recovering leader released the lease it took over");
	cr_expect_eq(events_with("neo4j", "its lease expired"), 1, "audited once");
	st = sweep();
	cr_expect_eq(st.interrupted, 0, "recovered once");
}

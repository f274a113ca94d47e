/* test_monitor.c — the observation on a fake clock: alerts, skipped slots, restarts, reports once per local day, verdict, complete. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pb_monitor.h"
#include "pb_obs.h"
#include "pb_tz.h"

static th h;
static pb_monitor *mon;
static int lfd = -1, port;

/* The component's tcp probe target: a listening loopback socket the test opens and closes. */
static void target_up(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	socklen_t al = sizeof(a);
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0, "bind port %d", port);
	cr_assert_eq(listen(lfd, 64), 0);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
}

/* Accepts and closes what the probes connected, so the backlog never fills (a full one looks like a timeout). */
static void target_drain(void)
{
	int fd;

	while (lfd >= 0 && (fd = accept(lfd, NULL, NULL)) >= 0)
		close(fd);
}

static void target_down(void)
{
	close(lfd);
	lfd = -1;
}

/* Monitoring section and policy for a test; the probe targets our socket. */
static void setup_with(const char *monitoring, const char *policy)
{
	char top[1024], staging[512];

	port = 0;
	target_up();
	snprintf(top, sizeof(top), "\"monitoring\": %s,", monitoring);
	snprintf(staging, sizeof(staging),
		 "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\","
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 500}}",
		 port);
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
	pb_monitor_free(mon);
	mon = NULL;
	if (lfd >= 0)
		target_down();
	th_teardown(&h);
}

TestSuite(monitor, .init = setup_default, .fini = teardown);

/* A promotion of neo4j in observing since the harness clock's now. */
static int64_t observe(void)
{
	return th_walk_to(&h, "neo4j", PB_ST_OBSERVING);
}

static int run_now(void *ud, int64_t promotion_id, int64_t slot)
{
	pb_err e;

	(void)ud;
	pb_err_init(&e);
	cr_assert_eq(pb_monitor_check(mon, &h.svc, promotion_id, slot, &e), 0, "%s", pb_err_text(&e));
	return 0;
}

/* Accepted but never run: the check "still runs" at the next sweep. */
static int hang(void *ud, int64_t promotion_id, int64_t slot)
{
	(void)ud;
	(void)promotion_id;
	(void)slot;
	return 0;
}

static pb_monitor_sweep_stats sweep_with(pb_monitor_submit_fn fn)
{
	pb_monitor_sweep_stats st;
	pb_err e;

	pb_buf_reset(&h.out);
	h.ncards = h.nthread = 0;
	pb_err_init(&e);
	cr_assert_eq(pb_monitor_sweep(mon, &h.svc, fn, NULL, &st, &e), 0, "%s", pb_err_text(&e));
	target_drain();
	return st;
}

static pb_monitor_sweep_stats sweep(void)
{
	return sweep_with(run_now);
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
	target_down();
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
	target_up();
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
	target_down();
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
	target_down();
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

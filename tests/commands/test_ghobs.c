/* test_ghobs.c — the observation mirrored on GitHub: daily reports, the verdict (PASS, INCONCLUSIVE, FAIL) and a FAIL's blocker issue, against the fake GitHub on a fake clock. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "github.h"
#include "github_fake.h"
#include "harness.h"
#include "pb_ghout.h"
#include "pb_monitor.h"

#define REPO "acme/tta"
#define TOKEN "ghp_ghobstest"
#define INTERVAL_S 600
#define SLOTS_PER_DAY (86400 / INTERVAL_S)

static th h;
static github_fake *fake;
static pb_monitor *mon;
static pb_err err;
static th_target tgt = { .fd = -1 };

/* ---- setup: neo4j mirrored to REPO, deployed by other tooling, probed over tcp; 2 observation days ---- */

static void setup(void)
{
	char top[1024], extra[128], staging[512];

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_set_now(fake, TH_EPOCH_MS / 1000);
	setenv("PB_TEST_GITHUB_TOKEN", TOKEN, 1);
	tgt.port = 0;
	th_target_up(&tgt);
	snprintf(top, sizeof(top),
		 "\"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_TEST_GITHUB_TOKEN\", \"timeout_ms\": 1000},"
		 "\"docker\": {\"host\": \"unix:///nonexistent/docker.sock\"},"
		 "\"monitoring\": {\"interval_s\": %d, \"deadline_ms\": 500, \"timezone\": \"UTC\", \"report_time\": \"09:00\"},",
		 github_fake_url(fake), INTERVAL_S);
	snprintf(extra, sizeof(extra), "\"github_repo\": \"%s\",", REPO);
	snprintf(staging, sizeof(staging),
		 "{\"deployment\": \"external\", \"healthy_timeout_s\": 1,"
		 " \"environment_url\": \"https://staging.example.org/neo4j\","
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 500}}",
		 tgt.port);
	th_setup_full(&h, "{\"observation_days\": 2}", top, staging, extra);
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&h.cfg->github, &h.clock.clock, &h.svc.github, &err), 0, "%s", pb_err_text(&err));
	h.svc.system_sink = &h.sink;
	cr_assert_eq(pb_monitor_new(h.cfg, &mon, NULL), 0);
}

static void teardown(void)
{
	pb_monitor_free(mon);
	mon = NULL;
	th_target_down(&tgt);
	pb_github_free(h.svc.github);
	h.svc.github = NULL;
	th_teardown(&h);
	github_fake_free(fake);
	fake = NULL;
}

TestSuite(ghobs, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---- */

static size_t pending(void)
{
	size_t n = 0;

	cr_assert_eq(pb_store_ghops_pending_count(h.store, &n, &err), 0);
	return n;
}

/* Delivers until nothing is pending (a link waiting for its blocker issue retries after a backoff). */
static void deliver_all(void)
{
	pb_ghout_stats st;

	for (int i = 0; i < 5; i++) {
		github_fake_set_now(fake, th_now(&h));
		pb_err_init(&err);
		cr_assert_eq(pb_ghout_deliver(&h.svc, 0, &st, &err), 0, "%s", pb_err_text(&err));
		if (!pending())
			return;
		pb_fake_clock_advance(&h.clock, 30 * 1000);
	}
	cr_assert_fail("%zu GitHub op(s) still pending", pending());
}

static pb_monitor_sweep_stats sweep(void)
{
	pb_monitor_sweep_stats st;

	pb_buf_reset(&h.out);
	h.ncards = h.nthread = 0;
	st = th_sweep(&h, mon, NULL);
	th_target_drain(&tgt);
	return st;
}

/* `n` slots later, sweeping at each; returns the reports and verdicts claimed on the way. */
static pb_monitor_sweep_stats slots(int n)
{
	pb_monitor_sweep_stats sum = { 0 }, st;

	for (int i = 0; i < n; i++) {
		pb_fake_clock_advance(&h.clock, INTERVAL_S * 1000LL);
		st = sweep();
		sum.reports += st.reports;
		sum.verdicts += st.verdicts;
	}
	return sum;
}

/* neo4j observing since now (2026-11-25 09:00 UTC), its promotion issue #1 delivered; the issue's comments so far. */
static int observe(int64_t *pid)
{
	pb_promotion p;

	*pid = th_walk_to(&h, "neo4j", PB_ST_OBSERVING);
	deliver_all();
	cr_assert_eq(pb_store_promotion_latest(h.store, "neo4j", &p, &err), 0);
	cr_assert_eq(p.issue_number, 1);
	sweep();
	return github_fake_comment_count(fake, REPO, 1);
}

static cJSON *comments(int64_t number)
{
	char *text = github_fake_comments_json(fake, REPO, number);
	cJSON *j;

	cr_assert_not_null(text);
	j = cJSON_Parse(text);
	free(text);
	cr_assert(cJSON_IsArray(j));
	return j;
}

static const char *body_of(const cJSON *c)
{
	const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(c, "body"));

	return b ? b : "";
}

/* Comments on `number` whose body contains `needle`. */
static int comments_with(int64_t number, const char *needle)
{
	cJSON *all = comments(number), *c;
	int n = 0;

	cJSON_ArrayForEach(c, all)
		n += strstr(body_of(c), needle) != NULL;
	cJSON_Delete(all);
	return n;
}

/* The outbox op a body's hidden marker names: a delivered comment of the promotion's group. */
static void assert_marker_of_a_delivered_comment(const char *body, int64_t pid)
{
	const char *m = strstr(body, "<!-- promobot:op=");
	long long id = 0;
	char group[64];
	pb_ghop op;

	cr_assert_not_null(m, "no marker: %s", body);
	cr_assert_eq(sscanf(m, "<!-- promobot:op=%lld -->", &id), 1, "%s", m);
	cr_assert_str_eq(m + strcspn(m, ">") + 1, "", "the marker ends the body: %s", body);
	cr_assert_eq(pb_store_ghop_get(h.store, id, &op, &err), 0, "%s", pb_err_text(&err));
	snprintf(group, sizeof(group), "promotion:%" PRId64, pid);
	cr_expect_str_eq(op.kind, "comment");
	cr_expect_str_eq(op.group, group);
	cr_expect_eq(op.state, PB_GHOP_DONE);
	pb_ghop_deinit(&op);
}

static bool has_label(const cJSON *is, const char *name)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, cJSON_GetObjectItem(is, "labels"))
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "name")), name))
			return true;
	return false;
}

static int issues_created(void)
{
	return github_fake_count(fake, "POST /repos/" REPO "/issues", 201) -
	       github_fake_count(fake, "POST /repos/" REPO "/issues/", 201);
}

/* ---- the tests ---- */

Test(ghobs, the_daily_report_is_one_comment_on_the_promotion_issue)
{
	int64_t pid;
	int base = observe(&pid);
	pb_monitor_sweep_stats st;
	cJSON *all;
	const char *body;

	st = slots(SLOTS_PER_DAY - 1);
	cr_assert_eq(st.reports, 0, "Day 1 is due at 09:00 on the 26th");
	st = slots(1);
	cr_assert_eq(st.reports, 1);
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base, "nothing is sent inside the sweep");
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 1);
	all = comments(1);
	body = body_of(cJSON_GetArrayItem(all, base));
	cr_assert_eq(strncmp(body, "📊 Monitoring report: neo4j\n## Day 1 Monitoring Report\n\n",
			     strlen("📊 Monitoring report: neo4j\n## Day 1 Monitoring Report\n\n")), 0, "%s", body);
	cr_expect(strstr(body, "**Uptime**: 100.0%"), "%s", body);
	assert_marker_of_a_delivered_comment(body, pid);
	cJSON_Delete(all);

	/* delivering again, or sweeping again, adds nothing */
	deliver_all();
	cr_assert_eq(sweep().reports, 0);
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 1);
	cr_assert_eq(comments_with(1, "Day 1 Monitoring Report"), 1);
	cr_assert_eq(issues_created(), 1, "only the promotion issue");
}

Test(ghobs, a_pass_verdict_is_one_comment_and_opens_no_blocker)
{
	int64_t pid;
	int base = observe(&pid);
	pb_monitor_sweep_stats st;

	st = slots(2 * SLOTS_PER_DAY);
	cr_assert_eq(st.reports, 2, "Day 1 and Day 2");
	cr_assert_eq(st.verdicts, 1);
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 3, "Day 1, Day 2, the verdict");
	cr_assert_eq(comments_with(1, "Observation verdict: PASS"), 1);
	cr_assert_eq(comments_with(1, "Day 2 Monitoring Report"), 1);
	{
		cJSON *all = comments(1);
		const char *body = body_of(cJSON_GetArrayItem(all, base + 2));

		cr_assert_eq(strncmp(body, "✅ Observation verdict: PASS\n", strlen("✅ Observation verdict: PASS\n")), 0,
			     "the verdict comes last: %s", body);
		assert_marker_of_a_delivered_comment(body, pid);
		cJSON_Delete(all);
	}
	cr_assert_eq(sweep().verdicts, 0);
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 3);
	cr_assert_eq(comments_with(1, "Observation verdict"), 1);
	cr_assert_eq(issues_created(), 1, "a PASS opens no blocker issue");
}

Test(ghobs, an_inconclusive_verdict_is_one_comment_and_opens_no_blocker)
{
	int64_t pid;
	int base = observe(&pid);
	pb_monitor_sweep_stats st;

	/* the bot was down for the whole observation: every slot but the first is UNKNOWN */
	pb_fake_clock_advance(&h.clock, 2 * 86400 * 1000LL);
	st = sweep();
	cr_assert_eq(st.reports, 2, "Day 1 (due a day ago) and Day 2 (due now)");
	cr_assert_eq(st.verdicts, 1);
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 3, "Day 1, Day 2, the verdict");
	cr_assert_eq(comments_with(1, "Observation verdict: INCONCLUSIVE"), 1);
	cr_assert_eq(comments_with(1, "posted late"), 1, "Day 1 only: Day 2 is on time");
	cr_assert_eq(issues_created(), 1, "INCONCLUSIVE opens no blocker issue");
	{
		pb_blocker *open = NULL;
		size_t nb = 0;

		cr_assert_eq(pb_store_blockers_open(h.store, "neo4j", &open, &nb, &err), 0);
		cr_assert_eq(nb, 0);
		free(open);
	}
}

Test(ghobs, a_fail_verdict_is_one_comment_and_a_blocker_issue_linked_from_the_promotion)
{
	int64_t pid;
	int base = observe(&pid);
	pb_monitor_sweep_stats st;
	char *text;
	cJSON *is;
	const char *title, *body;

	th_target_down(&tgt);
	st = slots(2 * SLOTS_PER_DAY);
	cr_assert_eq(st.verdicts, 1);
	deliver_all();
	/* Day 1, Day 2, the verdict, the link to the blocker issue */
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 4);
	cr_assert_eq(comments_with(1, "Observation verdict: FAIL"), 1);
	cr_assert_eq(issues_created(), 2, "the promotion issue and one blocker issue");
	text = github_fake_issue_json(fake, REPO, 2);
	cr_assert_not_null(text, "no blocker issue #2");
	is = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(is);
	title = cJSON_GetStringValue(cJSON_GetObjectItem(is, "title"));
	body = cJSON_GetStringValue(cJSON_GetObjectItem(is, "body"));
	cr_assert_not_null(title);
	cr_assert_eq(strncmp(title, "[BLOCKER] Neo4j: observation verdict FAIL", 41), 0, "%s", title);
	cr_assert(has_label(is, "promotion:blocked"));
	cr_assert(has_label(is, "component:neo4j"));
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(is, "labels")), 2);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(is, "state")), "open");
	cr_expect(body && strstr(body, "uptime"), "the evidence is in the blocker: %s", body ? body : "(null)");
	cJSON_Delete(is);
	{
		pb_blocker *open = NULL;
		size_t nb = 0;

		cr_assert_eq(pb_store_blockers_open(h.store, "neo4j", &open, &nb, &err), 0);
		cr_assert_eq(nb, 1);
		cr_expect_eq(open[0].issue_number, 2, "the blocker knows its issue");
		free(open);
	}
	/* the last comment on the promotion issue links blocker issue #2 */
	{
		cJSON *all = comments(1);
		const char *link = body_of(cJSON_GetArrayItem(all, base + 3));

		cr_assert(strstr(link, "Blocked by blocker #1"), "%s", link);
		cr_assert(strstr(link, "Blocker issue: #2"), "%s", link);
		assert_marker_of_a_delivered_comment(link, pid);
		cJSON_Delete(all);
	}
	cr_assert_eq(comments_with(1, "Blocker issue: #2"), 1);
	/* nothing repeats */
	cr_assert_eq(sweep().verdicts, 0);
	deliver_all();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), base + 4);
	cr_assert_eq(issues_created(), 2);
}

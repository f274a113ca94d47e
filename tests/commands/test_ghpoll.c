/* test_ghpoll.c — the GitHub poller against the fake GitHub: blocker issues people open, drift of promotion issues. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "github_fake.h"
#include "pb_cmd.h"
#include "pb_ghbody.h"
#include "pb_ghout.h"
#include "pb_ghpoll.h"
#include "pb_str.h"
#include "testproc.h"

#define TOKEN "ghp_promobotPollToken0123456789"
#define REPO "acme/tta"
#define T0_MS INT64_C(1795597200000)

#define CHECKS \
	"\"checks\": [" \
	"{\"name\":\"unit\",\"criterion\":\"tests\",\"argv\":[\"true\"]}," \
	"{\"name\":\"cov\",\"criterion\":\"coverage\",\"argv\":[\"echo\",\"TOTAL 120 10 85%%\"]," \
	" \"coverage_regex\":\"TOTAL[^%%]* ([0-9.]+)%%\"}," \
	"{\"name\":\"lint\",\"criterion\":\"lint\",\"argv\":[\"true\"]}," \
	"{\"name\":\"types\",\"criterion\":\"types\",\"argv\":[\"true\"]}," \
	"{\"name\":\"sec\",\"criterion\":\"security\",\"argv\":[\"true\"]}]"

/* The blocker form's body as GitHub renders it, Severity worded as the form words it. */
#define BLOCKER_BODY(sev) \
	"### Component Name\n\nNeo4j\n\n### Blocker Type\n\nPerformance\n\n### Target Stage\n\nStaging\n\n" \
	"### Severity\n\n" sev "\n\n### Blocker Description\n\nThe heap runs out at 200 rps.\n\n" \
	"### Acceptance Criteria\n\n- [ ] 500 rps for an hour\n"

static github_fake *fake;
static pb_fake_clock fc;
static pb_config *cfg;
static pb_services svc;
static pb_sink sink;
static pb_buf out;       /* every card emitted (system sink and command replies) */
static char dir[64];

static void capture(pb_sink *s, const pb_card *card)
{
	(void)s;
	pb_card_render_text(card, &out);
	pb_buf_puts(&out, "\n");
}

static void setup(void)
{
	pb_problems probs = { 0 };
	char json[4096];
	pb_err err;
	int r;

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_set_now(fake, T0_MS / 1000);
	setenv("PB_TEST_GH_TOKEN", TOKEN, 1);
	snprintf(dir, sizeof(dir), "/tmp/promobot-ghpoll-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(json, sizeof(json),
		 "{\"storage\": {\"path\": \"%s/promobot.db\"}, \"chat\": {\"platform\": \"console\"},"
		 " \"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_TEST_GH_TOKEN\", \"timeout_ms\": 1000},"
		 " \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\"]},"
		 "            \"bob\": {\"name\": \"Bob\", \"roles\": [\"approver\"]}},"
		 " \"policy\": {\"required_approvals\": 1},"
		 " \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core Infrastructure\","
		 "   \"stage\": \"development\", \"revision\": {\"value\": \"v1\"}, \"github_repo\": \"" REPO "\", " CHECKS
		 "}]}",
		 dir, github_fake_url(fake));
	r = pb_config_parse(json, strlen(json), dir, &cfg, &probs);
	for (size_t i = 0; i < probs.count; i++)
		fprintf(stderr, "config: %s\n", probs.items[i]);
	pb_problems_deinit(&probs);
	cr_assert_eq(r, 0);
	pb_fake_clock_init(&fc, T0_MS);
	pb_err_init(&err);
	cr_assert_eq(pb_services_open(&svc, cfg, &fc.clock, "test-owner", PB_SVC_NO_ENGINE, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_not_null(svc.github);
	sink.emit = capture;
	svc.system_sink = &sink;
	pb_buf_init(&out);
}

static void teardown(void)
{
	pb_services_close(&svc);
	pb_config_free(cfg);
	pb_fake_clock_deinit(&fc);
	github_fake_free(fake);
	pb_buf_deinit(&out);
	tp_remove_dir(dir);
}

TestSuite(ghpoll, .init = setup, .fini = teardown, .timeout = 90);

static int run(const char *user, const char *text)
{
	pb_caller caller = pb_caller_for(cfg, user, user);

	pb_buf_reset(&out);
	return pb_dispatch(&svc, &caller, text, &sink);
}

static pb_ghpoll_stats poll_once(void)
{
	pb_ghpoll_stats st;
	pb_err err;

	pb_err_init(&err);
	pb_buf_reset(&out);
	cr_assert_eq(pb_ghpoll_run(&svc, &st, &err), 0, "%s", pb_err_text(&err));
	return st;
}

static const char *text_out(void)
{
	return out.len ? pb_buf_str(&out) : "";
}

static pb_blocker *open_blockers(size_t *n)
{
	pb_blocker *v = NULL;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_blockers_open(svc.store, "neo4j", &v, n, &err), 0, "%s", pb_err_text(&err));
	return v;
}

static size_t events_of(const char *kind, const char *actor)
{
	pb_event *ev = NULL;
	size_t n = 0, k = 0;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_events_for_component(svc.store, "neo4j", 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		k += !strcmp(ev[i].kind, kind) && (!actor || !strcmp(ev[i].actor, actor));
	free(ev);
	return k;
}

/* request + validate: the promotion is in review. */
static pb_promotion in_review(void)
{
	pb_promotion p;
	pb_err err;

	cr_assert_eq(run("alice", "/promote request neo4j staging heap tuning done"), 0, "%s", text_out());
	cr_assert_eq(run("alice", "/promote validate neo4j"), 0, "%s", text_out());
	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_open_for(svc.store, "neo4j", &p, &err), 0);
	cr_assert_eq(p.state, PB_ST_IN_REVIEW);
	return p;
}

/* ---- blocker issues people open on GitHub ------------------------------ */

Test(ghpoll, blocker_issue_from_github_is_stored_gates_approval_and_resolves_when_closed)
{
	pb_ghpoll_stats st;
	pb_blocker *b;
	size_t n;
	int64_t num;

	in_review();
	num = github_fake_add_issue(fake, REPO, "octo-dev", "[BLOCKER] Neo4j: heap exhausted under load",
				    BLOCKER_BODY("Critical (must be resolved before promotion)"),
				    "promotion:blocked,component:neo4j");
	st = poll_once();
	cr_assert_eq(st.imported, 1);
	cr_assert_eq(st.failed, 0);
	cr_assert(strstr(text_out(), "Blocker opened on GitHub"), "%s", text_out());
	b = open_blockers(&n);
	cr_assert_eq(n, 1);
	cr_assert_eq(b[0].severity, PB_SEV_CRITICAL);
	cr_assert_str_eq(b[0].text, "heap exhausted under load");
	cr_assert_str_eq(b[0].opened_by, "github:octo-dev");
	cr_assert_eq(b[0].issue_number, num);
	free(b);
	cr_assert_eq(events_of("blocker.opened", "github:octo-dev"), 1);

	/* the existing gates read it through storage */
	cr_assert_eq(run("bob", "/promote approve neo4j"), PB_E_REFUSED);
	cr_assert(strstr(text_out(), "critical blocker"), "%s", text_out());
	cr_assert_eq(run("bob", "/promote blockers neo4j"), 0);
	cr_assert(strstr(text_out(), "[critical] heap exhausted under load — github:octo-dev"), "%s", text_out());

	/* polled again (a 304): not imported twice */
	st = poll_once();
	cr_assert_eq(st.imported, 0);
	free(open_blockers(&n));
	cr_assert_eq(n, 1);

	github_fake_set_issue_state(fake, REPO, num, "closed", "completed");
	st = poll_once();
	cr_assert_eq(st.resolved, 1);
	cr_assert(strstr(text_out(), "Blocker resolved on GitHub"), "%s", text_out());
	free(open_blockers(&n));
	cr_assert_eq(n, 0);
	cr_assert_eq(events_of("blocker.resolved", "github"), 1);
	cr_assert_eq(run("bob", "/promote approve neo4j"), 0, "%s", text_out());
}

Test(ghpoll, severity_from_the_form_unknown_is_high)
{
	pb_blocker *b;
	size_t n;

	github_fake_add_issue(fake, REPO, "ana", "[BLOCKER] Neo4j: flaky backup", BLOCKER_BODY("Low (nice to have)"),
			      "promotion:blocked,component:neo4j");
	github_fake_add_issue(fake, REPO, "ana", "backup disk too small", BLOCKER_BODY("Urgent!!"),
			      "promotion:blocked,component:neo4j");
	github_fake_add_issue(fake, REPO, "ana", "[BLOCKER] Neo4j: no severity at all", "just text",
			      "component:neo4j,promotion:blocked");
	/* not a blocker of this component, or not a blocker at all */
	github_fake_add_issue(fake, REPO, "ana", "[BLOCKER] Graph: other", BLOCKER_BODY("Critical (must be resolved before promotion)"),
			      "promotion:blocked,component:graph-api");
	github_fake_add_issue(fake, REPO, "ana", "a question", NULL, "component:neo4j");
	github_fake_add_pull(fake, REPO, "a pull request", "promotion:blocked");
	cr_assert_eq(poll_once().imported, 3);
	b = open_blockers(&n);
	cr_assert_eq(n, 3);
	/* most severe first, then oldest */
	cr_assert_str_eq(b[0].text, "backup disk too small");
	cr_assert_eq(b[0].severity, PB_SEV_HIGH);
	cr_assert_str_eq(b[1].text, "no severity at all");
	cr_assert_eq(b[1].severity, PB_SEV_HIGH);
	cr_assert_str_eq(b[2].text, "flaky backup");
	cr_assert_eq(b[2].severity, PB_SEV_LOW);
	free(b);
}

Test(ghpoll, promobots_own_blocker_issues_are_not_imported_twice)
{
	pb_blocker b, *v;
	pb_err err;
	size_t n;
	int64_t mine, linked;

	/* opened by the bot (marker in the body), its number not stored yet (the outbox did not hear back) */
	mine = github_fake_add_issue(fake, REPO, "promobot[bot]", "[BLOCKER] Neo4j: ours",
				     BLOCKER_BODY("High (should be resolved before promotion)")
				     "\n<!-- promobot:blocker:1 -->\n",
				     "promotion:blocked,component:neo4j");
	/* opened from chat and linked by issue number (no marker needed) */
	linked = github_fake_add_issue(fake, REPO, "promobot[bot]", "[BLOCKER] Neo4j: linked", "no marker here",
				       "promotion:blocked,component:neo4j");
	memset(&b, 0, sizeof(b));
	pb_strlcpy(b.component, "neo4j", sizeof(b.component));
	b.severity = PB_SEV_MEDIUM;
	pb_strlcpy(b.text, "linked", sizeof(b.text));
	pb_strlcpy(b.opened_by, "alice", sizeof(b.opened_by));
	b.opened_at = T0_MS / 1000;
	b.issue_number = linked;
	pb_err_init(&err);
	cr_assert_eq(pb_store_blocker_add(svc.store, &b, &err), 0);
	cr_assert_gt(mine, 0);
	cr_assert_eq(poll_once().imported, 0);
	cr_assert_eq(poll_once().imported, 0);
	v = open_blockers(&n);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].opened_by, "alice");
	free(v);
	/* a blocker opened from chat whose issue someone closed on GitHub is resolved too */
	github_fake_set_issue_state(fake, REPO, linked, "closed", "completed");
	cr_assert_eq(poll_once().resolved, 1);
	free(open_blockers(&n));
	cr_assert_eq(n, 0);
}

Test(ghpoll, github_failing_during_a_poll_changes_nothing)
{
	pb_ghpoll_stats st;
	pb_blocker *v;
	size_t n;
	int64_t num;

	num = github_fake_add_issue(fake, REPO, "octo-dev", "[BLOCKER] Neo4j: x", BLOCKER_BODY("Critical (x)"),
				    "promotion:blocked,component:neo4j");
	/* every attempt of the list call fails (GETs are retried) */
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 4, 500, 0);
	st = poll_once();
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.imported, 0);
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta/issues ", 500), 4);
	free(open_blockers(&n));
	cr_assert_eq(n, 0);
	cr_assert_eq(out.len, 0, "nothing told: %s", text_out());

	/* a hang: every attempt times out (timeout_ms 1000) */
	github_fake_fault(fake, GITHUB_FAULT_HANG, 4, 0, 0);
	st = poll_once();
	cr_assert_eq(st.failed, 1);
	free(open_blockers(&n));
	cr_assert_eq(n, 0);

	cr_assert_eq(poll_once().imported, 1);

	/* closed on GitHub, but GitHub fails the next round (list and confirmation): the blocker stays open */
	github_fake_set_issue_state(fake, REPO, num, "closed", NULL);
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 4, 502, 0);
	st = poll_once();
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.resolved, 0);
	v = open_blockers(&n);
	cr_assert_eq(n, 1);
	free(v);
	cr_assert_eq(poll_once().resolved, 1);
}

/* ---- drift: the promotion's issue changed by hand ---------------------- */

/* The promotion's issue as promobot left it: the outbox delivers every update the commands decided. */
static int64_t promotion_issue(pb_promotion *p)
{
	pb_ghout_stats st;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_ghout_deliver(&svc, 0, &st, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(st.pending, 0, "every update delivered");
	cr_assert_eq(pb_store_promotion_get(svc.store, p->id, p, &err), 0);
	cr_assert_gt(p->issue_number, 0);
	return p->issue_number;
}

static const char *status_text(void)
{
	cr_assert_eq(run("alice", "/promote status neo4j"), 0, "%s", text_out());
	return text_out();
}

/* First sighting stored, second shown (card, status, thread, audit); then cleared when it matches again. */
static void expect_drift(const char *want)
{
	pb_ghpoll_stats st = poll_once();

	cr_assert_eq(st.failed, 0);
	cr_assert_eq(st.checked, 1);
	cr_assert_eq(st.drift_shown, 0, "one sighting is not drift yet (an update may be on its way)");
	cr_assert_null(strstr(status_text(), "GitHub drift"), "%s", text_out());
	st = poll_once();
	cr_assert_eq(st.drift_shown, 1);
	cr_assert(strstr(text_out(), want), "thread: %s", text_out());
	cr_assert(strstr(status_text(), want), "status: %s", text_out());
	cr_assert_eq(run("alice", "/promote status"), 0);
	cr_assert(strstr(text_out(), "in_review ⚠ drift"), "status table: %s", text_out());
	cr_assert_eq(events_of("github.drift", "github"), 1);
	/* a third poll says nothing new */
	cr_assert_eq(poll_once().drift_shown, 0);
	cr_assert_eq(events_of("github.drift", "github"), 1);
}

static void expect_cleared(void)
{
	pb_ghpoll_stats st = poll_once();

	cr_assert_eq(st.drift_cleared, 1);
	cr_assert(strstr(text_out(), "agrees with the promotion again"), "%s", text_out());
	cr_assert_null(strstr(status_text(), "GitHub drift"), "%s", text_out());
	cr_assert_eq(run("alice", "/promote status"), 0);
	cr_assert_null(strstr(text_out(), "drift"), "status table: %s", text_out());
	cr_assert_eq(events_of("github.drift_cleared", "github"), 1);
}

Test(ghpoll, drift_closed_by_hand_is_shown_then_cleared)
{
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	char want[160];

	cr_assert_eq(poll_once().drift_shown, 0);
	cr_assert_eq(poll_once().drift_shown, 0, "a matching issue is no drift");
	github_fake_set_issue_state(fake, REPO, n, "closed", "completed");
	snprintf(want, sizeof(want), "⚠ GitHub drift: issue #%lld was closed by hand; promotion is in review", (long long)n);
	expect_drift(want);
	github_fake_set_issue_state(fake, REPO, n, "open", "reopened");
	expect_cleared();
}

Test(ghpoll, drift_lifecycle_label_removed)
{
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	const char *const *want = pb_ghlabels_expected(PB_ST_IN_REVIEW);
	char text[256];

	cr_assert_not_null(want[0]);
	github_fake_issue_label(fake, REPO, n, want[0], false);
	snprintf(text, sizeof(text), "⚠ GitHub drift: issue #%lld: label %s was removed by hand; promotion is in review",
		 (long long)n, want[0]);
	expect_drift(text);
	github_fake_issue_label(fake, REPO, n, want[0], true);
	expect_cleared();
}

Test(ghpoll, drift_lifecycle_label_added_and_other_labels_ignored)
{
	static const char *const all[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_IN_REVIEW, PB_GH_LABEL_BLOCKED,
					   PB_GH_LABEL_APPROVED, PB_GH_LABEL_COMPLETED };
	const char *const *want = pb_ghlabels_expected(PB_ST_IN_REVIEW);
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	const char *extra = NULL;
	char text[256];

	for (size_t i = 0; i < 5 && !extra; i++) {
		bool expected = false;

		for (size_t k = 0; want[k]; k++)
			expected |= !strcmp(want[k], all[i]);
		if (!expected)
			extra = all[i];
	}
	cr_assert_not_null(extra);
	/* labels outside the lifecycle are the team's business */
	github_fake_issue_label(fake, REPO, n, "priority:high", true);
	cr_assert_eq(poll_once().drift_shown, 0);
	cr_assert_eq(poll_once().drift_shown, 0);
	github_fake_issue_label(fake, REPO, n, extra, true);
	snprintf(text, sizeof(text), "⚠ GitHub drift: issue #%lld: label %s was added by hand; promotion is in review",
		 (long long)n, extra);
	expect_drift(text);
	github_fake_issue_label(fake, REPO, n, extra, false);
	expect_cleared();
}

Test(ghpoll, drift_issue_deleted_or_gone)
{
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	pb_err err;
	char text[256];

	github_fake_delete_issue(fake, REPO, n);
	snprintf(text, sizeof(text), "⚠ GitHub drift: issue #%lld was deleted on GitHub; promotion is in review", (long long)n);
	expect_drift(text);
	/* a number GitHub does not know (transferred away): 404 */
	pb_err_init(&err);
	pb_fake_clock_advance(&fc, 60000);
	cr_assert_eq(pb_store_promotion_set_issue(svc.store, p.id, 99, pb_services_now(&svc), &err), 0);
	cr_assert_eq(poll_once().drift_shown, 0, "the promotion changed: seen once more before it is shown");
	cr_assert_eq(poll_once().drift_shown, 1);
	cr_assert(strstr(status_text(), "⚠ GitHub drift: issue #99 no longer exists in acme/tta (deleted or "
			 "transferred: GitHub answered 404); promotion is in review"), "%s", text_out());
}

Test(ghpoll, drift_is_not_touched_while_github_fails)
{
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	pb_ghpoll_stats st;
	char want[160];

	github_fake_set_issue_state(fake, REPO, n, "closed", "not_planned");
	snprintf(want, sizeof(want), "issue #%lld was closed by hand (not planned); promotion is in review", (long long)n);
	expect_drift(want);
	github_fake_set_issue_state(fake, REPO, n, "open", NULL);
	/* the list and the issue GET both fail on every attempt: the drift shown stays as it was */
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 8, 500, 0);
	st = poll_once();
	cr_assert_eq(st.failed, 2);
	cr_assert_eq(st.drift_cleared, 0);
	cr_assert(strstr(status_text(), want), "%s", text_out());
	expect_cleared();
}

Test(ghpoll, a_promotion_that_moves_between_polls_is_no_drift)
{
	pb_promotion p = in_review();
	int64_t n = promotion_issue(&p);
	pb_ghpoll_stats st;

	github_fake_set_issue_state(fake, REPO, n, "closed", "completed");
	cr_assert_eq(poll_once().drift_shown, 0);
	/* the promotion moved (its label update still on its way): the sighting starts over */
	cr_assert_eq(run("alice", "/promote cancel neo4j"), 0, "%s", text_out());
	st = poll_once();
	cr_assert_eq(st.checked, 0, "a cancelled promotion's closed issue is what it implies");
	cr_assert_eq(st.drift_shown, 0);
	cr_assert_eq(events_of("github.drift", NULL), 0);
}

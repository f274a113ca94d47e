/* test_ghvalidate.c — validate's GitHub sources (checks + statuses, workflow dispatch/issue) against the fake GitHub. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github.h"
#include "gh_harness.h"
#include "pb_vsources.h"

#define REPO "acme/tta"
#define TOKEN "ghp_validateToken0123456789abcdef"
#define WF_ISSUE "component-promotion-validation.yml"
#define WF_DISPATCH "validate.yml"
#define MARKER "## 🤖 Automated Promotion Validation"

#define COMP(id, validation) \
	"{\"id\": \"" id "\", \"name\": \"" id "\", \"group\": \"Core Infrastructure\", \"stage\": \"development\"," \
	" \"github_repo\": \"" REPO "\", \"revision\": {\"value\": \"local-" id "\"}, \"validation\": " validation "}"

#define CHECK_PATTERNS \
	"\"checks\": {\"tests\": [\"unit*\"], \"coverage\": [\"coverage\"], \"lint\": [\"lint\"]," \
	" \"types\": [\"pyright\"], \"security\": [\"bandit\"]}"

static const char *const CONFIG =
	"{\"storage\": {\"path\": \"@DIR@/promobot.db\"}, \"chat\": {\"platform\": \"console\"},"
	" \"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_TEST_GH_VALIDATE\", \"timeout_ms\": 1000},"
	" \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]},"
	"            \"bob\": {\"name\": \"Bob\", \"roles\": [\"approver\"]}},"
	" \"policy\": {\"required_approvals\": 1},"
	" \"components\": ["
	COMP("checks", "{\"source\": [\"github_checks\"], \"timeout_s\": 120, \"poll_s\": 15, " CHECK_PATTERNS "}") ","
	COMP("stat", "{\"source\": [\"github_checks\"], \"timeout_s\": 60, \"poll_s\": 15, \"checks\": {"
		     "\"tests\": [\"ci/tests\"], \"coverage\": [\"ci/coverage\"], \"lint\": [\"ci/lint\"],"
		     " \"types\": [\"ci/types\"], \"security\": [\"ci/security\"]}}") ","
	COMP("wfd", "{\"source\": [\"github_workflow\"], \"timeout_s\": 120, \"poll_s\": 15,"
		    " \"workflow\": {\"mode\": \"dispatch\", \"file\": \"" WF_DISPATCH "\", \"ref\": \"main\","
		    " \"inputs\": {\"level\": \"full\"}}}") ","
	COMP("wfi", "{\"source\": [\"github_workflow\"], \"timeout_s\": 120, \"poll_s\": 15}") ","
	"{\"id\": \"both\", \"name\": \"both\", \"stage\": \"development\", \"github_repo\": \"" REPO "\","
	" \"revision\": {\"value\": \"local-both\"},"
	" \"checks\": [{\"name\": \"unit\", \"criterion\": \"tests\", \"argv\": [\"true\"]}],"
	" \"validation\": {\"source\": [\"local\", \"github_checks\"], \"timeout_s\": 60, \"poll_s\": 15,"
	" \"checks\": {\"tests\": [\"unit*\"], \"coverage\": [\"coverage\"], \"lint\": [\"lint\"],"
	" \"types\": [\"pyright\"], \"security\": [\"bandit\"]}}}"
	"]}";

static th h;
static github_fake *fake;
static char sha[41];

static void setup(void)
{
	char *cfg;
	size_t n = strlen(CONFIG) + 128;
	pb_err err;

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_add_workflow(fake, REPO, 77, WF_ISSUE);
	github_fake_add_workflow(fake, REPO, 78, WF_DISPATCH);
	setenv("PB_TEST_GH_VALIDATE", TOKEN, 1);
	cfg = malloc(n);
	snprintf(cfg, n, CONFIG, github_fake_url(fake));
	th_setup_config(&h, cfg);
	free(cfg);
	github_fake_set_now(fake, th_now(&h));
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&h.cfg->github, &h.clock.clock, &h.svc.github, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_ref_sha(h.svc.github, REPO, "heads/main", sha, &err), 0, "%s", pb_err_text(&err));
}

static void teardown(void)
{
	github_fake_on_request(fake, NULL, NULL);
	pb_github_free(h.svc.github);
	h.svc.github = NULL;
	th_teardown(&h);
	github_fake_free(fake);
}

static void request(const char *comp)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "request %s staging", comp);
	cr_assert_eq(th_run(&h, "alice", cmd), 0, "%s", th_out(&h));
}

static int validate(const char *comp)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "validate %s", comp);
	return th_run(&h, "alice", cmd);
}

static pb_validation latest(const char *comp)
{
	pb_promotion p;
	pb_validation v;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_open_for(h.store, comp, &p, &err), 0);
	cr_assert_eq(pb_store_validation_latest(h.store, p.id, &v, &err), 0, "%s", pb_err_text(&err));
	return v;
}

static pb_promotion promotion(const char *comp)
{
	pb_promotion p;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_open_for(h.store, comp, &p, &err), 0);
	return p;
}

static int64_t green_checks(void)
{
	github_fake_add_check_run(fake, REPO, sha, "unit (3.11)", "completed", "success");
	github_fake_add_check_run_ex(fake, REPO, sha, "coverage", "completed", "success", "Coverage 85.2%",
				     "Lines: 852/1000");
	github_fake_add_check_run(fake, REPO, sha, "pyright", "completed", "success");
	github_fake_add_check_run(fake, REPO, sha, "bandit", "completed", "neutral");
	return github_fake_add_check_run_ex(fake, REPO, sha, "lint", "completed", "success", NULL, NULL);
}

Test(ghvalidate, checks_all_green_pass_and_approvals_bind_to_the_sha, .init = setup, .fini = teardown)
{
	pb_validation v;
	char expect[160];

	green_checks();
	github_fake_add_check_run(fake, REPO, sha, "unrelated-deploy", "completed", "failure");
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "checks"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "coverage 85.2% ≥ 70% (GitHub)"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "security passing"), "neutral passes, as in branch protection: %s", th_out(&h));
	v = latest("checks");
	cr_expect_str_eq(v.revision, sha);
	cr_expect(v.passed);
	cr_expect(v.coverage > 85.1 && v.coverage < 85.3);
	cr_expect(strstr(v.result_json, "\"github_checks\"") && strstr(v.result_json, "\"unit (3.11)\""), "%s",
		  v.result_json);
	cr_expect(!strstr(v.result_json, "unrelated-deploy"), "checks no criterion asks for stay out");
	pb_validation_deinit(&v);
	cr_expect_str_eq(promotion("checks").revision, sha);
	cr_assert_eq(th_run(&h, "alice", "status checks"), 0, "%s", th_out(&h));
	snprintf(expect, sizeof(expect), "GitHub checks: 5 on %.12s (heads/main)", sha);
	cr_expect(strstr(th_out(&h), expect), "status shows what was read: %s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve checks"), 0, "%s", th_out(&h));
	snprintf(expect, sizeof(expect), "approved revision %s", sha);
	cr_expect(strstr(th_out(&h), expect), "%s", th_out(&h));
}

Test(ghvalidate, one_failing_check_fails_naming_it_with_its_url, .init = setup, .fini = teardown)
{
	int64_t lint = green_checks();
	char url[128];
	pb_validation v;

	github_fake_set_check_run(fake, REPO, lint, "completed", "failure", NULL, NULL);
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "checks"), PB_ST_BLOCKED);
	snprintf(url, sizeof(url), "https://github.com/%s/runs/%" PRId64, REPO, lint);
	cr_expect(strstr(th_out(&h), "lint failing: lint failure — "), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), url), "%s", th_out(&h));
	v = latest("checks");
	cr_expect(!v.passed);
	cr_expect(strstr(v.result_json, url));
	pb_validation_deinit(&v);
}

Test(ghvalidate, a_criterion_without_any_matching_check_is_missing, .init = setup, .fini = teardown)
{
	github_fake_add_check_run(fake, REPO, sha, "unit", "completed", "success");
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "lint: missing — no check run or status on"), "%s", th_out(&h));
}

/* The fake's hook: completes check `target` once the bot has read the check runs `after` times. */
typedef struct complete_hook {
	int64_t target;
	int after;
	int seen;
	const char *conclusion;
} complete_hook;

static void complete_later(github_fake *f, void *ud, const char *req)
{
	complete_hook *c = ud;

	if (!strstr(req, "/check-runs") || strncmp(req, "GET ", 4) != 0)
		return;
	if (++c->seen == c->after)
		github_fake_set_check_run(f, REPO, c->target, "completed", c->conclusion, NULL, NULL);
}

Test(ghvalidate, pending_checks_are_polled_until_they_complete, .init = setup, .fini = teardown)
{
	int64_t lint = green_checks();
	complete_hook hk = { .target = lint, .after = 3, .conclusion = "success" };
	int64_t t0 = pb_clock_mono_ms(&h.clock.clock);
	pb_github_stats st;

	github_fake_set_check_run(fake, REPO, lint, "in_progress", NULL, NULL, NULL);
	github_fake_on_request(fake, complete_later, &hk);
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "⏳ 1 check pending on"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), ": lint"), "%s", th_out(&h));
	/* read at polls 1, 2 (pending) and 3 (completed): two waits of poll_s on the fake clock */
	cr_expect_eq(pb_clock_mono_ms(&h.clock.clock) - t0, 30000);
	pb_github_get_stats(h.svc.github, &st);
	cr_expect_gt(st.not_modified, 0, "unchanged polls are answered 304 thanks to the ETag");
}

Test(ghvalidate, pending_beyond_timeout_fails_naming_the_pending_checks, .init = setup, .fini = teardown)
{
	int64_t lint = green_checks();
	int64_t t0 = pb_clock_mono_ms(&h.clock.clock);
	pb_validation v;

	github_fake_set_check_run(fake, REPO, lint, "queued", NULL, NULL, NULL);
	github_fake_add_check_run(fake, REPO, sha, "unit-slow", "in_progress", NULL);
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "lint: lint still pending after 120 s (timeout)"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "tests: unit-slow still pending"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "⏳ 2 checks pending"), "%s", th_out(&h));
	cr_expect_leq(pb_clock_mono_ms(&h.clock.clock) - t0, 120000, "never waits past timeout_s");
	cr_expect_geq(pb_clock_mono_ms(&h.clock.clock) - t0, 105000);
	v = latest("checks");
	cr_expect(strstr(v.result_json, "\"timed_out\":true"), "%s", v.result_json);
	pb_validation_deinit(&v);
}

Test(ghvalidate, statuses_only_with_coverage_from_the_description, .init = setup, .fini = teardown)
{
	pb_validation v;

	github_fake_add_status(fake, REPO, sha, "ci/tests", "success");
	github_fake_add_status_ex(fake, REPO, sha, "ci/coverage", "success", "Coverage 74.2%",
				  "https://ci.example/cov");
	github_fake_add_status(fake, REPO, sha, "ci/lint", "success");
	github_fake_add_status(fake, REPO, sha, "ci/types", "success");
	github_fake_add_status(fake, REPO, sha, "ci/security", "success");
	request("stat");
	cr_assert_eq(validate("stat"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "stat"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "coverage 74.2% ≥ 70% (GitHub)"), "%s", th_out(&h));
	v = latest("stat");
	cr_expect(strstr(v.result_json, "\"kind\":\"status\""), "%s", v.result_json);
	pb_validation_deinit(&v);
}

Test(ghvalidate, coverage_never_invented_when_no_percentage_is_stated, .init = setup, .fini = teardown)
{
	pb_validation v;

	github_fake_add_status(fake, REPO, sha, "ci/tests", "success");
	github_fake_add_status_ex(fake, REPO, sha, "ci/coverage", "success", "Coverage report uploaded", NULL);
	github_fake_add_status(fake, REPO, sha, "ci/lint", "success");
	github_fake_add_status(fake, REPO, sha, "ci/types", "success");
	github_fake_add_status(fake, REPO, sha, "ci/security", "success");
	request("stat");
	cr_assert_eq(validate("stat"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "stat"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "coverage: no percentage in the matching checks"), "%s", th_out(&h));
	v = latest("stat");
	cr_expect(v.coverage < 0);
	pb_validation_deinit(&v);
}

Test(ghvalidate, mixed_check_runs_and_statuses_a_failing_status_fails, .init = setup, .fini = teardown)
{
	green_checks();
	/* the same criterion fed by a commit status too: the failing one decides */
	github_fake_add_status_ex(fake, REPO, sha, "unit/legacy-ci", "error", "Jenkins: 3 tests failed",
				  "https://jenkins.example/42");
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "tests failing: unit/legacy-ci error — https://jenkins.example/42"), "%s",
		  th_out(&h));
}

Test(ghvalidate, more_than_a_hundred_check_runs_are_all_read, .init = setup, .fini = teardown)
{
	pb_validation v;
	char name[32];

	green_checks();
	for (int i = 0; i < 140; i++) {
		snprintf(name, sizeof(name), "unit-%03d", i);
		github_fake_add_check_run(fake, REPO, sha, name, "completed", "success");
	}
	/* the failing one sits on the second page */
	github_fake_add_check_run(fake, REPO, sha, "unit-last", "completed", "timed_out");
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "unit-last timed_out"), "%s", th_out(&h));
	cr_expect_geq(github_fake_count(fake, "GET /repos/" REPO "/commits/", 200), 2);
	v = latest("checks");
	cr_expect(strstr(v.result_json, "\"unit-139\""), "%s", v.result_json);
	pb_validation_deinit(&v);
}

Test(ghvalidate, local_and_github_both_contribute, .init = setup, .fini = teardown)
{
	pb_validation v;

	green_checks();
	request("both");
	cr_assert_eq(validate("both"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "both"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "tests passing; tests passing (1 check on GitHub)"), "%s", th_out(&h));
	v = latest("both");
	cr_expect_str_eq(v.revision, sha, "GitHub's commit is the revision");
	cr_expect(strstr(v.result_json, "\"local\":{\"revision\":\"local-both\"}"), "%s", v.result_json);
	pb_validation_deinit(&v);
}

/* The fake's hook: from the `after`-th read of the check runs on, GitHub fails (`kind`, `n` requests). */
typedef struct fault_hook {
	int after;
	int seen;
	github_fault_kind kind;
	int status;
	int n;
} fault_hook;

static void fail_later(github_fake *f, void *ud, const char *req)
{
	fault_hook *fh = ud;

	if (strncmp(req, "GET ", 4) == 0 && strstr(req, "/check-runs") && ++fh->seen == fh->after)
		github_fake_fault(f, fh->kind, fh->n, fh->status, 0);
}

static void assert_failed_consistently(const char *comp, const char *text)
{
	pb_validation v;

	cr_expect_eq(th_state(&h, comp), PB_ST_BLOCKED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), text), "%s", th_out(&h));
	v = latest(comp);
	cr_expect(!v.passed);
	cr_expect(strstr(v.result_json, text), "%s", v.result_json);
	pb_validation_deinit(&v);
	cr_expect_eq(promotion(comp).revision[0] != '\0', 1, "the failed validation is stored with its revision");
}

Test(ghvalidate, github_500_while_polling_is_a_clear_failure, .init = setup, .fini = teardown)
{
	int64_t lint = green_checks();
	fault_hook fh = { .after = 2, .kind = GITHUB_FAULT_STATUS, .status = 500, .n = 4 }; /* every attempt of one GET */

	github_fake_set_check_run(fake, REPO, lint, "in_progress", NULL, NULL, NULL);
	github_fake_on_request(fake, fail_later, &fh);
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	assert_failed_consistently("checks", "GitHub failed while reading the checks of");
	cr_expect(strstr(th_out(&h), "HTTP 500"), "%s", th_out(&h));
	/* a later validation works again */
	github_fake_on_request(fake, NULL, NULL);
	github_fake_set_check_run(fake, REPO, lint, "completed", "success", NULL, NULL);
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "checks"), PB_ST_IN_REVIEW, "%s", th_out(&h));
}

Test(ghvalidate, github_hanging_while_polling_is_a_clear_failure, .init = setup, .fini = teardown)
{
	int64_t lint = green_checks();
	fault_hook fh = { .after = 2, .kind = GITHUB_FAULT_HANG, .n = 4 };

	github_fake_set_check_run(fake, REPO, lint, "in_progress", NULL, NULL, NULL);
	github_fake_on_request(fake, fail_later, &fh);
	request("checks");
	cr_assert_eq(validate("checks"), 0, "%s", th_out(&h));
	assert_failed_consistently("checks", "GitHub failed while reading the checks of");
	cr_expect(strstr(th_out(&h), "imeout") || strstr(th_out(&h), "imed out"), "%s", th_out(&h));
}

/* ---- workflow: dispatch ---- */

static void dispatch_flow(const char *conclusion)
{
	ghh_run_hook rh = { .repo = REPO, .after = 2, .conclusion = conclusion };

	github_fake_on_request(fake, ghh_finish_run, &rh);
	request("wfd");
	cr_assert_eq(validate("wfd"), 0, "%s", th_out(&h));
	cr_expect_eq(github_fake_count(fake, "POST /repos/" REPO "/actions/workflows/" WF_DISPATCH "/dispatches", 204),
		     1);
	cr_expect_eq(rh.seen, 2, "polled until completed");
}

Test(ghvalidate, workflow_dispatch_run_found_polled_success, .init = setup, .fini = teardown)
{
	pb_validation v;

	dispatch_flow("success");
	cr_expect_eq(th_state(&h, "wfd"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "workflow passed: https://github.com/" REPO "/actions/runs/"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "⏳ workflow " WF_DISPATCH " run"), "%s", th_out(&h));
	v = latest("wfd");
	cr_expect_str_eq(v.revision, sha, "the run's head commit");
	cr_expect(strstr(v.result_json, "\"run_id\":"), "%s", v.result_json);
	cr_expect(strstr(v.result_json, "\"conclusion\":\"success\""), "%s", v.result_json);
	pb_validation_deinit(&v);
	cr_assert_eq(th_run(&h, "alice", "status wfd"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "GitHub workflow: success https://github.com/" REPO "/actions/runs/"), "%s",
		  th_out(&h));
}

Test(ghvalidate, workflow_dispatch_sends_component_stage_and_inputs, .init = setup, .fini = teardown)
{
	pb_github_run *runs = NULL;
	size_t n = 0;
	pb_err err;
	cJSON *all = NULL;

	dispatch_flow("success");
	pb_err_init(&err);
	cr_assert_eq(pb_github_get_all(h.svc.github, "/repos/" REPO "/actions/runs?event=workflow_dispatch",
				       "workflow_runs", 0, &all, &err), 0, "%s", pb_err_text(&err));
	{
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(all, 0), "inputs");

		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "component")), "wfd");
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "target_stage")), "staging");
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "level")), "full");
	}
	cJSON_Delete(all);
	free(runs);
	(void)n;
}

Test(ghvalidate, workflow_dispatch_failure_fails_with_the_run_url, .init = setup, .fini = teardown)
{
	dispatch_flow("failure");
	cr_expect_eq(th_state(&h, "wfd"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "workflow failure: https://github.com/" REPO "/actions/runs/"), "%s", th_out(&h));
}

Test(ghvalidate, workflow_dispatch_never_claims_an_earlier_run, .init = setup, .fini = teardown)
{
	pb_validation v1, v2;

	dispatch_flow("failure");
	v1 = latest("wfd");
	/* second validation: a new dispatch, a new run; the first one (already claimed) is never taken */
	{
		ghh_run_hook rh = { .repo = REPO, .after = 1, .conclusion = "success" };

		github_fake_on_request(fake, ghh_finish_run, &rh);
		cr_assert_eq(validate("wfd"), 0, "%s", th_out(&h));
	}
	v2 = latest("wfd");
	cr_expect(v2.passed, "%s", v2.result_json);
	cr_expect(strcmp(v1.result_json, v2.result_json) != 0);
	cr_expect_eq(th_state(&h, "wfd"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	pb_validation_deinit(&v1);
	pb_validation_deinit(&v2);
}

/* GitHub answering 502 to every attempt of one poll of the run: a failed validation with the run's URL. */
static void fail_run_poll(github_fake *f, void *ud, const char *req)
{
	int *seen = ud;

	if (strncmp(req, "GET ", 4) == 0 && strstr(req, "/actions/runs/") && ++*seen == 1)
		github_fake_fault(f, GITHUB_FAULT_STATUS, 4, 502, 0);
}

Test(ghvalidate, workflow_run_poll_failing_is_a_clear_failure, .init = setup, .fini = teardown)
{
	int seen = 0;

	github_fake_on_request(fake, fail_run_poll, &seen);
	request("wfd");
	cr_assert_eq(validate("wfd"), 0, "%s", th_out(&h));
	assert_failed_consistently("wfd", "GitHub failed while polling the workflow run");
	cr_expect(strstr(th_out(&h), "— run https://github.com/" REPO "/actions/runs/"), "%s", th_out(&h));
}

/* ---- workflow: issue mode ---- */

/* The request's outbox delivered: the promotion issue opened as the bot opens it (labelled promotion:requested). */
static int64_t open_issue(const char *comp)
{
	int64_t n;

	ghh_deliver(&h);
	n = promotion(comp).issue_number;
	cr_assert_gt(n, 0, "the promotion issue was not opened");
	return n;
}

static int64_t issue_run(int64_t number, const char *conclusion, const char *comment, const char *label)
{
	char title[128];

	snprintf(title, sizeof(title), "[PROMOTION] %s: Development → Staging", "wfi");
	if (comment)
		github_fake_add_comment(fake, REPO, number, "github-actions[bot]", comment);
	if (label)
		github_fake_issue_label(fake, REPO, number, label, true);
	return github_fake_add_run(fake, REPO, 77, "issues", title, "completed", conclusion);
}

Test(ghvalidate, issue_mode_without_the_issue_yet_never_passes, .init = setup, .fini = teardown)
{
	request("wfi");
	/* GitHub refuses to open it for now (validate delivers what is owed before it waits) */
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_STATUS, 100, 502, 0);
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "waiting for the promotion issue"), "%s", th_out(&h));
}

Test(ghvalidate, issue_mode_reads_run_comment_and_labels, .init = setup, .fini = teardown)
{
	int64_t n;
	pb_validation v;

	request("wfi");
	n = open_issue("wfi");
	/* an older run for another issue is not ours */
	github_fake_add_run(fake, REPO, 77, "issues", "[PROMOTION] other: Development → Staging", "completed",
			    "failure");
	issue_run(n, "success",
		  MARKER "\n\n**Component**: wfi\n**Coverage**: 82.5%\n\n- ✅ Tests passed\n- ✅ Linting passed\n",
		  "promotion:in-review");
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "coverage 82.5% ≥ 70% (workflow)"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "workflow passed (promotion:in-review)"), "%s", th_out(&h));
	v = latest("wfi");
	cr_expect(strstr(v.result_json, "\"label\":\"promotion:in-review\""), "%s", v.result_json);
	cr_expect(strstr(v.result_json, "\"comment_url\""), "%s", v.result_json);
	cr_expect_eq(v.coverage, 82.5);
	pb_validation_deinit(&v);
}

Test(ghvalidate, issue_mode_failures_from_the_comment_fail_their_criteria, .init = setup, .fini = teardown)
{
	int64_t n;

	request("wfi");
	n = open_issue("wfi");
	issue_run(n, "failure",
		  MARKER "\n\n**Coverage**: 61.0%\n\n### Failures\n- ❌ Coverage below threshold\n- ❌ Pyright found 3 type errors\n",
		  "promotion:blocked");
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "coverage failing (workflow): Coverage below threshold"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "types failing (workflow): Pyright found 3 type errors"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "workflow failure: https://github.com/" REPO "/actions/runs/"), "%s", th_out(&h));
}

Test(ghvalidate, issue_mode_failed_before_commenting_gives_the_run_url, .init = setup, .fini = teardown)
{
	int64_t n, run;
	char expect[200];

	request("wfi");
	n = open_issue("wfi");
	run = issue_run(n, "failure", NULL, NULL);
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED);
	snprintf(expect, sizeof(expect), "workflow failure before commenting: https://github.com/%s/actions/runs/%" PRId64,
		 REPO, run);
	cr_expect(strstr(th_out(&h), expect), "%s", th_out(&h));
}

Test(ghvalidate, issue_mode_success_contradicted_by_blocked_label_fails, .init = setup, .fini = teardown)
{
	int64_t n;

	request("wfi");
	n = open_issue("wfi");
	issue_run(n, "success", MARKER "\n\n**Coverage**: 90%\n", "promotion:blocked");
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "workflow succeeded but labeled #"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "promotion:blocked"), "%s", th_out(&h));
}

Test(ghvalidate, issue_mode_revalidation_never_reuses_the_claimed_run, .init = setup, .fini = teardown)
{
	int64_t n;

	request("wfi");
	n = open_issue("wfi");
	issue_run(n, "success", MARKER "\n\n**Coverage**: 90%\n", "promotion:in-review");
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "wfi"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	/* no new run since: the old pass is not reported again */
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "appeared within 120 s (timeout)"), "%s", th_out(&h));
}

/*
 * GitHub's side of a re-validation: the workflow starts when the issue is labelled promotion:requested
 * again, and answers (comment, label, run) by the time the bot looks for runs.
 */
typedef struct relabel_hook {
	int64_t issue;
	bool labelled;
	int runs;
} relabel_hook;

static void workflow_on_relabel(github_fake *f, void *ud, const char *req)
{
	relabel_hook *rh = ud;
	char labels[96];

	(void)f;
	snprintf(labels, sizeof(labels), "POST /repos/" REPO "/issues/%" PRId64 "/labels", rh->issue);
	if (!strcmp(req, labels))
		rh->labelled = true;
	else if (rh->labelled && !strncmp(req, "GET /repos/" REPO "/actions/", 23)) {
		rh->labelled = false;
		rh->runs++;
		issue_run(rh->issue, "success", MARKER "\n\n**Coverage**: 91%\n", "promotion:in-review");
	}
}

Test(ghvalidate, issue_mode_revalidation_relabels_first_so_the_workflow_runs_again, .init = setup, .fini = teardown)
{
	relabel_hook rh = { 0 };

	request("wfi");
	rh.issue = open_issue("wfi");
	issue_run(rh.issue, "success", MARKER "\n\n**Coverage**: 90%\n", "promotion:in-review");
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "wfi"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	ghh_deliver(&h);
	/* a new commit: validate again; its transition puts promotion:requested back, which starts the workflow */
	github_fake_set_now(fake, th_now(&h));
	github_fake_on_request(fake, workflow_on_relabel, &rh);
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(rh.runs, 1, "the label went out before the wait");
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_IN_REVIEW, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "coverage 91.0% ≥ 70% (workflow)"), "the new run's answer: %s", th_out(&h));
}

Test(ghvalidate, issue_mode_waits_for_the_run_then_times_out, .init = setup, .fini = teardown)
{
	int64_t t0;

	request("wfi");
	open_issue("wfi");
	t0 = pb_clock_mono_ms(&h.clock.clock);
	cr_assert_eq(validate("wfi"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "wfi"), PB_ST_BLOCKED);
	cr_expect(strstr(th_out(&h), "no issues run of " WF_ISSUE " appeared within 120 s (timeout)"), "%s",
		  th_out(&h));
	cr_expect(strstr(th_out(&h), "⏳ waiting for the issues run"), "%s", th_out(&h));
	cr_expect_leq(pb_clock_mono_ms(&h.clock.clock) - t0, 120000);
}

Test(ghvalidate, dry_run_names_the_github_sources_and_calls_nothing, .init = setup, .fini = teardown)
{
	int before;

	request("checks");
	before = github_fake_count(fake, "GET ", 0);
	cr_assert_eq(th_run(&h, "alice", "validate checks --dry-run"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "read the check runs and commit statuses of heads/main in " REPO), "%s", th_out(&h));
	cr_expect_eq(github_fake_count(fake, "GET ", 0), before);
	cr_expect_eq(th_state(&h, "checks"), PB_ST_REQUESTED);
}

/* ---- pieces ---- */

Test(ghvalidate, percentage_reader)
{
	cr_expect_eq(pb_vsrc_percentage("Coverage 74.2%"), 74.2);
	cr_expect_eq(pb_vsrc_percentage("coverage: 80 % of lines"), 80);
	cr_expect_eq(pb_vsrc_percentage("100%"), 100);
	cr_expect_eq(pb_vsrc_percentage("grew by 250% then 61.5%"), 61.5, "out-of-range values are skipped");
	cr_expect_eq(pb_vsrc_percentage("no figure"), -1);
	cr_expect_eq(pb_vsrc_percentage("%"), -1);
	cr_expect_eq(pb_vsrc_percentage(".%"), -1);
	cr_expect_eq(pb_vsrc_percentage(NULL), -1);
}

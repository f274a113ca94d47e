/* test_ghflow.c — a whole promotion on the fake GitHub and a real engine; GitHub failing in each step. */
#include <criterion/criterion.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../commands/gh_harness.h"
#include "../commands/golden.h"
#include "fixture.h"
#include "github.h"
#include "pb_deploy.h"

/*
 * The commands run through the real dispatcher on the harness's fake clock;
 * the outbox is delivered by pb_ghout_deliver (what the bot's background job
 * runs) against the in-process fake GitHub; deploy creates, starts, health
 * checks and validates a container on the engine under test. Every flow ends
 * in one exact state (expect_end_state), whatever failed on the way.
 */

#define REPO "acme/tta"
#define TOKEN "ghp_ghflowTestToken0123456789abcd"
#define MPATH "docs/components/neo4j/MATURITY.md"
#define PROJECT "PVT_kwDOflow01"
#define WF_ISSUE_ID 77
#define WF_DISPATCH_ID 78
#define WF_ISSUE "component-promotion-validation.yml"
#define WF_DISPATCH "validate.yml"
#define PW "ghflow-neo4j-pw-31"
#define ENV_URL "https://staging.example.org/neo4j"
#define WF_COMMENT \
	"## 🤖 Automated Promotion Validation\n\n**Component**: Neo4j\n**Coverage**: 88.0%\n\n- ✅ Tests passed\n"
/* 2026-12-06 10:00:00 UTC: the day complete runs (the golden MATURITY.md's date) */
#define COMPLETE_AT_MS 1796551200000LL

typedef enum { SRC_LOCAL = 1, SRC_CHECKS = 2, SRC_WF_ISSUE = 4, SRC_WF_DISPATCH = 8 } src;
typedef enum { STEP_NONE, STEP_REQUEST, STEP_VALIDATE, STEP_APPROVE, STEP_DEPLOY, STEP_COMPLETE } step;
typedef enum { FAULT_NONE, FAULT_500, FAULT_429, FAULT_403, FAULT_HANG } fault;

static th h;
static github_fake *fake;
static char comp[96], sha[41], label_comp[128];
static int seeded_commits;

/* ---- world ---- */

/* The config: one component mirrored to REPO, validated from `sources`, deployed as the neo4j fake. */
static char *config_text(unsigned sources, int port)
{
	cJSON *root = cJSON_CreateObject(), *gh, *c, *v, *srcs, *staging, *checks;
	char *text;
	static const char *const local_checks =
		"[{\"name\":\"unit\",\"criterion\":\"tests\",\"argv\":[\"true\"]},"
		"{\"name\":\"cov\",\"criterion\":\"coverage\",\"argv\":[\"echo\",\"TOTAL 100 5 95%\"],"
		" \"coverage_regex\":\"TOTAL.* ([0-9]+)%\"},"
		"{\"name\":\"lint\",\"criterion\":\"lint\",\"argv\":[\"true\"]},"
		"{\"name\":\"types\",\"criterion\":\"types\",\"argv\":[\"true\"]},"
		"{\"name\":\"sec\",\"criterion\":\"security\",\"argv\":[\"true\"]}]";

	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "storage"), "path", "@DIR@/promobot.db");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "chat"), "platform", "console");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(root, "docker"), "timeout_s", 60);
	gh = cJSON_AddObjectToObject(root, "github");
	cJSON_AddStringToObject(gh, "api_url", github_fake_url(fake));
	cJSON_AddStringToObject(gh, "token_env", "PB_TEST_GITHUB_TOKEN");
	cJSON_AddNumberToObject(gh, "timeout_ms", 1000); /* a hang costs a second of real time */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(gh, "project"), "id", PROJECT);
	cJSON_AddItemToObject(root, "users", fx_users(true));
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(root, "policy"), "required_approvals", 1);
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "components"), c);
	cJSON_AddStringToObject(c, "id", comp);
	cJSON_AddStringToObject(c, "name", "Neo4j");
	cJSON_AddStringToObject(c, "group", "Core Infrastructure");
	cJSON_AddStringToObject(c, "stage", "development");
	cJSON_AddStringToObject(c, "github_repo", REPO);
	cJSON_AddStringToObject(c, "github_maturity_path", MPATH);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "revision"), "value", "v-flow");
	cJSON_AddItemToObject(c, "checks", cJSON_Parse(local_checks));
	v = cJSON_AddObjectToObject(c, "validation");
	srcs = cJSON_AddArrayToObject(v, "source");
	if (sources & SRC_LOCAL)
		cJSON_AddItemToArray(srcs, cJSON_CreateString("local"));
	if (sources & SRC_CHECKS)
		cJSON_AddItemToArray(srcs, cJSON_CreateString("github_checks"));
	if (sources & (SRC_WF_ISSUE | SRC_WF_DISPATCH))
		cJSON_AddItemToArray(srcs, cJSON_CreateString("github_workflow"));
	cJSON_AddNumberToObject(v, "timeout_s", 120);
	cJSON_AddNumberToObject(v, "poll_s", 15);
	if (sources & SRC_CHECKS) {
		checks = cJSON_AddObjectToObject(v, "checks");
		cJSON_AddItemToObject(checks, "tests", fx_str_array((const char *[]){ "unit*", NULL }));
		cJSON_AddItemToObject(checks, "coverage", fx_str_array((const char *[]){ "coverage", NULL }));
		cJSON_AddItemToObject(checks, "lint", fx_str_array((const char *[]){ "lint", NULL }));
		cJSON_AddItemToObject(checks, "types", fx_str_array((const char *[]){ "ci/types", NULL }));
		cJSON_AddItemToObject(checks, "security", fx_str_array((const char *[]){ "ci/security", NULL }));
	}
	if (sources & SRC_WF_DISPATCH) {
		cJSON *wf = cJSON_AddObjectToObject(v, "workflow");

		cJSON_AddStringToObject(wf, "mode", "dispatch");
		cJSON_AddStringToObject(wf, "file", WF_DISPATCH);
	}
	staging = fx_neo4j_staging(comp, port);
	cJSON_AddStringToObject(staging, "environment_url", ENV_URL);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(c, "environments"), "staging", staging);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* The repository as the TTA team has it: MATURITY.md, the Project, the workflows, CI results on main. */
static void seed_github(void)
{
	char *before = golden("tta.before.md");
	pb_err err;

	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_put_file(fake, REPO, MPATH, before, strlen(before));
	free(before);
	github_fake_add_workflow(fake, REPO, WF_ISSUE_ID, WF_ISSUE);
	github_fake_add_workflow(fake, REPO, WF_DISPATCH_ID, WF_DISPATCH);
	github_fake_add_project_field(fake, PROJECT, "PVTSSF_status", "Status", "SINGLE_SELECT",
				      "opt_dev=🔧 Development|opt_stg=🧪 Staging|opt_prod=🚀 Production");
	github_fake_add_project_field(fake, PROJECT, "PVTF_current", "Current Stage", "TEXT", NULL);
	github_fake_add_project_field(fake, PROJECT, "PVTF_updated", "Last Updated", "DATE", NULL);
	pb_err_init(&err);
	cr_assert_eq(pb_github_ref_sha(h.svc.github, REPO, "heads/main", sha, &err), 0, "%s", pb_err_text(&err));
	/* the local revision is a tag GitHub knows too (a deployment's ref must resolve) */
	github_fake_set_ref(fake, REPO, "tags/v-flow", sha);
	/* CI on main: check runs for three criteria, commit statuses for two */
	github_fake_add_check_run(fake, REPO, sha, "unit (3.11)", "completed", "success");
	github_fake_add_check_run_ex(fake, REPO, sha, "coverage", "completed", "success", "Coverage 85.2%", NULL);
	github_fake_add_check_run(fake, REPO, sha, "lint", "completed", "success");
	github_fake_add_status(fake, REPO, sha, "ci/types", "success");
	github_fake_add_status(fake, REPO, sha, "ci/security", "success");
	seeded_commits = github_fake_commit_count(fake, REPO);
}

static void open_world(unsigned sources)
{
	char *cfg;
	pb_err err;

	setenv("PB_TEST_NEO4J_AUTH", "neo4j/" PW, 1);
	setenv("PB_TEST_NEO4J_PW", PW, 1);
	setenv("PB_TEST_GITHUB_TOKEN", TOKEN, 1);
	snprintf(comp, sizeof(comp), "%sgf%ld", fx_prefix(), (long)getpid()); /* unique per test process */
	snprintf(label_comp, sizeof(label_comp), "component:%s", comp);
	cr_assert_eq(github_fake_start(&fake), 0);
	cfg = config_text(sources, fx_free_port());
	th_setup_config(&h, cfg);
	free(cfg);
	github_fake_set_now(fake, th_now(&h));
	ghh_open_client(&h);
	pb_err_init(&err);
	cr_assert_eq(pb_engine_new(h.cfg, &h.svc.engine, &err), 0, "%s", pb_err_text(&err));
	cr_assert_not_null(h.svc.engine, "the config has a docker section");
	seed_github();
}

static void teardown(void)
{
	github_fake_on_request(fake, NULL, NULL);
	if (getenv("PB_TEST_SHOW_CARDS"))
		fprintf(stderr, "---- last output ----\n%s\n", th_out(&h));
	if (h.svc.engine) {
		/* the deployed container goes now (fx_main removes what a crash left, by the run's prefix) */
		pb_docker *d = fx_docker();
		pb_err e;

		pb_err_init(&e);
		pb_docker_container_remove(d, comp, &e);
		pb_docker_free(d);
	}
	pb_engine_free(h.svc.engine);
	h.svc.engine = NULL;
	ghh_close_client(&h);
	th_teardown(&h);
	github_fake_free(fake);
	fake = NULL;
}

/* ---- reading GitHub back ---- */

/* Runs "/promote <verb> <component><rest>" as user; it must succeed. */
static void run_ok(const char *user, const char *verb, const char *rest)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "/promote %s %s%s", verb, comp, rest);
	cr_assert_eq(th_run(&h, user, cmd), 0, "%s: %s", cmd, th_out(&h));
}

static void expect_labels(const char *state_label)
{
	cJSON *is = ghh_issue(fake, REPO, 1);
	char *got = ghh_labels(is), want[256];

	snprintf(want, sizeof(want), "%s,%s,target:staging", label_comp, state_label);
	cr_assert_str_eq(got, want, "labels of #1");
	free(got);
	cJSON_Delete(is);
}

/* The value the TTA workflow's /### <name>\s+([^\n]+)/ reads from the body. */
static void expect_section(const char *body, const char *name, const char *want)
{
	char pat[128], got[128] = "";
	regmatch_t m[2];
	regex_t re;

	snprintf(pat, sizeof(pat), "### %s[[:space:]]+([^\n]+)", name);
	cr_assert_eq(regcomp(&re, pat, REG_EXTENDED), 0);
	if (regexec(&re, body, 2, m, 0) == 0)
		snprintf(got, sizeof(got), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), body + m[1].rm_so);
	regfree(&re);
	cr_assert_str_eq(got, want, "### %s in:\n%s", name, body);
}

/*
 * The comments on #1, oldest first, each reduced to "<author>: <first line>"
 * and joined by "\n"; the bot's markers are all different (nothing doubled).
 */
static char *comment_digest(void)
{
	char *text = github_fake_comments_json(fake, REPO, 1);
	cJSON *all = cJSON_Parse(text), *c;
	pb_buf b;
	char markers[32][64];
	int nm = 0;

	cr_assert_not_null(all);
	pb_buf_init(&b);
	cJSON_ArrayForEach(c, all) {
		const char *body = ghh_str(c, "body"), *mk = strstr(body, "<!-- promobot:op=");

		pb_buf_printf(&b, "%s%s: %.*s", b.len ? "\n" : "", ghh_str(cJSON_GetObjectItem(c, "user"), "login"),
			      (int)strcspn(body, "\n"), body);
		if (mk) {
			for (int i = 0; i < nm; i++)
				cr_assert_neq(strncmp(markers[i], mk, strcspn(mk, ">") + 1), 0, "comment doubled: %s",
					      body);
			if (nm < 32)
				snprintf(markers[nm++], sizeof(markers[0]), "%.*s", (int)strcspn(mk, ">") + 1, mk);
		}
	}
	cJSON_Delete(all);
	free(text);
	return pb_buf_steal(&b);
}

/* got and want have the same number of lines, each line of got starting with want's. */
static void expect_lines(const char *got, const char *want)
{
	const char *g = got, *w = want;

	for (;;) {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");

		cr_assert(gl >= wl && strncmp(g, w, wl) == 0, "comments:\n%s\n---- expected:\n%s", got, want);
		if (!g[gl] || !w[wl]) {
			cr_assert(!g[gl] && !w[wl], "comments:\n%s\n---- expected:\n%s", got, want);
			return;
		}
		g += gl + 1;
		w += wl + 1;
	}
}

/* What the bot must have written whatever failed on the way. */
static void expect_end_state(unsigned sources)
{
	cJSON *is = ghh_issue(fake, REPO, 1), *list = NULL, *d;
	char *got, *want, *item, *v, *at;
	const char *rev = (sources & ~SRC_LOCAL) ? sha : "v-flow";
	pb_promotion p = ghh_promotion(&h, comp);
	pb_buf line, exp;
	pb_err err;
	char path[256];

	pb_buf_init(&line);
	pb_buf_init(&exp);
	pb_err_init(&err);
	cr_assert_eq(p.state, PB_ST_COMPLETED);
	cr_assert_eq(ghh_pending(&h), 0);
	/* one issue, closed as completed, nothing failed on the way */
	cr_assert_eq(ghh_issues_created(fake, REPO), 1);
	cr_assert_null(github_fake_issue_json(fake, REPO, 2), "a second issue was opened");
	ghh_card_line(&h, &p, &line);
	cr_assert_str_eq(pb_buf_str(&line), "GitHub: #1 https://github.com/" REPO "/issues/1");
	cr_assert_str_eq(ghh_str(is, "title"), "[PROMOTION] Neo4j: Development → Staging");
	cr_assert_str_eq(ghh_str(is, "state"), "closed");
	cr_assert_str_eq(ghh_str(is, "state_reason"), "completed");
	expect_section(ghh_str(is, "body"), "Component Name", "Neo4j");
	expect_section(ghh_str(is, "body"), "Current Stage", "Development");
	expect_section(ghh_str(is, "body"), "Target Stage", "Staging");
	expect_section(ghh_str(is, "body"), "Functional Group", "Core Infrastructure");
	cr_assert(strstr(ghh_str(is, "body"), "- [X] Unit tests passing (≥70% coverage for core paths)\n"), "%s",
		  ghh_str(is, "body"));
	pb_buf_printf(&exp, "**Revision**: %s\n", rev);
	cr_assert(strstr(ghh_str(is, "body"), pb_buf_str(&exp)), "%s", ghh_str(is, "body"));
	cr_assert(strstr(ghh_str(is, "body"), "<!-- promobot:op="), "the body keeps its marker");
	expect_labels("promotion:completed");
	/* the comments, in order, once each (first lines; the validation's coverage depends on the sources) */
	got = comment_digest();
	pb_buf_reset(&exp);
	if (sources & SRC_WF_ISSUE)
		pb_buf_puts(&exp, "github-actions[bot]: ## 🤖 Automated Promotion Validation\n");
	pb_buf_printf(&exp,
		      "promobot[bot]: 🔎 **Validation passed** for revision `%s`\n"
		      "promobot[bot]: 👍 **Approved** by Bob (revision `%s`)\n"
		      "promobot[bot]: 🏁 **Promotion completed**: Neo4j is now at Staging (completed by Carol): override "
		      "of INCONCLUSIVE (coverage 0.00%% < 99.0%% (too many checks without a result)) by Carol: observed "
		      "by the graph team",
		      rev, rev);
	expect_lines(got, pb_buf_str(&exp));
	free(got);
	/* one deployment of the validated revision, in_progress then success */
	cr_assert_eq(pb_github_get_all(h.svc.github, "/repos/" REPO "/deployments", NULL, 0, &list, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(cJSON_GetArraySize(list), 1);
	d = cJSON_GetArrayItem(list, 0);
	cr_assert_str_eq(ghh_str(d, "ref"), rev);
	cr_assert_str_eq(ghh_str(d, "environment"), "staging");
	snprintf(path, sizeof(path), "/repos/" REPO "/deployments/%lld/statuses",
		 (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "id")));
	cJSON_Delete(list);
	list = NULL;
	cr_assert_eq(pb_github_get_all(h.svc.github, path, NULL, 0, &list, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(cJSON_GetArraySize(list), 2, "in_progress and success, once each");
	cr_assert_str_eq(ghh_str(cJSON_GetArrayItem(list, 0), "state"), "success"); /* newest first */
	cr_assert_str_eq(ghh_str(cJSON_GetArrayItem(list, 0), "environment_url"), ENV_URL);
	cr_assert_str_eq(ghh_str(cJSON_GetArrayItem(list, 1), "state"), "in_progress");
	cJSON_Delete(list);
	/* MATURITY.md: the golden edit (it names Issue #12; ours is #1), one commit */
	want = golden("tta.after.md");
	at = strstr(want, "(Issue #12)");
	cr_assert_not_null(at);
	memmove(at + strlen("(Issue #1"), at + strlen("(Issue #12"), strlen(at + strlen("(Issue #12")) + 1);
	got = github_fake_file(fake, REPO, MPATH, NULL);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	cr_assert_eq(github_fake_commit_count(fake, REPO), seeded_commits + 1, "MATURITY.md committed once");
	/* the Project item of the issue and its three fields */
	cr_assert_eq(github_fake_project_items(fake, PROJECT), 1);
	item = github_fake_project_item(fake, PROJECT, ghh_str(is, "node_id"));
	cr_assert_not_null(item, "the issue is not on the Project");
	v = github_fake_project_value(fake, item, "PVTSSF_status");
	cr_assert_str_eq(v ? v : "(unset)", "opt_stg");
	free(v);
	v = github_fake_project_value(fake, item, "PVTF_current");
	cr_assert_str_eq(v ? v : "(unset)", "Staging");
	free(v);
	v = github_fake_project_value(fake, item, "PVTF_updated");
	cr_assert_str_eq(v ? v : "(unset)", "2026-12-06");
	free(v);
	free(item);
	cJSON_Delete(is);
	pb_buf_deinit(&line);
	pb_buf_deinit(&exp);
}

/* ---- GitHub failing ---- */

/* Arms `f` for every request from now on (until fault_clear): GitHub down. Called from the fake's hook too. */
static void arm(fault f)
{
	switch (f) {
	case FAULT_500:
		github_fake_fault(fake, GITHUB_FAULT_STATUS, 1000000, 500, 0);
		break;
	case FAULT_429: /* reset two hours away: beyond the client's own wait, so the outbox waits for it */
	case FAULT_403: /* the primary limit as GitHub mostly answers it */
		github_fake_fault(fake, GITHUB_FAULT_RATE_LIMIT, 1000000, f == FAULT_429 ? 429 : 403, th_now(&h) + 7200);
		break;
	case FAULT_HANG:
		github_fake_fault(fake, GITHUB_FAULT_HANG, 1000000, 0, 0);
		break;
	case FAULT_NONE:
		break;
	}
}

/* The card line and `status` say updates are pending, and why. */
static void expect_pending_said(fault f)
{
	const char *why = f == FAULT_500   ? "pending (500, retrying)"
			  : f == FAULT_429 ? "pending (429, retrying)"
			  : f == FAULT_403 ? "pending (403, retrying)"
					   : "pending (retrying: ";
	pb_promotion p = ghh_promotion(&h, comp);
	pb_buf line;

	pb_buf_init(&line);
	ghh_card_line(&h, &p, &line);
	cr_assert(strstr(pb_buf_str(&line), why), "card: %s", pb_buf_str(&line));
	/* a hang has no status: the card still says what happened (curl's words, at the end of a long text) */
	if (f == FAULT_HANG)
		cr_assert(strstr(pb_buf_str(&line), "Timeout was reached"), "card: %s", pb_buf_str(&line));
	pb_buf_deinit(&line);
	run_ok("bob", "status", "");
	cr_assert(strstr(th_out(&h), why), "status: %s", th_out(&h));
	/* completed: the promotion's card is gone from status, what it still owes on GitHub is not */
	if (p.state == PB_ST_COMPLETED)
		cr_assert(strstr(th_out(&h), "GitHub: promotion #1 (completed): #1 https://github.com/" REPO "/issues/1; "),
			  "status: %s", th_out(&h));
}

/* The fake's hook: GitHub goes down at the step's second request (the first one went through). */
typedef struct mid_step {
	int seen;
	fault f;
} mid_step;

static void down_from_the_second(github_fake *f, void *ud, const char *method_and_path)
{
	mid_step *m = ud;

	(void)f;
	(void)method_and_path;
	if (++m->seen == 2)
		arm(m->f);
}

/* Delivers what step `s` enqueued; when s is the faulty step, GitHub goes down in its middle, then comes back. */
static void deliver_step(step s, step faulty, fault f)
{
	mid_step mid = { .f = f };
	size_t left;
	int requests;

	if (s != faulty || f == FAULT_NONE) {
		ghh_deliver(&h);
		cr_assert_eq(ghh_pending(&h), 0, "%s", th_out(&h));
		return;
	}
	cr_assert_gt(ghh_pending(&h), 0, "the step enqueued nothing");
	github_fake_on_request(fake, down_from_the_second, &mid);
	ghh_deliver(&h);
	github_fake_on_request(fake, NULL, NULL);
	cr_assert_geq(mid.seen, 2, "the step's first request went through, the next ones met GitHub down");
	left = ghh_pending(&h);
	cr_assert_gt(left, 0, "nothing is left undone while GitHub fails");
	expect_pending_said(f);
	requests = github_fake_count(fake, "", 0);
	if (f == FAULT_429 || f == FAULT_403) {
		/* before the reset nothing is sent: the fake clock moves, no real waiting */
		pb_fake_clock_advance(&h.clock, 3600 * 1000);
		github_fake_set_now(fake, th_now(&h));
		ghh_deliver(&h);
		cr_assert_eq(github_fake_count(fake, "", 0), requests, "knocked before the rate limit's reset");
		pb_fake_clock_advance(&h.clock, 3601 * 1000);
	} else {
		/* still down a few minutes later: retried, still pending */
		pb_fake_clock_advance(&h.clock, 5 * 60 * 1000);
		ghh_deliver(&h);
		cr_assert_gt(github_fake_count(fake, "", 0), requests, "not retried");
		cr_assert_eq(ghh_pending(&h), left);
		pb_fake_clock_advance(&h.clock, 10 * 60 * 1000);
	}
	github_fake_fault_clear(fake);
	github_fake_set_now(fake, th_now(&h));
	ghh_deliver(&h);
	cr_assert_eq(ghh_pending(&h), 0, "GitHub is back: everything delivered\n%s", th_out(&h));
}

/* ---- the flow ---- */

/* The TTA validation workflow answering the opened issue (on GitHub's side). */
static void tta_workflow_answers(void)
{
	github_fake_set_now(fake, th_now(&h));
	github_fake_add_comment(fake, REPO, 1, "github-actions[bot]", WF_COMMENT);
	github_fake_issue_label(fake, REPO, 1, "promotion:in-review", true);
	github_fake_add_run(fake, REPO, WF_ISSUE_ID, "issues", "[PROMOTION] Neo4j: Development → Staging", "completed",
			    "success");
}

/* validate's own reads fail for a while (GitHub's answers absorbed by the client's retries and waits). */
static void arm_reads(fault f)
{
	const char *reads = "GET /repos/" REPO "/commits/";

	if (f == FAULT_500)
		github_fake_fault_on(fake, reads, GITHUB_FAULT_STATUS, 2, 500, 0);
	else if (f == FAULT_429)
		github_fake_fault_on(fake, reads, GITHUB_FAULT_RATE_LIMIT, 1, 429, th_now(&h) + 60);
	else if (f == FAULT_HANG)
		github_fake_fault_on(fake, reads, GITHUB_FAULT_HANG, 1, 0, 0);
}

static void run_flow(unsigned sources, step faulty, fault f)
{
	ghh_run_hook dispatched = { .repo = REPO, .after = 2, .conclusion = "success" };

	open_world(sources);
	/* request */
	run_ok("alice", "request", " staging \"pilot for the graph team\"");
	cr_assert_eq(github_fake_count(fake, "POST ", 0), 0, "nothing is sent inside the command");
	deliver_step(STEP_REQUEST, faulty, f);
	cr_assert_eq(ghh_promotion(&h, comp).issue_number, 1);
	expect_labels("promotion:requested");
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 0);
	/* validate */
	if (sources & SRC_WF_ISSUE)
		tta_workflow_answers();
	if (sources & SRC_WF_DISPATCH)
		github_fake_on_request(fake, ghh_finish_run, &dispatched); /* done at its 2nd poll */
	if (faulty == STEP_VALIDATE && (sources & SRC_CHECKS))
		arm_reads(f);
	run_ok("alice", "validate", "");
	cr_assert_eq(th_state(&h, comp), PB_ST_IN_REVIEW, "%s", th_out(&h));
	if (faulty == STEP_VALIDATE && (sources & SRC_CHECKS))
		cr_assert_geq(github_fake_count(fake, "GET /repos/" REPO "/commits/",
						f == FAULT_500 ? 500 : f == FAULT_429 ? 429 : 0),
			      f == FAULT_500 ? 2 : 1, "the reads did fail on the way");
	github_fake_on_request(fake, NULL, NULL);
	deliver_step(STEP_VALIDATE, faulty, f);
	expect_labels("promotion:in-review");
	/* approve */
	run_ok("bob", "approve", "");
	deliver_step(STEP_APPROVE, faulty, f);
	expect_labels("promotion:approved");
	/* deploy, on the engine under test */
	run_ok("carol", "deploy", "");
	cr_assert_eq(th_state(&h, comp), PB_ST_OBSERVING, "%s", th_out(&h));
	deliver_step(STEP_DEPLOY, faulty, f);
	expect_labels("promotion:approved");
	/* complete, after the observation period (an admin's override: no monitoring ran here) */
	cr_assert_lt(th_now(&h) * 1000, COMPLETE_AT_MS);
	pb_fake_clock_advance(&h.clock, COMPLETE_AT_MS - th_now(&h) * 1000);
	github_fake_set_now(fake, th_now(&h));
	run_ok("carol", "complete", " \"observed by the graph team\"");
	deliver_step(STEP_COMPLETE, faulty, f);
	expect_end_state(sources);
}

TestSuite(ghflow, .fini = teardown, .timeout = 240);

Test(ghflow, local_checks)
{
	run_flow(SRC_LOCAL, STEP_NONE, FAULT_NONE);
}

Test(ghflow, github_checks_and_statuses)
{
	run_flow(SRC_CHECKS, STEP_NONE, FAULT_NONE);
}

Test(ghflow, github_workflow_on_the_issue)
{
	run_flow(SRC_WF_ISSUE, STEP_NONE, FAULT_NONE);
}

Test(ghflow, github_workflow_dispatched)
{
	run_flow(SRC_WF_DISPATCH, STEP_NONE, FAULT_NONE);
}

/*
 * GitHub failing in the middle of each step (500s, the primary rate limit as 429 — and as 403 where
 * the step creates the issue or commits — with its reset, a hang): every source at once, the same end state.
 */
#define ALL (SRC_LOCAL | SRC_CHECKS | SRC_WF_ISSUE)
#define FAULT_ROW(s, k) \
	Test(ghflow_faults, s##_##k) { run_flow(ALL, STEP_##s, FAULT_##k); }

TestSuite(ghflow_faults, .fini = teardown, .timeout = 240);

FAULT_ROW(REQUEST, 500)
FAULT_ROW(REQUEST, 429)
FAULT_ROW(REQUEST, 403)
FAULT_ROW(REQUEST, HANG)
FAULT_ROW(VALIDATE, 500)
FAULT_ROW(VALIDATE, 429)
FAULT_ROW(VALIDATE, HANG)
FAULT_ROW(APPROVE, 500)
FAULT_ROW(APPROVE, 429)
FAULT_ROW(APPROVE, HANG)
FAULT_ROW(DEPLOY, 500)
FAULT_ROW(DEPLOY, 429)
FAULT_ROW(DEPLOY, HANG)
FAULT_ROW(COMPLETE, 500)
FAULT_ROW(COMPLETE, 429)
FAULT_ROW(COMPLETE, 403)
FAULT_ROW(COMPLETE, HANG)

Test(ghflow_faults, none)
{
	run_flow(ALL, STEP_NONE, FAULT_NONE);
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "docker/ghflow");
}

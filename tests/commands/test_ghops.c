/* test_ghops.c — a completion on GitHub (MATURITY.md commit, pull request, Project v2 item) against the in-process fake GitHub. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github.h"
#include "github_fake.h"
#include "pb_clock.h"
#include "golden.h"
#include "pb_file.h"
#include "pb_ghops.h"
#include "pb_str.h"

#define TOKEN "ghp_promobotGhopsTestToken0123456"
#define REPO "acme/tta"
#define MPATH "docs/components/neo4j/MATURITY.md"
#define PROJECT "PVT_kwDOAB12cd"
#define T0_MS INT64_C(1764979200000)

static github_fake *fake;
static pb_fake_clock fc;
static pb_github *gh;
static pb_config *cfg;
static pb_err err;
static char summary[512];

/* Promotion #7 of neo4j, Issue #12 (as in the golden files), completed on 2026-12-06. */
static pb_ghops_completion done = { .component = "neo4j", .from = PB_STAGE_DEVELOPMENT, .to = PB_STAGE_STAGING,
				    .date = "2026-12-06", .promotion_id = 7, .issue_number = 12 };


/* Loads a config whose github section points at the fake; `github_extra` is spliced into it (test JSON only). */
static void load_config(const char *github_extra, const char *component_extra)
{
	char json[4096];
	pb_problems probs = { 0 };
	int r;

	pb_config_free(cfg);
	cfg = NULL;
	snprintf(json, sizeof(json),
		 "{ \"storage\": { \"path\": \"db.sqlite\" }, \"users\": { \"alice\": { \"roles\": [\"admin\"] } },"
		 "  \"github\": { \"api_url\": \"%s\", \"token_env\": \"PB_TEST_GITHUB_TOKEN\", \"timeout_ms\": 2000%s },"
		 "  \"components\": [ { \"id\": \"graph\" },"
		 "    { \"id\": \"neo4j\", \"name\": \"Neo4j\", \"github_repo\": \"" REPO "\"%s } ] }",
		 github_fake_url(fake), github_extra, component_extra);
	r = pb_config_parse(json, strlen(json), "/tmp", &cfg, &probs);
	cr_assert_eq(r, 0, "config: %s", probs.count ? probs.items[0] : "?");
	pb_problems_deinit(&probs);
}

static void setup(void)
{
	char *before = golden("tta.before.md");

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_set_now(fake, T0_MS / 1000);
	github_fake_put_file(fake, REPO, MPATH, before, strlen(before));
	free(before);
	pb_fake_clock_init(&fc, T0_MS);
	setenv("PB_TEST_GITHUB_TOKEN", TOKEN, 1);
	load_config("", ", \"github_maturity_path\": \"" MPATH "\"");
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&cfg->github, &fc.clock, &gh, &err), 0, "%s", pb_err_text(&err));
	summary[0] = '\0';
}

static void teardown(void)
{
	pb_github_free(gh);
	gh = NULL;
	pb_config_free(cfg);
	cfg = NULL;
	github_fake_free(fake);
	fake = NULL;
	pb_fake_clock_deinit(&fc);
}

static void expect_file(const char *branch, const char *want)
{
	char *got = github_fake_branch_file(fake, REPO, branch, MPATH);

	cr_assert_not_null(got);
	cr_expect_str_eq(got, want, "committed:\n%s\n---- expected:\n%s", got, want);
	free(got);
}

TestSuite(ghops, .init = setup, .fini = teardown, .timeout = 60);

/* ---- MATURITY.md -------------------------------------------------------- */

Test(ghops, maturity_commit_equals_the_golden_file_and_is_idempotent)
{
	char *after = golden("tta.after.md");
	int commits = github_fake_commit_count(fake, REPO);

	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	expect_file(NULL, after);
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits + 1);
	cr_expect_str_eq(summary, "MATURITY.md updated in acme/tta (" MPATH ": neo4j to Staging, Issue #12)");
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/" MPATH, 200), 1);

	/* The outbox repeats a step after a crash: nothing new is committed. */
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits + 1, "no second commit");
	cr_expect_str_eq(summary, "MATURITY.md in acme/tta already up to date (" MPATH ")");
	expect_file(NULL, after);
	free(after);
}

Test(ghops, maturity_crlf_file_keeps_its_line_endings)
{
	char *b = golden("tta.before.md"), *a = golden("tta.after.md");
	char *bc = crlf(b), *ac = crlf(a);

	github_fake_put_file(fake, REPO, MPATH, bc, strlen(bc));
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	expect_file(NULL, ac);
	free(b);
	free(a);
	free(bc);
	free(ac);
}

Test(ghops, maturity_without_an_issue_names_the_promotion)
{
	pb_ghops_completion c = done;
	char *got;

	c.issue_number = 0;
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &c, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	got = github_fake_file(fake, REPO, MPATH, NULL);
	cr_assert_not_null(strstr(got, "- **2026-12-06**: Promoted to Staging (Promotion #7)\n"), "%s", got);
	free(got);
}

Test(ghops, maturity_409_once_rereads_and_keeps_both_edits)
{
	static const char other[] = "\n_Reviewed by the platform team._\n";
	char *after = golden("tta.after.md"), *got;
	pb_buf want;

	github_fake_contents_race(fake, REPO, MPATH, other, 1);
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/" MPATH, 409), 1);
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/" MPATH, 200), 1);
	cr_expect_eq(github_fake_count(fake, "GET /repos/acme/tta/contents/" MPATH, 200), 2);
	/* The other person's paragraph is kept, and ours is applied on top of it. */
	pb_buf_init(&want);
	pb_buf_printf(&want, "%s%s", after, other);
	got = github_fake_file(fake, REPO, MPATH, NULL);
	cr_expect_str_eq(got, pb_buf_str(&want));
	free(got);
	free(after);
	pb_buf_deinit(&want);
}

Test(ghops, maturity_409_forever_is_try_later)
{
	int commits;

	github_fake_contents_race(fake, REPO, MPATH, "x\n", 100);
	commits = github_fake_commit_count(fake, REPO);
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_UNAVAILABLE);
	cr_expect_str_eq(pb_err_text(&err), "MATURITY.md " MPATH " in acme/tta: the file changed under every one of 5 "
					    "attempts (409); trying again later");
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/" MPATH, 409), 5);
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits + 5, "only the other editor's commits");
}

Test(ghops, maturity_missing_file_or_repository_is_permanent)
{
	int commits = github_fake_commit_count(fake, REPO);

	load_config("", ", \"github_maturity_path\": \"docs/nope/MATURITY.md\"");
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_NOTFOUND);
	cr_expect_str_eq(pb_err_text(&err), "MATURITY.md: docs/nope/MATURITY.md not found in acme/tta "
					    "(components[1].github_maturity_path): GitHub: Not Found (HTTP 404) for GET "
					    "/repos/acme/tta/contents/docs/nope/MATURITY.md");
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits);

	pb_err_init(&err);
	load_config("", ", \"github_maturity_path\": \"" MPATH "\"");
	free(cfg->components[1].github_repo);
	cfg->components[1].github_repo = strdup("acme/missing");
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_NOTFOUND);
	cr_expect_not_null(strstr(pb_err_text(&err), MPATH " not found in acme/missing"), "%s", pb_err_text(&err));
}

Test(ghops, maturity_5xx_is_try_later_and_commits_nothing)
{
	int commits = github_fake_commit_count(fake, REPO);

	github_fake_fault(fake, GITHUB_FAULT_STATUS, 10, 502, 0);
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_UNAVAILABLE);
	cr_expect_not_null(strstr(pb_err_text(&err), "HTTP 502"), "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits);
}

Test(ghops, maturity_put_whose_answer_is_lost_commits_once)
{
	char *after = golden("tta.after.md");
	int commits = github_fake_commit_count(fake, REPO);

	/* GitHub commits, the answer never arrives; the repeat finds the sha stale (409), re-reads: done. */
	github_fake_fault_on(fake, "PUT /repos/acme/tta/contents/", GITHUB_FAULT_DROP, 1, 0, 0);
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_commit_count(fake, REPO), commits + 1, "committed exactly once");
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/" MPATH, 409), 1);
	expect_file(NULL, after);
	free(after);
}

Test(ghops, maturity_not_configured_is_nothing_to_do)
{
	load_config("", "");
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_str_eq(summary, "MATURITY.md: neo4j has no github_maturity_path, nothing to commit");
	cr_expect_eq(github_fake_count(fake, "", 0), 0, "no request at all");
}

Test(ghops, maturity_via_pull_request_opens_one_and_reuses_it)
{
	char *after = golden("tta.after.md"), *before = golden("tta.before.md"), *pulls;
	const char *branch = "promobot/maturity-neo4j-7";
	char want[256];

	load_config(", \"maturity\": { \"via_pull_request\": true }", ", \"github_maturity_path\": \"" MPATH "\"");
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	expect_file(branch, after);
	expect_file(NULL, before); /* the protected default branch is untouched */
	snprintf(want, sizeof(want), "MATURITY.md: pull request https://github.com/acme/tta/pull/1 (%s → main in acme/tta)",
		 branch);
	cr_expect_str_eq(summary, want);
	pulls = github_fake_pulls_json(fake, REPO);
	cr_expect_not_null(strstr(pulls, "\"label\":\"acme:promobot/maturity-neo4j-7\""), "%s", pulls);
	cr_expect_not_null(strstr(pulls, "<!-- promobot:maturity component=neo4j promotion=7 -->"), "%s", pulls);
	free(pulls);

	/* Second run: branch exists (422 → reused), file up to date on it, PR found open → no new PR, no commit. */
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_str_eq(summary, want);
	cr_expect_eq(github_fake_count(fake, "POST /repos/acme/tta/pulls", 201), 1);
	cr_expect_eq(github_fake_count(fake, "POST /repos/acme/tta/git/refs", 422), 1);
	cr_expect_eq(github_fake_count(fake, "PUT /repos/acme/tta/contents/", 0), 1);
	pulls = github_fake_pulls_json(fake, REPO);
	cr_expect_null(strstr(strstr(pulls, "\"number\"") + 1, "\"number\""), "one pull request: %s", pulls);
	free(pulls);

	/* Once merged (the default branch has the edit), there is nothing to propose. */
	github_fake_put_file(fake, REPO, MPATH, after, strlen(after));
	cr_assert_eq(pb_ghops_maturity(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_str_eq(summary, "MATURITY.md in acme/tta already up to date (" MPATH ")");
	free(after);
	free(before);
}

/* ---- Project (v2) ------------------------------------------------------- */

static const char project_cfg[] = ", \"project\": { \"id\": \"" PROJECT "\" }";

static void seed_project(void)
{
	github_fake_add_project_field(fake, PROJECT, "PVTSSF_status", "Status", "SINGLE_SELECT",
				      "opt_dev=🔧 Development|opt_stg=🧪 Staging|opt_prod=🚀 Production");
	github_fake_add_project_field(fake, PROJECT, "PVTF_current", "Current Stage", "TEXT", NULL);
	github_fake_add_project_field(fake, PROJECT, "PVTF_updated", "Last Updated", "DATE", NULL);
	github_fake_add_project_field(fake, PROJECT, "PVTF_title", "Title", "TITLE", NULL);
}

/* Issue #12 exists in the fake; returns its node id (owned). */
static char *seed_issue(void)
{
	pb_github_issue is;
	char *nid;

	for (int n = 1; n <= 12; n++) {
		cr_assert_eq(pb_github_issue_create(gh, REPO, "[PROMOTION] Neo4j: Development → Staging", NULL, NULL, 0, &is,
						    &err),
			     0, "%s", pb_err_text(&err));
		nid = strdup(is.node_id);
		pb_github_issue_deinit(&is);
		if (n < 12)
			free(nid);
	}
	return nid;
}

static void expect_value(const char *item, const char *field, const char *want)
{
	char *v = github_fake_project_value(fake, item, field);

	cr_expect_not_null(v, "%s not set", field);
	if (v)
		cr_expect_str_eq(v, want);
	free(v);
}

Test(ghops, project_item_added_and_three_fields_set)
{
	char *nid, *item;

	load_config(project_cfg, "");
	seed_project();
	nid = seed_issue();
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	item = github_fake_project_item(fake, PROJECT, nid);
	cr_assert_not_null(item);
	cr_expect_eq(github_fake_count(fake, "POST /graphql", 200), 5, "fields, add, 3 updates");
	expect_value(item, "PVTSSF_status", "opt_stg");
	expect_value(item, "PVTF_current", "Staging");
	expect_value(item, "PVTF_updated", "2026-12-06");
	cr_expect_str_eq(summary, "Project: Status set to 🧪 Staging, Current Stage to Staging, Last Updated to "
				  "2026-12-06 (issue #12)");
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 1);

	/* Already on the board (a repeat, or added by hand): the same item, values rewritten. */
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 1);
	expect_value(item, "PVTSSF_status", "opt_stg");
	free(item);
	free(nid);
}

Test(ghops, project_item_put_on_the_board_by_hand_is_reused)
{
	cJSON *vars = cJSON_CreateObject(), *data = NULL;
	char *nid, *item;
	const char *by_hand;

	load_config(project_cfg, "");
	seed_project();
	nid = seed_issue();
	cJSON_AddStringToObject(vars, "projectId", PROJECT);
	cJSON_AddStringToObject(vars, "contentId", nid);
	cr_assert_eq(pb_github_graphql(gh, "mutation($projectId: ID!, $contentId: ID!) { addProjectV2ItemById(input: "
					   "{projectId: $projectId, contentId: $contentId}) { item { id } } }",
				       vars, &data, &err),
		     0, "%s", pb_err_text(&err));
	by_hand = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(data, "addProjectV2ItemById"),
										 "item"), "id"));
	cr_assert_not_null(by_hand);
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 1);
	item = github_fake_project_item(fake, PROJECT, nid);
	cr_expect_str_eq(item, by_hand);
	expect_value(by_hand, "PVTF_current", "Staging");
	cJSON_Delete(vars);
	cJSON_Delete(data);
	free(item);
	free(nid);
}

Test(ghops, project_single_select_current_stage_and_text_last_updated)
{
	pb_ghops_completion c = done;
	char *nid, *item;

	c.from = PB_STAGE_STAGING;
	c.to = PB_STAGE_PRODUCTION;
	load_config(", \"project\": { \"id\": \"" PROJECT "\", \"status_field\": \"Column\","
		    " \"stage_options\": { \"production\": \"Prod\" } }",
		    "");
	github_fake_add_project_field(fake, PROJECT, "PVTSSF_col", "Column", "SINGLE_SELECT", "o1=Staging|o2=Prod");
	github_fake_add_project_field(fake, PROJECT, "PVTSSF_cur", "Current Stage", "SINGLE_SELECT",
				      "c1=Staging|c2=Production");
	github_fake_add_project_field(fake, PROJECT, "PVTF_upd", "Last Updated", "TEXT", NULL);
	nid = seed_issue();
	cr_assert_eq(pb_ghops_project(gh, cfg, &c, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	item = github_fake_project_item(fake, PROJECT, nid);
	cr_assert_not_null(item);
	expect_value(item, "PVTSSF_col", "o2");
	expect_value(item, "PVTSSF_cur", "c2"); /* "Prod" is not among its options: the stage's name is */
	expect_value(item, "PVTF_upd", "2026-12-06");
	free(item);
	free(nid);
}

Test(ghops, project_missing_field_or_option_is_permanent_and_adds_nothing)
{
	char *nid;

	load_config(project_cfg, "");
	github_fake_add_project_field(fake, PROJECT, "PVTSSF_status", "Status", "SINGLE_SELECT",
				      "opt_dev=Development|opt_stg=Staging");
	github_fake_add_project_field(fake, PROJECT, "PVTF_current", "Current Stage", "TEXT", NULL);
	nid = seed_issue();
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_INVALID);
	cr_expect_str_eq(pb_err_text(&err),
			 "Project " PROJECT ": field \"Status\" (github.project.status_field) has no option \"🧪 Staging\" "
			 "(github.project.stage_options.staging); it has \"Development\", \"Staging\"");
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 0, "nothing added for a config error");

	pb_err_init(&err);
	load_config(", \"project\": { \"id\": \"" PROJECT "\", \"stage_options\": { \"staging\": \"Staging\" } }", "");
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_INVALID);
	cr_expect_str_eq(pb_err_text(&err), "Project " PROJECT " has no field \"Last Updated\" (github.project.last_updated_field)");
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 0);
	free(nid);
}

Test(ghops, project_graphql_errors_at_http_200_are_failures_with_their_message)
{
	char *nid;

	load_config(", \"project\": { \"id\": \"PVT_unknown\" }", "");
	seed_project();
	nid = seed_issue();
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_NOTFOUND);
	cr_expect_str_eq(pb_err_text(&err), "Project PVT_unknown (github.project.id): GitHub GraphQL: Could not resolve "
					    "to a node with the global id of 'PVT_unknown'. (NOT_FOUND)");
	cr_expect_eq(github_fake_count(fake, "POST /graphql", 200), 1, "an error at HTTP 200");
	free(nid);
}

Test(ghops, project_without_issue_or_config_is_nothing_to_do)
{
	pb_ghops_completion c = done;

	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_str_eq(summary, "Project: github.project is not configured, nothing to update");
	load_config(project_cfg, "");
	c.issue_number = 0;
	cr_assert_eq(pb_ghops_project(gh, cfg, &c, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	cr_expect_str_eq(summary, "Project: promotion #7 has no issue, nothing to add");
	cr_expect_eq(github_fake_count(fake, "", 0), 0);
}

Test(ghops, project_5xx_is_try_later_and_a_repeat_completes)
{
	char *nid, *item;

	load_config(project_cfg, "");
	seed_project();
	nid = seed_issue();
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 10, 503, 0);
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_UNAVAILABLE);
	cr_expect_not_null(strstr(pb_err_text(&err), "HTTP 503"), "%s", pb_err_text(&err));
	github_fake_fault_clear(fake);

	/* A mutation is not repeated by the client: the step says "later", and the repeat finishes the job. */
	pb_err_init(&err);
	github_fake_fault_on(fake, "POST /graphql", GITHUB_FAULT_STATUS, 1, 502, 0);
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_UNAVAILABLE);
	pb_err_init(&err);
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	item = github_fake_project_item(fake, PROJECT, nid);
	cr_assert_not_null(item);
	expect_value(item, "PVTF_updated", "2026-12-06");
	cr_expect_eq(github_fake_project_items(fake, PROJECT), 1);

	/* GraphQL's own rate limit arrives as errors[] type RATE_LIMITED at HTTP 200: later, not permanent. */
	pb_err_init(&err);
	github_fake_fault_on(fake, "POST /graphql", GITHUB_FAULT_GRAPHQL_LIMITED, 1, 200, 0);
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), PB_E_UNAVAILABLE);
	cr_expect_not_null(strstr(pb_err_text(&err), "API rate limit already exceeded"), "%s", pb_err_text(&err));
	free(item);
	free(nid);
}

Test(ghops, fake_refuses_what_the_schema_refuses)
{
	static const char update_doc[] =
		"mutation($projectId: ID!, $itemId: ID!, $fieldId: ID!, $value: ProjectV2FieldValue!) {"
		" updateProjectV2ItemFieldValue(input: {projectId: $projectId, itemId: $itemId,"
		" fieldId: $fieldId, value: $value}) { projectV2Item { id } } }";
	cJSON *vars = cJSON_CreateObject(), *value;
	char *nid, *item;

	load_config(project_cfg, "");
	seed_project();
	nid = seed_issue();
	cr_assert_eq(pb_ghops_project(gh, cfg, &done, summary, sizeof(summary), &err), 0, "%s", pb_err_text(&err));
	item = github_fake_project_item(fake, PROJECT, nid);
	cr_assert_eq(pb_github_graphql(gh, "query($id: ID!) { node(id: $id) { ... on ProjectV2 { fieldz(first: 1) { nodes { id } } } } }",
				       NULL, NULL, &err),
		     PB_E_INVALID);
	cr_expect_not_null(strstr(pb_err_text(&err), "Field 'fieldz' doesn't exist"), "%s", pb_err_text(&err));
	cJSON_AddStringToObject(vars, "projectId", PROJECT);
	cJSON_AddStringToObject(vars, "itemId", item);
	cJSON_AddStringToObject(vars, "fieldId", "PVTF_updated");
	value = cJSON_AddObjectToObject(vars, "value");
	cJSON_AddStringToObject(value, "dates", "2026-12-06");
	pb_err_init(&err);
	cr_assert_eq(pb_github_graphql(gh,
				       update_doc,
				       vars, NULL, &err),
		     PB_E_INVALID);
	cr_expect_not_null(strstr(pb_err_text(&err), "invalid value for dates (Field is not defined on ProjectV2FieldValue)"),
			   "%s", pb_err_text(&err));
	cJSON_DeleteItemFromObject(value, "dates");
	cJSON_AddStringToObject(value, "text", "2026-12-06");
	pb_err_init(&err);
	cr_assert_eq(pb_github_graphql(gh,
				       update_doc,
				       vars, NULL, &err),
		     PB_E_INVALID, "a text value for a date field");
	cJSON_Delete(vars);
	free(item);
	free(nid);
}

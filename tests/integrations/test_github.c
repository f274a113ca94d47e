/* test_github.c — the GitHub client against the fake GitHub on loopback (port 0), on a fake clock. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "github.h"
#include "github_fake.h"
#include "pb_clock.h"
#include "pb_http.h"
#include "pb_log.h"

#define TOKEN "ghp_promobotTestToken0123456789"
#define REPO "acme/tta"
#define T0_MS INT64_C(1700000000000)

static github_fake *fake;
static pb_fake_clock fc;
static pb_github *gh;
static pb_err err;

static pb_github_cfg cfg_for(long timeout_ms)
{
	pb_github_cfg c;

	memset(&c, 0, sizeof(c));
	c.enabled = true;
	c.api_url = (char *)github_fake_url(fake);
	c.token_env = (char *)"PB_TEST_GITHUB_TOKEN";
	c.timeout_ms = (int)timeout_ms;
	c.user_agent = (char *)"promobot-test/1";
	c.content_writes_per_min = 80;
	return c;
}

static void setup(void)
{
	pb_github_cfg c;

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_set_now(fake, T0_MS / 1000);
	pb_fake_clock_init(&fc, T0_MS);
	setenv("PB_TEST_GITHUB_TOKEN", TOKEN, 1);
	c = cfg_for(2000);
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&c, &fc.clock, &gh, &err), 0, "%s", pb_err_text(&err));
}

static void teardown(void)
{
	pb_github_free(gh);
	gh = NULL;
	github_fake_free(fake);
	fake = NULL;
	pb_fake_clock_deinit(&fc);
}

/* Makes a client with a different timeout (hang tests) after the default one. */
static pb_github *client_with_timeout(long ms)
{
	pb_github_cfg c = cfg_for(ms);
	pb_github *g = NULL;

	cr_assert_eq(pb_github_new(&c, &fc.clock, &g, &err), 0, "%s", pb_err_text(&err));
	return g;
}

static int64_t new_issue(const char *title, const char *label)
{
	pb_github_issue is;
	const char *labels[] = { label };
	int r = pb_github_issue_create(gh, REPO, title, "body", labels, label ? 1 : 0, &is, &err);
	int64_t n;

	cr_assert_eq(r, 0, "%s", pb_err_text(&err));
	n = is.number;
	pb_github_issue_deinit(&is);
	return n;
}

TestSuite(github, .init = setup, .fini = teardown, .timeout = 60);

/* ---- issues, labels, comments ------------------------------------------ */

Test(github, issue_create_get_update_close)
{
	const char *labels[] = { "promotion:requested", "component:neo4j" };
	pb_github_issue is, got;
	pb_github_issue_patch p = { .title = "[PROMOTION] Neo4j: Development → Staging", .body = "### Component Name\n\nNeo4j" };
	char ua[256], auth[256];

	cr_assert_eq(pb_github_issue_create(gh, REPO, "draft", NULL, labels, 2, &is, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(is.number, 1);
	cr_assert_str_eq(is.state, "open");
	cr_assert_eq(is.nlabels, 2);
	cr_assert(pb_github_issue_has_label(&is, "component:neo4j"));
	cr_assert_null(is.body);
	cr_assert_str_eq(is.html_url, "https://github.com/acme/tta/issues/1");
	cr_assert(strncmp(is.node_id, "I_", 2) == 0);
	github_fake_last_header(fake, "User-Agent", ua, sizeof(ua));
	github_fake_last_header(fake, "Authorization", auth, sizeof(auth));
	cr_assert_str_eq(ua, "promobot-test/1");
	cr_assert_str_eq(auth, "Bearer " TOKEN);

	cr_assert_eq(pb_github_issue_update(gh, REPO, 1, &p, NULL, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &got, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(got.title, p.title);
	cr_assert_str_eq(got.body, p.body);
	pb_github_issue_deinit(&got);

	cr_assert_eq(pb_github_issue_close(gh, REPO, 1, "not_planned", &got, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(got.state, "closed");
	cr_assert_str_eq(got.state_reason, "not_planned");
	pb_github_issue_deinit(&got);
	pb_github_issue_deinit(&is);

	cr_assert_eq(pb_github_issue_get(gh, REPO, 99, &got, &err), PB_E_NOTFOUND);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Not Found (HTTP 404) for GET /repos/acme/tta/issues/99");
}

Test(github, unknown_repository_is_a_clear_404)
{
	pb_github_issue is;

	cr_assert_eq(pb_github_issue_create(gh, "acme/nope", "t", NULL, NULL, 0, &is, &err), PB_E_NOTFOUND);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Not Found (HTTP 404) for POST /repos/acme/nope/issues");
	cr_assert_not(pb_github_maybe_sent(gh));
}

Test(github, empty_title_is_a_422_with_the_field)
{
	pb_github_issue is;

	cr_assert_eq(pb_github_issue_create(gh, REPO, "", NULL, NULL, 0, &is, &err), PB_E_INVALID);
	cr_assert_str_eq(pb_err_text(&err),
			 "GitHub: Validation Failed [title: missing_field] (HTTP 422) for POST /repos/acme/tta/issues");
}

Test(github, labels_add_remove_create_list)
{
	const char *add[] = { "promotion:in-review", "target:staging" };
	pb_github_issue is;
	char **names = NULL;
	size_t n = 0;
	int64_t num = new_issue("t", "promotion:requested");

	cr_assert_eq(pb_github_labels_add(gh, REPO, num, add, 2, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_label_remove(gh, REPO, num, "promotion:requested", &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(pb_github_label_remove(gh, REPO, num, "promotion:requested", &err), PB_E_NOTFOUND);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Label does not exist (HTTP 404) for DELETE "
					    "/repos/acme/tta/issues/1/labels/promotion%3Arequested");
	cr_assert_eq(pb_github_issue_get(gh, REPO, num, &is, &err), 0);
	cr_assert_eq(is.nlabels, 2);
	cr_assert(pb_github_issue_has_label(&is, "promotion:in-review"));
	cr_assert_not(pb_github_issue_has_label(&is, "promotion:requested"));
	pb_github_issue_deinit(&is);

	pb_err_init(&err);
	cr_assert_eq(pb_github_label_create(gh, REPO, "promotion:approved", "0e8a16", "Approved for promotion", &err),
		     0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_label_create(gh, REPO, "promotion:approved", "0e8a16", NULL, &err), PB_E_CONFLICT);
	pb_err_init(&err);
	cr_assert_eq(pb_github_label_create(gh, REPO, "bad", "zzz", NULL, &err), PB_E_INVALID);
	cr_assert_eq(pb_github_labels_list(gh, REPO, &names, &n, &err), 0);
	cr_assert_eq(n, 4); /* requested, in-review, target:staging (created on use), approved */
	pb_github_strv_free(names, n);
}

Test(github, comments_paginate_over_three_pages_by_link)
{
	pb_github_comment *c = NULL;
	size_t n = 0;
	int64_t num = new_issue("t", NULL), id = 0;
	char body[32];

	for (int i = 0; i < 230; i++) {
		snprintf(body, sizeof(body), "comment %d", i);
		cr_assert_eq(pb_github_comment_create(gh, REPO, num, body, &id, &err), 0, "%s", pb_err_text(&err));
	}
	cr_assert_gt(id, 0);
	cr_assert_eq(pb_github_comments_list(gh, REPO, num, &c, &n, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(n, 230);
	cr_assert_str_eq(c[0].body, "comment 0");
	cr_assert_str_eq(c[229].body, "comment 229");
	cr_assert_str_eq(c[5].user, "promobot[bot]");
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta/issues/1/comments", 200), 3);
	pb_github_comments_free(c, n);
}

Test(github, issues_list_by_labels_skips_pull_requests)
{
	pb_github_issue *v = NULL;
	size_t n = 0;

	new_issue("a", "promotion:blocked");
	new_issue("b", NULL);
	new_issue("c", "promotion:blocked");
	github_fake_add_pull(fake, REPO, "a PR", "promotion:blocked");
	cr_assert_eq(pb_github_issues_list(gh, REPO, "promotion:blocked", "open", &v, &n, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].title, "c"); /* newest first */
	cr_assert_str_eq(v[1].title, "a");
	cr_assert_not(v[0].pull_request);
	pb_github_issues_free(v, n);
}

/* ---- contents ---------------------------------------------------------- */

Test(github, contents_get_put_with_sha_and_conflicts)
{
	static const char md[] =
		"# Neo4j Maturity\n\n**Current Stage**: Development\n**Last Updated**: 2026-01-01\n\n"
		"## Promotion History\n\n- **2026-01-01**: Created (a line long enough to wrap base64 at 60)\n";
	pb_github_content c, c2;
	char sha[41], expect[41];
	char *now;

	github_fake_put_file(fake, REPO, "docs/neo4j/MATURITY.md", md, strlen(md));
	cr_assert_eq(pb_github_content_get(gh, REPO, "docs/neo4j/MATURITY.md", NULL, &c, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(c.len, strlen(md));
	cr_assert_str_eq(c.data, md);
	cr_assert_eq(strlen(c.sha), 40);

	cr_assert_eq(pb_github_content_put(gh, REPO, "docs/neo4j/MATURITY.md", "v2\n", 3, "promote", c.sha, NULL, sha,
					   &err),
		     0, "%s", pb_err_text(&err));
	/* git hash-object of "v2\n" */
	snprintf(expect, sizeof(expect), "%s", "8c1384d825dbbe41309b7dc18ee7991a9085c46e");
	cr_assert_str_eq(sha, expect);
	now = github_fake_file(fake, REPO, "docs/neo4j/MATURITY.md", NULL);
	cr_assert_str_eq(now, "v2\n");
	free(now);

	/* The old sha is stale now: 409. */
	cr_assert_eq(pb_github_content_put(gh, REPO, "docs/neo4j/MATURITY.md", "v3\n", 3, "promote", c.sha, NULL,
					   NULL, &err),
		     PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "does not match") && strstr(pb_err_text(&err), "(HTTP 409)"),
		  "%s", pb_err_text(&err));
	/* No sha for an existing file: 422. */
	pb_err_init(&err);
	cr_assert_eq(pb_github_content_put(gh, REPO, "docs/neo4j/MATURITY.md", "v3\n", 3, "m", NULL, NULL, NULL, &err),
		     PB_E_INVALID);
	cr_assert(strstr(pb_err_text(&err), "\"sha\" wasn't supplied"), "%s", pb_err_text(&err));
	/* A new file needs none. */
	cr_assert_eq(pb_github_content_put(gh, REPO, "new dir/file #1.md", "x", 1, "m", NULL, NULL, NULL, &err), 0,
		     "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_content_get(gh, REPO, "new dir/file #1.md", "main", &c2, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_str_eq(c2.data, "x");
	pb_github_content_deinit(&c2);
	pb_github_content_deinit(&c);
	pb_err_init(&err);
	cr_assert_eq(pb_github_content_get(gh, REPO, "nope.md", NULL, &c, &err), PB_E_NOTFOUND);
}

/* ---- refs, checks, statuses, actions, deployments ---------------------- */

#define SHA1 "1111111111111111111111111111111111111111"

Test(github, ref_checks_and_combined_status)
{
	pb_github_check *runs = NULL;
	pb_github_combined st;
	size_t n = 0;
	char sha[41];

	github_fake_set_ref(fake, REPO, "release", SHA1);
	cr_assert_eq(pb_github_ref_sha(gh, REPO, "heads/release", sha, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(sha, SHA1);
	cr_assert_eq(pb_github_ref_sha(gh, REPO, "heads/nope", sha, &err), PB_E_NOTFOUND);
	for (int i = 0; i < 150; i++) {
		char name[32];

		snprintf(name, sizeof(name), "check-%d", i);
		github_fake_add_check_run(fake, REPO, SHA1, name, i == 149 ? "in_progress" : "completed",
					  i == 149 ? NULL : "success");
	}
	cr_assert_eq(pb_github_check_runs(gh, REPO, SHA1, &runs, &n, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(n, 150);
	cr_assert_str_eq(runs[149].status, "in_progress");
	cr_assert_str_eq(runs[149].conclusion, "");
	cr_assert_str_eq(runs[0].conclusion, "success");
	free(runs);

	github_fake_add_status(fake, REPO, SHA1, "ci/tests", "success");
	github_fake_add_status(fake, REPO, SHA1, "ci/coverage", "pending");
	cr_assert_eq(pb_github_combined_status(gh, REPO, SHA1, &st, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(st.state, "pending");
	cr_assert_eq(st.n, 2);
	pb_github_combined_deinit(&st);
	github_fake_add_status(fake, REPO, SHA1, "ci/coverage", "failure");
	cr_assert_eq(pb_github_combined_status(gh, REPO, SHA1, &st, &err), 0);
	cr_assert_str_eq(st.state, "failure");
	pb_github_combined_deinit(&st);
}

Test(github, workflow_dispatch_runs_list_and_get)
{
	cJSON *inputs = cJSON_CreateObject();
	pb_github_run *runs = NULL, run;
	size_t n = 0;

	github_fake_add_workflow(fake, REPO, 42, "component-promotion-validation.yml");
	cJSON_AddStringToObject(inputs, "component", "neo4j");
	cr_assert_eq(pb_github_workflow_dispatch(gh, REPO, "component-promotion-validation.yml", "main", inputs,
						 &err),
		     0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_workflow_dispatch(gh, REPO, "42", "nope", inputs, &err), PB_E_INVALID);
	cr_assert(strstr(pb_err_text(&err), "No ref found for: nope"), "%s", pb_err_text(&err));
	cJSON_Delete(inputs);
	cr_assert_eq(pb_github_runs_list(gh, REPO, "component-promotion-validation.yml", "workflow_dispatch", 0,
					 &runs, &n, &err),
		     0, "%s", pb_err_text(&err));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(runs[0].status, "queued");
	cr_assert_eq(runs[0].created_at, T0_MS / 1000);
	cr_assert_eq(runs[0].workflow_id, 42);
	github_fake_set_run(fake, REPO, runs[0].id, "completed", "failure");
	cr_assert_eq(pb_github_run_get(gh, REPO, runs[0].id, &run, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(run.conclusion, "failure");
	cr_assert(strstr(run.html_url, "/actions/runs/"));
	free(runs);
}

Test(github, deployment_and_statuses)
{
	int64_t id = 0;
	cJSON *list = NULL;

	github_fake_add_status(fake, REPO, SHA1, "ci/tests", "failure");
	github_fake_set_ref(fake, REPO, "v1", SHA1);
	/* required_contexts [] lets the bot deploy what it validated itself. */
	cr_assert_eq(pb_github_deployment_create(gh, REPO, SHA1, "staging", "promobot: neo4j", &id, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_gt(id, 0);
	cr_assert_eq(pb_github_deployment_status(gh, REPO, id, "in_progress", "https://chat/t/1", NULL, NULL, &err), 0,
		     "%s", pb_err_text(&err));
	cr_assert_eq(pb_github_deployment_status(gh, REPO, id, "success", NULL, "http://staging:7474", "ok", &err),
		     0);
	cr_assert_eq(pb_github_deployment_status(gh, REPO, id, "done", NULL, NULL, NULL, &err), PB_E_INVALID);
	{
		char path[128];

		snprintf(path, sizeof(path), "/repos/acme/tta/deployments/%" PRId64 "/statuses", id);
		cr_assert_eq(pb_github_get_all(gh, path, NULL, 0, &list, &err), 0);
	}
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "state")->valuestring, "success");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "log_url")->valuestring, "https://chat/t/1");
	cJSON_Delete(list);
}

/* ---- GraphQL ----------------------------------------------------------- */

Test(github, graphql_project_item_and_errors_at_http_200)
{
	static const char add[] = "mutation($projectId:ID!,$contentId:ID!){addProjectV2ItemById(input:"
				  "{projectId:$projectId,contentId:$contentId}){item{id}}}";
	static const char upd[] = "mutation($projectId:ID!,$itemId:ID!,$fieldId:ID!,$value:ProjectV2FieldValue!)"
				  "{updateProjectV2ItemFieldValue(input:{projectId:$projectId,itemId:$itemId,"
				  "fieldId:$fieldId,value:$value}){projectV2Item{id}}}";
	pb_github_issue is;
	cJSON *vars = cJSON_CreateObject(), *data = NULL, *v2, *val;
	const char *item;
	char *set;

	github_fake_add_project(fake, "PVT_kw1", "PVTSSF_status");
	cr_assert_eq(pb_github_issue_create(gh, REPO, "t", NULL, NULL, 0, &is, &err), 0);
	cJSON_AddStringToObject(vars, "projectId", "PVT_kw1");
	cJSON_AddStringToObject(vars, "contentId", is.node_id);
	cr_assert_eq(pb_github_graphql(gh, add, vars, &data, &err), 0, "%s", pb_err_text(&err));
	item = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(data, "addProjectV2ItemById"), "item"),
				   "id")
		       ->valuestring;
	cr_assert(strncmp(item, "PVTI_", 5) == 0);

	v2 = cJSON_CreateObject();
	cJSON_AddStringToObject(v2, "projectId", "PVT_kw1");
	cJSON_AddStringToObject(v2, "itemId", item);
	cJSON_AddStringToObject(v2, "fieldId", "PVTSSF_status");
	val = cJSON_AddObjectToObject(v2, "value");
	cJSON_AddStringToObject(val, "singleSelectOptionId", "opt_staging");
	cr_assert_eq(pb_github_graphql(gh, upd, v2, NULL, &err), 0, "%s", pb_err_text(&err));
	set = github_fake_project_value(fake, item, "PVTSSF_status");
	cr_assert_str_eq(set, "opt_staging");
	free(set);
	cJSON_Delete(data);

	/* A bad id: HTTP 200 with errors[] — still a failure. */
	cJSON_ReplaceItemInObject(vars, "contentId", cJSON_CreateString("I_nope"));
	cr_assert_eq(pb_github_graphql(gh, add, vars, &data, &err), PB_E_NOTFOUND);
	cr_assert_null(data);
	cr_assert_str_eq(pb_err_text(&err),
			 "GitHub GraphQL: Could not resolve to a node with the global id of 'I_nope'. (NOT_FOUND)");
	cJSON_Delete(vars);
	cJSON_Delete(v2);
	pb_github_issue_deinit(&is);
}

/* ---- conditional requests ---------------------------------------------- */

Test(github, etag_304_serves_the_cached_body_and_changes_show)
{
	pb_github_issue a, b, c;
	pb_github_issue_patch p = { .title = "changed" };
	pb_github_stats st;

	new_issue("first", NULL);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &a, &err), 0);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &b, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(b.title, "first");
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta/issues/1", 304), 1);
	pb_github_get_stats(gh, &st);
	cr_assert_eq(st.not_modified, 1);
	cr_assert_eq(pb_github_issue_update(gh, REPO, 1, &p, NULL, &err), 0);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &c, &err), 0);
	cr_assert_str_eq(c.title, "changed");
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta/issues/1", 200), 2);
	pb_github_issue_deinit(&a);
	pb_github_issue_deinit(&b);
	pb_github_issue_deinit(&c);
}

/* ---- rate limits, faults ----------------------------------------------- */

Test(github, primary_rate_limit_waits_until_reset_on_the_fake_clock)
{
	pb_github_issue is;
	pb_github_stats st;
	int64_t before;

	new_issue("t", NULL);
	before = pb_clock_mono_ms(&fc.clock);
	github_fake_fault(fake, GITHUB_FAULT_RATE_LIMIT, 1, 403, T0_MS / 1000 + 120);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	pb_github_issue_deinit(&is);
	pb_github_get_stats(gh, &st);
	/* reset - now = 120 s, plus one second of margin */
	cr_assert_eq(pb_clock_mono_ms(&fc.clock) - before, 121000);
	cr_assert_eq(st.waited_ms, 121000);

	/* 429 the same, and a POST is repeated too: GitHub refused it, nothing was created. */
	github_fake_fault(fake, GITHUB_FAULT_RATE_LIMIT, 1, 429, pb_clock_now(&fc.clock) + 30);
	before = pb_clock_mono_ms(&fc.clock);
	new_issue("after 429", NULL);
	cr_assert_geq(pb_clock_mono_ms(&fc.clock) - before, 31000);
	cr_assert_lt(pb_clock_mono_ms(&fc.clock) - before, 32000);
	cr_assert_eq(github_fake_count(fake, "POST /repos/acme/tta/issues", 201), 2);
}

Test(github, primary_rate_limit_too_far_away_is_an_error)
{
	pb_github_issue is;
	int64_t before = pb_clock_mono_ms(&fc.clock);

	github_fake_fault(fake, GITHUB_FAULT_RATE_LIMIT, 1, 403, T0_MS / 1000 + 7200);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&err), "API rate limit exceeded"), "%s", pb_err_text(&err));
	cr_assert(strstr(pb_err_text(&err), "(HTTP 403) for GET /repos/acme/tta/issues/1"), "%s", pb_err_text(&err));
	cr_assert_eq(pb_clock_mono_ms(&fc.clock), before, "a two-hour wait is not waited");
}

Test(github, secondary_limit_honours_retry_after)
{
	pb_github_stats st;
	int64_t before = pb_clock_mono_ms(&fc.clock);

	github_fake_fault(fake, GITHUB_FAULT_SECONDARY, 1, 403, 30);
	new_issue("t", NULL);
	pb_github_get_stats(gh, &st);
	cr_assert_eq(pb_clock_mono_ms(&fc.clock) - before, 30000);
	cr_assert_eq(github_fake_count(fake, "POST /repos/acme/tta/issues", 201), 1);

	/* Without retry-after: at least a minute, doubling while it repeats. */
	github_fake_fault(fake, GITHUB_FAULT_SECONDARY, 2, 403, -1);
	before = pb_clock_mono_ms(&fc.clock);
	new_issue("t2", NULL);
	cr_assert_eq(pb_clock_mono_ms(&fc.clock) - before, 60000 + 120000);
	cr_assert_eq(github_fake_count(fake, "POST /repos/acme/tta/issues", 201), 2);
}

Test(github, server_errors_are_retried_for_get_only)
{
	pb_github_issue is;
	pb_github_stats st;

	new_issue("t", NULL);
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 2, 502, 0);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	pb_github_issue_deinit(&is);
	pb_github_get_stats(gh, &st);
	cr_assert_eq(st.retries, 2);
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta/issues/1", 0), 3);
	/* Backoff 1 s then 2 s, each with jitter in [d/2, d]. */
	cr_assert_geq(st.waited_ms, 500 + 1000);
	cr_assert_leq(st.waited_ms, 1000 + 2000);

	github_fake_fault(fake, GITHUB_FAULT_STATUS, 1, 500, 0);
	cr_assert_eq(pb_github_issue_create(gh, REPO, "x", NULL, NULL, 0, &is, &err), PB_E_UNAVAILABLE);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Internal Server Error (HTTP 500) for POST /repos/acme/tta/issues");
	cr_assert(pb_github_maybe_sent(gh));
	cr_assert_eq(github_fake_count(fake, "POST /repos/acme/tta/issues", 0), 2); /* new_issue's + this one */
}

Test(github, dropped_reply_after_the_work_reports_maybe_sent)
{
	pb_github_issue is;
	char *json;

	github_fake_fault(fake, GITHUB_FAULT_DROP, 1, 0, 0);
	cr_assert_eq(pb_github_issue_create(gh, REPO, "unknown outcome", NULL, NULL, 0, &is, &err), PB_E_UNAVAILABLE);
	cr_assert(pb_github_maybe_sent(gh));
	json = github_fake_issue_json(fake, REPO, 1);
	cr_assert_not_null(json, "the fake did the work");
	free(json);
	cr_assert_eq(github_fake_count(fake, "POST /repos/acme/tta/issues", 0), 1, "not repeated blindly");
}

Test(github, hang_is_a_timeout_retried_for_get_not_for_post)
{
	pb_github *g = client_with_timeout(300);
	pb_github_issue is;

	new_issue("t", NULL);
	github_fake_fault(fake, GITHUB_FAULT_HANG, 1, 0, 0);
	cr_assert_eq(pb_github_issue_get(g, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	pb_github_issue_deinit(&is);

	github_fake_fault(fake, GITHUB_FAULT_HANG, 1, 0, 0);
	cr_assert_eq(pb_github_comment_create(g, REPO, 1, "hello", NULL, &err), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&err), "GitHub: POST ") && strstr(pb_err_text(&err), "imeout"), "%s",
		  pb_err_text(&err));
	cr_assert(pb_github_maybe_sent(g));
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 0);
	pb_github_free(g);
}

Test(github, html_error_page_is_named)
{
	pb_github_issue is;

	github_fake_fault(fake, GITHUB_FAULT_HTML, 4, 502, 0);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), PB_E_UNAVAILABLE);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: HTTP 502 with an HTML page instead of JSON (a proxy's error "
					    "page?) for GET /repos/acme/tta/issues/1");
}

Test(github, oversized_and_malformed_json_are_clear_errors)
{
	pb_github_issue is;

	github_fake_fault(fake, GITHUB_FAULT_HUGE, 4, 200, 5 << 20);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&err), "response larger than 4194304 bytes"), "%s", pb_err_text(&err));
	pb_err_init(&err);
	github_fake_fault(fake, GITHUB_FAULT_MALFORMED, 1, 200, 0);
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), PB_E_UNAVAILABLE);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: malformed JSON (26 bytes) in the answer to GET /repos/acme/tta/issues/1");
}

Test(github, bad_token_is_401_and_never_logged)
{
	char path[] = "/tmp/pb-gh-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	pb_github_cfg c = cfg_for(2000);
	pb_github *bad = NULL;
	pb_github_issue is;
	char buf[65536];
	ssize_t n;

	cr_assert_geq(fd, 0);
	setenv("PB_TEST_GITHUB_BAD", "ghp_wrongTokenValue987654321", 1);
	c.token_env = (char *)"PB_TEST_GITHUB_BAD";
	pb_log_set_level(PB_LOG_DEBUG);
	fflush(stderr);
	dup2(fd, 2);
	cr_assert_eq(pb_github_new(&c, &fc.clock, &bad, &err), 0);
	cr_assert_eq(pb_github_issue_get(bad, REPO, 1, &is, &err), PB_E_REFUSED);
	new_issue("logged", NULL);
	pb_log(PB_LOG_ERROR, "test", "%s", pb_err_text(&err));
	pb_log(PB_LOG_ERROR, "test", "echo %s %s", TOKEN, "ghp_wrongTokenValue987654321");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	pb_log_set_level(PB_LOG_INFO);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Bad credentials (HTTP 401) for GET /repos/acme/tta/issues/1");
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, "GET /repos/acme/tta/issues/1 -> 401"), "debug lines are written: %s", buf);
	cr_assert_null(strstr(buf, TOKEN), "%s", buf);
	cr_assert_null(strstr(buf, "ghp_wrongTokenValue987654321"), "%s", buf);
	pb_github_free(bad);
}

Test(github, writes_stay_within_the_per_minute_budget)
{
	pb_github_stats st;
	int64_t before;

	new_issue("t", NULL); /* one token used */
	before = pb_clock_mono_ms(&fc.clock);
	for (int i = 0; i < 9; i++)
		cr_assert_eq(pb_github_comment_create(gh, REPO, 1, "c", NULL, &err), 0);
	cr_assert_eq(pb_clock_mono_ms(&fc.clock), before, "a burst of 10 does not wait");
	cr_assert_eq(pb_github_comment_create(gh, REPO, 1, "c", NULL, &err), 0);
	pb_github_get_stats(gh, &st);
	/* 80/min: burst 10, then 70 per 60 s → one token every 857 ms. */
	cr_assert_geq(pb_clock_mono_ms(&fc.clock) - before, 857);
	cr_assert_leq(pb_clock_mono_ms(&fc.clock) - before, 858);
	/* 140 more writes at 70 per minute take about two minutes of fake time. */
	before = pb_clock_mono_ms(&fc.clock);
	for (int i = 0; i < 140; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		cr_assert_eq(pb_github_label_create(gh, REPO, name, NULL, NULL, &err), 0, "%s", pb_err_text(&err));
	}
	cr_assert_geq(pb_clock_mono_ms(&fc.clock) - before, 119000);
}

/* ---- GitHub App -------------------------------------------------------- */

static EVP_PKEY *rsa_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	cr_assert_not_null(k);
	return k;
}

static char *pem_of(EVP_PKEY *k, bool priv)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	cr_assert(priv ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
		       : PEM_write_bio_PUBKEY(b, k));
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static char *b64url_decode(const char *s, size_t len, size_t *out_len)
{
	char *std = calloc(1, len + 4);
	unsigned char *out = calloc(1, len + 4);
	size_t k;
	int r;

	for (k = 0; k < len; k++)
		std[k] = s[k] == '-' ? '+' : s[k] == '_' ? '/' : s[k];
	while (k % 4)
		std[k++] = '=';
	r = EVP_DecodeBlock(out, (unsigned char *)std, (int)k);
	cr_assert_geq(r, 0);
	while (k > 0 && std[k - 1] == '=') {
		r--;
		k--;
	}
	free(std);
	out[r] = '\0';
	*out_len = (size_t)r;
	return (char *)out;
}

Test(github, app_jwt_is_rs256_and_verifies_with_the_public_key)
{
	EVP_PKEY *k = rsa_key();
	char *pem = pem_of(k, true), *jwt = NULL, *head, *payload, *sig;
	const char *d1, *d2;
	size_t hl, pl, sl;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	cJSON *p;

	cr_assert_eq(pb_github_app_jwt(pem, strlen(pem), 123456, 1700000000, &jwt, &err), 0, "%s", pb_err_text(&err));
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');
	cr_assert_not_null(d2);
	head = b64url_decode(jwt, (size_t)(d1 - jwt), &hl);
	payload = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	sig = b64url_decode(d2 + 1, strlen(d2 + 1), &sl);
	cr_assert_str_eq(head, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	p = cJSON_Parse(payload);
	cr_assert_eq(cJSON_GetObjectItem(p, "iat")->valuedouble, 1700000000 - 60);
	cr_assert_eq(cJSON_GetObjectItem(p, "exp")->valuedouble, 1700000000 + 540);
	cr_assert_str_eq(cJSON_GetObjectItem(p, "iss")->valuestring, "123456");
	cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	cr_assert_eq(EVP_DigestVerify(md, (unsigned char *)sig, sl, (unsigned char *)jwt, (size_t)(d2 - jwt)), 1);
	/* A flipped byte fails. */
	EVP_MD_CTX_free(md);
	md = EVP_MD_CTX_new();
	sig[10] ^= 1;
	cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	cr_assert_neq(EVP_DigestVerify(md, (unsigned char *)sig, sl, (unsigned char *)jwt, (size_t)(d2 - jwt)), 1);
	free(jwt);
	jwt = NULL;
	cr_assert_eq(pb_github_app_jwt("not a key", 9, 1, 1, &jwt, &err), PB_E_INVALID);
	cr_assert_null(jwt);
	cJSON_Delete(p);
	EVP_MD_CTX_free(md);
	free(head);
	free(payload);
	free(sig);
	free(jwt);
	free(pem);
	EVP_PKEY_free(k);
}

Test(github, app_installation_token_is_minted_cached_and_renewed)
{
	EVP_PKEY *k = rsa_key();
	char *priv = pem_of(k, true), *pub = pem_of(k, false), *bad = NULL;
	char keyfile[] = "/tmp/pb-gh-key-XXXXXX";
	int fd = mkstemp(keyfile);
	pb_github_cfg c = cfg_for(2000);
	pb_github *app = NULL;
	pb_github_issue is;
	char auth[256];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, priv, strlen(priv)), (ssize_t)strlen(priv));
	close(fd);
	github_fake_set_app(fake, 777, 4242, pub, 3600);
	c.token_env = NULL;
	c.app = true;
	c.app_id = 777;
	c.installation_id = 4242;
	c.private_key_file = keyfile;
	cr_assert_eq(pb_github_new(&c, &fc.clock, &app, &err), 0, "%s", pb_err_text(&err));
	new_issue("t", NULL);
	cr_assert_eq(pb_github_issue_get(app, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	pb_github_issue_deinit(&is);
	cr_assert_eq(pb_github_issue_get(app, REPO, 1, &is, &err), 0);
	pb_github_issue_deinit(&is);
	cr_assert_eq(github_fake_tokens_minted(fake), 1, "cached");
	github_fake_last_header(fake, "Authorization", auth, sizeof(auth));
	cr_assert_str_eq(auth, "Bearer ghs_fakeinstallation000001");
	/* 56 minutes later the token is within 5 minutes of expiry: renewed. */
	pb_fake_clock_advance(&fc, 56 * 60 * 1000);
	github_fake_set_now(fake, pb_clock_now(&fc.clock));
	cr_assert_eq(pb_github_issue_get(app, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	pb_github_issue_deinit(&is);
	cr_assert_eq(github_fake_tokens_minted(fake), 2);
	pb_github_free(app);

	/* The wrong key: GitHub's 401 names the JWT. */
	{
		EVP_PKEY *other = rsa_key();

		bad = pem_of(other, false);
		github_fake_set_app(fake, 777, 4242, bad, 3600);
		EVP_PKEY_free(other);
	}
	cr_assert_eq(pb_github_new(&c, &fc.clock, &app, &err), 0);
	cr_assert_eq(pb_github_issue_get(app, REPO, 1, &is, &err), PB_E_REFUSED);
	cr_assert_str_eq(pb_err_text(&err), "GitHub App installation token: GitHub: A JSON web token could not be "
					    "decoded (HTTP 401) for POST /app/installations/4242/access_tokens");
	pb_github_free(app);
	app = NULL;

	/* A key file that holds no private key is refused at construction. */
	fd = open(keyfile, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, pub, strlen(pub)), (ssize_t)strlen(pub));
	close(fd);
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&c, &fc.clock, &app, &err), PB_E_INVALID);
	cr_assert_null(app);
	cr_assert(strstr(pb_err_text(&err), "GitHub App: the private key is not a PEM private key"), "%s",
		  pb_err_text(&err));
	unlink(keyfile);
	free(priv);
	free(pub);
	free(bad);
	EVP_PKEY_free(k);
}

/* ---- the fake itself: what GitHub rejects ------------------------------- */

static long raw(const char *method, const char *path, const char *ua, const char *auth, const char *body,
		pb_http_resp *resp)
{
	pb_http *h = NULL;
	pb_http_header hd[3];
	size_t n = 0;
	char url[512], a[256];
	pb_http_req req = { 0 };

	snprintf(url, sizeof(url), "%s%s", github_fake_url(fake), path);
	if (ua)
		hd[n++] = (pb_http_header){ "User-Agent", ua };
	if (auth) {
		snprintf(a, sizeof(a), "Bearer %s", auth);
		hd[n++] = (pb_http_header){ "Authorization", a };
	}
	req.method = method;
	req.url = url;
	req.headers = hd;
	req.nheaders = n;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	cr_assert_eq(pb_http_new(&h), 0);
	cr_assert_eq(pb_http_do(h, &req, resp, &err), 0, "%s", pb_err_text(&err));
	pb_http_free(h);
	return resp->status;
}

Test(github, fake_rejects_what_github_rejects)
{
	pb_http_resp r;
	char v[64];

	pb_http_resp_init(&r);
	cr_assert_eq(raw("GET", "/repos/acme/tta/issues", NULL, TOKEN, NULL, &r), 403);
	cr_assert(strstr(pb_buf_str(&r.body), "Request forbidden by administrative rules. Please make sure your "
					      "request has a User-Agent header"));
	cr_assert_eq(raw("GET", "/repos/acme/tta/issues", "x", "nope", NULL, &r), 401);
	cr_assert(strstr(pb_buf_str(&r.body), "\"message\":\"Bad credentials\""));
	cr_assert(strstr(pb_buf_str(&r.body), "\"documentation_url\""));
	cr_assert(strstr(pb_buf_str(&r.body), "\"status\":\"401\""));
	cr_assert_eq(raw("POST", "/repos/acme/tta/issues", "x", TOKEN, "{\"title\":7}", &r), 422);
	cr_assert(strstr(pb_buf_str(&r.body), "\"message\":\"Validation Failed\",\"errors\":[{"));
	cr_assert_eq(raw("POST", "/repos/acme/tta/issues", "x", TOKEN, "{\"title\":\"ok\",\"labels\":[1]}", &r), 422);
	cr_assert_eq(raw("GET", "/repos/acme/tta/issues?per_page=1", "x", TOKEN, NULL, &r), 200);
	cr_assert_eq(pb_http_resp_header(&r, "x-ratelimit-limit", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "5000");
	cr_assert_eq(pb_http_resp_header(&r, "etag", v, sizeof(v)), 0);
	cr_assert_eq(raw("PATCH", "/repos/acme/tta/issues/1", "x", TOKEN, "{\"state\":\"closed\"}", &r), 404);
	cr_assert_eq(raw("POST", "/repos/acme/tta/issues", "x", TOKEN, "{\"title\":\"ok\"}", &r), 201);
	cr_assert_eq(raw("PATCH", "/repos/acme/tta/issues/1", "x", TOKEN, "{\"state\":\"done\"}", &r), 422);
	cr_assert_eq(raw("DELETE", "/repos/acme/tta/issues/1/labels/x", "x", TOKEN, NULL, &r), 404);
	cr_assert(strstr(pb_buf_str(&r.body), "\"message\":\"Label does not exist\""));
	cr_assert_eq(raw("POST", "/graphql", "x", TOKEN, "{\"query\":\"query{node(id:$id){id}}\",\"variables\":{\"id\":\"X\"}}", &r),
		     200);
	cr_assert(strstr(pb_buf_str(&r.body), "\"errors\":[{\"type\":\"NOT_FOUND\""));
	pb_http_resp_deinit(&r);
}

Test(github, fake_contents_base64_wraps_at_60)
{
	pb_http_resp r;
	char text[200];
	cJSON *j;
	const char *content, *nl;

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	github_fake_put_file(fake, REPO, "A.md", text, strlen(text));
	pb_http_resp_init(&r);
	cr_assert_eq(raw("GET", "/repos/acme/tta/contents/A.md", "x", TOKEN, NULL, &r), 200);
	j = cJSON_Parse(pb_buf_str(&r.body));
	content = cJSON_GetObjectItem(j, "content")->valuestring;
	nl = strchr(content, '\n');
	cr_assert_not_null(nl);
	cr_assert_eq(nl - content, 60);
	cr_assert_eq(content[strlen(content) - 1], '\n');
	cJSON_Delete(j);
	pb_http_resp_deinit(&r);
}

Test(github, renamed_repository_redirect_is_followed_for_get_only)
{
	pb_github_issue is;

	new_issue("t", NULL);
	github_fake_rename_repo(fake, REPO, "acme/tta-renamed");
	cr_assert_eq(pb_github_issue_get(gh, REPO, 1, &is, &err), 0, "%s", pb_err_text(&err));
	cr_assert_str_eq(is.title, "t");
	pb_github_issue_deinit(&is);
	cr_assert_eq(github_fake_count(fake, "GET /repos/acme/tta-renamed/issues/1", 200), 1);
	/* A POST is not re-sent elsewhere: the caller sees the move. */
	cr_assert_eq(pb_github_comment_create(gh, REPO, 1, "x", NULL, &err), PB_E_UNAVAILABLE);
	cr_assert_str_eq(pb_err_text(&err), "GitHub: Moved Permanently (HTTP 301) for POST /repos/acme/tta/issues/1/comments");
	cr_assert_not(pb_github_maybe_sent(gh));
	cr_assert_eq(github_fake_comment_count(fake, "acme/tta-renamed", 1), 0);
}

Test(github, enterprise_api_url_puts_graphql_at_api_graphql)
{
	pb_github_cfg c = cfg_for(2000);
	char url[128];
	pb_github *ghe = NULL;
	pb_github_issue is;
	cJSON *vars = cJSON_CreateObject();

	snprintf(url, sizeof(url), "%s/api/v3/", github_fake_url(fake));
	c.api_url = url;
	cr_assert_eq(pb_github_new(&c, &fc.clock, &ghe, &err), 0);
	cr_assert_eq(pb_github_issue_create(ghe, REPO, "on GHE", NULL, NULL, 0, &is, &err), 0, "%s", pb_err_text(&err));
	cJSON_AddStringToObject(vars, "id", is.node_id);
	cr_assert_eq(pb_github_graphql(ghe, "query($id:ID!){node(id:$id){id}}", vars, NULL, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(github_fake_count(fake, "POST /api/v3/repos/acme/tta/issues", 201), 1);
	cr_assert_eq(github_fake_count(fake, "POST /api/graphql", 200), 1);
	cJSON_Delete(vars);
	pb_github_issue_deinit(&is);
	pb_github_free(ghe);
}

Test(github, backoff_doubles_with_jitter_and_a_cap)
{
	uint64_t rng = 12345;

	cr_assert_eq(pb_http_backoff_ms(1000, 30000, 0, NULL), 1000);
	cr_assert_eq(pb_http_backoff_ms(1000, 30000, 3, NULL), 8000);
	cr_assert_eq(pb_http_backoff_ms(1000, 30000, 10, NULL), 30000);
	for (int n = 0; n < 8; n++) {
		int64_t d = pb_http_backoff_ms(1000, 30000, n, NULL), j = pb_http_backoff_ms(1000, 30000, n, &rng);

		cr_assert_geq(j, d / 2);
		cr_assert_leq(j, d);
	}
}

/* ---- link header parsing ------------------------------------------------ */

Test(github, link_next_is_found_in_any_position)
{
	pb_http_resp r;
	char out[256];

	pb_http_resp_init(&r);
	pb_buf_puts(&r.headers, "HTTP/1.1 200 OK\r\nLink: <https://api.github.com/x?page=1>; rel=\"prev\", "
				"<https://api.github.com/x?page=3>; rel=\"next\", <https://api.github.com/x?page=9>; "
				"rel=\"last\"\r\n\r\n");
	cr_assert_eq(pb_http_link_next(&r, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "https://api.github.com/x?page=3");
	cr_assert_eq(pb_http_link_next(&r, out, 10), PB_E_INVALID);
	pb_buf_reset(&r.headers);
	pb_buf_puts(&r.headers, "HTTP/1.1 200 OK\r\nlink: <https://a/x?page=1>; rel=\"first\"\r\n\r\n");
	cr_assert_eq(pb_http_link_next(&r, out, sizeof(out)), PB_E_NOTFOUND);
	pb_buf_reset(&r.headers);
	cr_assert_eq(pb_http_link_next(&r, out, sizeof(out)), PB_E_NOTFOUND);
	pb_http_resp_deinit(&r);
}

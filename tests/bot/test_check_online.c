/* test_check_online.c — --check-config --online against the fake GitHub and fake Slack, with no Docker engine. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check_online.h"
#include "fake_slack.h"
#include "github.h"
#include "github_fake.h"
#include "pb_log.h"

#define TOKEN "ghp_promobotOnlineToken0123456789"
#define APP_TOKEN "xapp-1-online"
#define BOT_TOKEN "xoxb-online"
#define NO_DOCKER "unix:///tmp/promobot-no-such-docker.sock"

static github_fake *gh;
static fake_slack *slack;
static pb_config *cfg;
static pb_online_report rep;

static void setup(void)
{
	cr_assert_eq(github_fake_start(&gh), 0);
	github_fake_add_token(gh, TOKEN);
	github_fake_add_repo(gh, "acme/tta");
	github_fake_add_repo(gh, "acme/readonly");
	github_fake_set_repo_permissions(gh, "acme/tta", false, true, true);
	github_fake_set_repo_permissions(gh, "acme/readonly", false, false, true);
	cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &slack), 0);
	setenv("PB_ONLINE_GH_TOKEN", TOKEN, 1);
	setenv("PB_ONLINE_SLACK_BOT", BOT_TOKEN, 1);
	setenv("PB_ONLINE_SLACK_APP", APP_TOKEN, 1);
	/* the config's docker.host is the one asked: scripts/test.sh exports the test engine's DOCKER_HOST */
	unsetenv("DOCKER_HOST");
	memset(&rep, 0, sizeof(rep));
}

static void teardown(void)
{
	pb_online_report_deinit(&rep);
	pb_config_free(cfg);
	cfg = NULL;
	fake_slack_free(slack);
	github_fake_free(gh);
}

TestSuite(online, .init = setup, .fini = teardown, .timeout = 60);

/* components: neo4j on acme/tta, graph on `second_repo`; `extra` adds top-level keys; `github` the section's auth. */
static void load_with(const char *github, const char *second_repo, const char *extra)
{
	pb_problems probs = { 0 };
	char json[4096];
	int r;

	snprintf(json, sizeof(json),
		 "{\"storage\": {\"path\": \"/tmp/promobot-online-unused.db\"},"
		 " \"chat\": {\"platform\": \"slack\", \"slack\": {\"api_url\": \"%s\", \"channel\": \"C0PROMO\","
		 "   \"bot_token_env\": \"PB_ONLINE_SLACK_BOT\", \"app_token_env\": \"PB_ONLINE_SLACK_APP\"}},"
		 " \"github\": {\"api_url\": \"%s\", %s, \"timeout_ms\": 2000},"
		 " %s"
		 " \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\"]}},"
		 " \"components\": ["
		 "  {\"id\": \"neo4j\", \"name\": \"Neo4j\", \"stage\": \"development\", \"revision\": {\"value\": \"v1\"},"
		 "   \"github_repo\": \"acme/tta\"},"
		 "  {\"id\": \"graph\", \"name\": \"Graph\", \"stage\": \"development\", \"revision\": {\"value\": \"v1\"},"
		 "   \"github_repo\": \"%s\"}]}",
		 fake_slack_api_url(slack), github_fake_url(gh), github, extra ? extra : "", second_repo);
	r = pb_config_parse(json, strlen(json), "/tmp", &cfg, &probs);
	for (size_t i = 0; i < probs.count; i++)
		fprintf(stderr, "config: %s\n", probs.items[i]);
	pb_problems_deinit(&probs);
	cr_assert_eq(r, 0);
	cr_assert_eq(pb_check_online(cfg, &rep), 0);
}

static void load(const char *second_repo, const char *extra)
{
	load_with("\"token_env\": \"PB_ONLINE_GH_TOKEN\"", second_repo, extra);
}

static bool has(const pb_problems *p, const char *line)
{
	for (size_t i = 0; i < p->count; i++)
		if (!strcmp(p->items[i], line))
			return true;
	return false;
}

static void dump(const char *what, const pb_problems *p)
{
	for (size_t i = 0; i < p->count; i++)
		fprintf(stderr, "%s: %s\n", what, p->items[i]);
}

#define EXPECT_LINE(list, line) \
	do { \
		if (!has(&rep.list, line)) { \
			dump(#list, &rep.list); \
			cr_assert_fail("missing %s line: %s", #list, line); \
		} \
	} while (0)

Test(online, a_working_setup_passes_with_warnings_for_missing_labels)
{
	load("acme/tta", NULL);
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 0);
	EXPECT_LINE(warnings, "components[0].github_repo: label promotion:requested is missing in acme/tta "
			      "(the bot creates it when first used)");
	EXPECT_LINE(warnings, "components[1].github_repo: label component:graph is missing in acme/tta "
			      "(the bot creates it when first used)");
	cr_assert_eq(rep.warnings.count, 12, "5 lifecycle labels + component:<id>, for each component");
	cr_assert_eq(rep.notes.count, 0);
	/* storage is probed without creating the file */
	cr_assert_str_eq(rep.storage, "sqlite: storage: /tmp/promobot-online-unused.db does not exist yet (created on "
				      "first start)");
	cr_assert_eq(github_fake_count(gh, "GET /user", 200), 1);
	cr_assert_eq(github_fake_count(gh, "GET /repos/acme/tta", 0), 2 * 2, "repository + labels, for each component");
}

Test(online, existing_labels_are_no_warning)
{
	github_fake_add_issue(gh, "acme/tta", "ana", "t", NULL,
			      "promotion:requested,promotion:in-review,promotion:blocked,promotion:approved,"
			      "promotion:completed,component:neo4j,component:graph");
	load("acme/tta", NULL);
	cr_assert_eq(rep.problems.count, 0);
	dump("warning", &rep.warnings);
	cr_assert_eq(rep.warnings.count, 0);
}

Test(online, every_problem_under_its_config_path)
{
	load("acme/missing", "\"docker\": {\"host\": \"" NO_DOCKER "\"},");
	EXPECT_LINE(problems, "components[1].github_repo: no access to acme/missing (404: it does not exist, or the "
			      "token cannot see it)");
	cr_assert_eq(rep.problems.count, 2, "the repository and docker");
	cr_assert(strncmp(rep.problems.items[1], "docker.host: ", 13) == 0, "%s", rep.problems.items[1]);
	cr_assert(strstr(rep.problems.items[1], "promobot-no-such-docker.sock"), "%s", rep.problems.items[1]);
}

Test(online, a_read_only_repository_is_a_problem)
{
	load("acme/readonly", NULL);
	EXPECT_LINE(problems, "components[1].github_repo: the token's user cannot write to acme/readonly (no push "
			      "permission): issues, labels, contents, deployments and workflow dispatches need it");
	cr_assert_eq(rep.problems.count, 1);
}

Test(online, a_bad_github_token_and_a_bad_slack_token)
{
	setenv("PB_ONLINE_GH_TOKEN", "ghp_wrongwrongwrong", 1);
	setenv("PB_ONLINE_SLACK_BOT", "xoxb-wrong", 1);
	load("acme/tta", NULL);
	EXPECT_LINE(problems, "github.token_env: GitHub: Bad credentials (HTTP 401) for GET /user");
	EXPECT_LINE(problems, "chat.slack.bot_token_env: auth.test: invalid_auth");
	cr_assert_eq(rep.problems.count, 2, "a refused token stops the repository checks");
	for (size_t i = 0; i < rep.problems.count; i++) {
		cr_assert_null(strstr(rep.problems.items[i], "wrongwrong"), "a secret was printed: %s", rep.problems.items[i]);
		cr_assert_null(strstr(rep.problems.items[i], "xoxb-wrong"), "a secret was printed: %s", rep.problems.items[i]);
	}
}

Test(online, an_unset_token_variable)
{
	unsetenv("PB_ONLINE_GH_TOKEN");
	load("acme/tta", NULL);
	cr_assert_eq(rep.problems.count, 1);
	cr_assert(strncmp(rep.problems.items[0], "github.token_env: ", 18) == 0, "%s", rep.problems.items[0]);
	cr_assert(strstr(rep.problems.items[0], "PB_ONLINE_GH_TOKEN"), "%s", rep.problems.items[0]);
}

Test(online, a_fine_grained_token_says_what_cannot_be_verified)
{
	github_fake_add_token(gh, "github_pat_11ABCDEF_fine");
	setenv("PB_ONLINE_GH_TOKEN", "github_pat_11ABCDEF_fine", 1);
	load("acme/tta", NULL);
	cr_assert_eq(rep.problems.count, 0);
	EXPECT_LINE(notes, "components[0].github_repo: the fine-grained token's permissions on acme/tta cannot be read "
			   "back: grant Issues, Contents, Deployments and Actions read and write, Metadata read");
}

/* ---- a GitHub App ---- */

static char key_path[64];

/* An App whose private key is in key_path; the fake knows its public key. */
static void app_setup(int64_t app_id, int64_t installation_id)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	BIO *b = BIO_new(BIO_s_mem());
	char *pub = NULL;
	long n;
	FILE *f;
	int fd;

	cr_assert(k && b);
	snprintf(key_path, sizeof(key_path), "/tmp/promobot-online-key-XXXXXX");
	fd = mkstemp(key_path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert(f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	cr_assert(PEM_write_bio_PUBKEY(b, k));
	n = BIO_get_mem_data(b, &pub);
	pub = strndup(pub, (size_t)n);
	/* the check signs with the system clock: the fake's "now" follows it */
	github_fake_set_now(gh, (int64_t)time(NULL));
	github_fake_set_app(gh, app_id, installation_id, pub, 3600);
	free(pub);
	BIO_free(b);
	EVP_PKEY_free(k);
}

Test(online, a_github_app_signs_in_and_says_what_cannot_be_verified)
{
	app_setup(4242, 77);
	load_with("\"app\": {\"app_id\": 4242, \"installation_id\": 77, \"private_key_file\": \"/dev/null\"}", "acme/tta",
		  NULL);
	/* /dev/null is no key: said under the App's path */
	cr_assert_eq(rep.problems.count, 1);
	cr_assert(strncmp(rep.problems.items[0], "github.app: ", 12) == 0, "%s", rep.problems.items[0]);
	pb_online_report_deinit(&rep);
	pb_config_free(cfg);
	cfg = NULL;

	{
		char github[256];

		snprintf(github, sizeof(github),
			 "\"app\": {\"app_id\": 4242, \"installation_id\": 77, \"private_key_file\": \"%s\"}", key_path);
		load_with(github, "acme/tta", NULL);
	}
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 0);
	cr_assert_eq(github_fake_tokens_minted(gh), 1);
	EXPECT_LINE(notes, "components[0].github_repo: the GitHub App's permissions on acme/tta cannot be read back: "
			   "grant Issues, Contents, Deployments and Actions read and write, Metadata read");
	unlink(key_path);
}

Test(online, a_github_app_with_a_wrong_installation)
{
	char github[256];

	app_setup(4242, 77);
	snprintf(github, sizeof(github),
		 "\"app\": {\"app_id\": 4242, \"installation_id\": 78, \"private_key_file\": \"%s\"}", key_path);
	load_with(github, "acme/tta", NULL);
	unlink(key_path);
	EXPECT_LINE(problems, "github.app: GitHub App installation token: GitHub: Not Found (HTTP 404) for POST "
			      "/app/installations/78/access_tokens");
}

/* ---- the single checks other branches' config keys use ---- */

static pb_github *client(void)
{
	pb_github *g = NULL;
	pb_err err;

	load("acme/tta", NULL);
	pb_online_report_deinit(&rep);
	memset(&rep, 0, sizeof(rep));
	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&cfg->github, NULL, &g, &err), 0, "%s", pb_err_text(&err));
	return g;
}

Test(online, the_validation_workflow_exists)
{
	pb_github *g = client();

	github_fake_add_workflow(gh, "acme/tta", 555, "component-promotion-validation.yml");
	pb_check_online_workflow(g, "acme/tta", "component-promotion-validation.yml", "components[0].validation", &rep);
	cr_assert_eq(rep.problems.count, 0);
	pb_check_online_workflow(g, "acme/tta", "missing.yml", "components[0].validation", &rep);
	EXPECT_LINE(problems, "components[0].validation: workflow missing.yml not found in acme/tta "
			      "(.github/workflows/missing.yml)");
	pb_github_free(g);
}

Test(online, the_project_and_its_fields_exist)
{
	static const char *const fields[] = { "PVTSSF_status", "PVTF_stage", "PVTF_nope" };
	pb_github *g = client();

	github_fake_add_project(gh, "PVT_board", "PVTSSF_status");
	github_fake_add_project(gh, "PVT_board", "PVTF_stage");
	pb_check_online_project(g, "PVT_board", fields, 2, "github.project", &rep);
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 0);
	pb_check_online_project(g, "PVT_board", fields, 3, "github.project", &rep);
	EXPECT_LINE(problems, "github.project: field PVTF_nope not found (GitHub GraphQL: Could not resolve to a node "
			      "with the global id of 'PVTF_nope'. (NOT_FOUND))");
	cr_assert_eq(rep.problems.count, 1);
	pb_check_online_project(g, "PVT_gone", fields, 3, "github.project", &rep);
	cr_assert_eq(rep.problems.count, 2, "a missing Project is one problem, its fields are not looked up");
	cr_assert(strncmp(rep.problems.items[1], "github.project: Project PVT_gone not found", 42) == 0, "%s",
		  rep.problems.items[1]);
	pb_github_free(g);
}

Test(online, a_component_validating_through_the_workflow_needs_its_file)
{
	load("acme/tta", NULL);
	cr_assert_eq(rep.problems.count, 0);
	pb_online_report_deinit(&rep);
	memset(&rep, 0, sizeof(rep));
	pb_config_free(cfg);
	cfg = NULL;
	/* graph validates through GitHub's workflow: its file must exist in acme/tta */
	{
		pb_problems probs = { 0 };
		char json[2048];

		snprintf(json, sizeof(json),
			 "{\"storage\": {\"path\": \"/tmp/promobot-online-unused.db\"}, \"chat\": {\"platform\": \"console\"},"
			 " \"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_ONLINE_GH_TOKEN\"},"
			 " \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\"]}},"
			 " \"components\": [{\"id\": \"graph\", \"name\": \"Graph\", \"stage\": \"development\","
			 "   \"revision\": {\"value\": \"v1\"}, \"github_repo\": \"acme/tta\","
			 "   \"validation\": {\"source\": [\"github_workflow\"]}}]}",
			 github_fake_url(gh));
		cr_assert_eq(pb_config_parse(json, strlen(json), "/tmp", &cfg, &probs), 0,
			     "%s", probs.count ? probs.items[0] : "");
		pb_problems_deinit(&probs);
	}
	cr_assert_eq(pb_check_online(cfg, &rep), 0);
	EXPECT_LINE(problems, "components[0].validation.workflow.file: workflow component-promotion-validation.yml not "
			      "found in acme/tta (.github/workflows/component-promotion-validation.yml)");
	cr_assert_eq(rep.problems.count, 1);
	pb_online_report_deinit(&rep);
	memset(&rep, 0, sizeof(rep));
	github_fake_add_workflow(gh, "acme/tta", 9, "component-promotion-validation.yml");
	cr_assert_eq(pb_check_online(cfg, &rep), 0);
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 0);
}

/* github.project: the board, its three fields and an option for every reachable stage, by the names configured. */
static void add_board(const char *id, const char *status_options)
{
	github_fake_add_project_field(gh, id, "PVTSSF_status", "Status", "SINGLE_SELECT", status_options);
	github_fake_add_project_field(gh, id, "PVTF_current", "Current Stage", "TEXT", NULL);
	github_fake_add_project_field(gh, id, "PVTF_updated", "Last Updated", "DATE", NULL);
}

Test(online, the_configured_project_has_its_fields_and_stage_options)
{
	add_board("PVT_short", "s1=🔧 Development|s2=🧪 Staging");
	add_board("PVT_full", "s1=🔧 Development|s2=🧪 Staging|s3=🚀 Production");
	/* no production option: said under github.project with what the field has */
	load_with("\"token_env\": \"PB_ONLINE_GH_TOKEN\", \"project\": {\"id\": \"PVT_short\"}", "acme/tta", NULL);
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 1);
	cr_assert(strstr(rep.problems.items[0], "github.project: Project PVT_short: field \"Status\"") &&
			  strstr(rep.problems.items[0], "no option \"🚀 Production\""),
		  "%s", rep.problems.items[0]);
	pb_online_report_deinit(&rep);
	memset(&rep, 0, sizeof(rep));
	pb_config_free(cfg);
	cfg = NULL;
	load_with("\"token_env\": \"PB_ONLINE_GH_TOKEN\", \"project\": {\"id\": \"PVT_full\"}", "acme/tta", NULL);
	dump("problem", &rep.problems);
	cr_assert_eq(rep.problems.count, 0);
}

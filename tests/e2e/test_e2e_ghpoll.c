/* test_e2e_ghpoll.c — the real promobot binary against the fake GitHub/Slack: --check-config --online, the poller's timer. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_config.h"
#include "fake_slack.h"
#include "github_fake.h"
#include "pb_str.h"
#include "testproc.h"

#define TOKEN "ghp_promobotE2EToken0123456789"
#define BOT_TOKEN "xoxb-e2e"
#define APP_TOKEN "xapp-1-e2e"

static github_fake *gh;
static fake_slack *slack;
static char dir[64], config_path[128];
static char *env[] = { "PB_E2E_GH_TOKEN=" TOKEN, "PB_E2E_SLACK_BOT=" BOT_TOKEN, "PB_E2E_SLACK_APP=" APP_TOKEN,
		       NULL };

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/promobot-e2egh-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(config_path, sizeof(config_path), "%s/promobot.json", dir);
	cr_assert_eq(github_fake_start(&gh), 0);
	github_fake_add_token(gh, TOKEN);
	github_fake_add_repo(gh, "acme/tta");
	github_fake_set_repo_permissions(gh, "acme/tta", false, true, true);
	cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &slack), 0);
	/* the config's docker.host is the one asked: scripts/test.sh exports the test engine's DOCKER_HOST */
	unsetenv("DOCKER_HOST");
}

static void teardown(void)
{
	fake_slack_free(slack);
	github_fake_free(gh);
	tp_remove_dir(dir);
}

TestSuite(e2e_github, .init = setup, .fini = teardown, .timeout = 300);

/*
 * chat: "console" or "slack" (through the fake); repo2: the second component's repo; docker_host: a docker
 * section naming that engine (or NULL: none).
 */
static void write_config(const char *chat, const char *repo2, const char *docker_host)
{
	cJSON *cfg = cJSON_Parse(
		"{\"chat\": {\"slack\": {\"channel\": \"C0PROMO\","
		"   \"bot_token_env\": \"PB_E2E_SLACK_BOT\", \"app_token_env\": \"PB_E2E_SLACK_APP\"}},"
		" \"github\": {\"token_env\": \"PB_E2E_GH_TOKEN\", \"poll_interval_s\": 5},"
		" \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"admin\"]}},"
		" \"components\": ["
		"  {\"id\": \"neo4j\", \"name\": \"Neo4j\", \"stage\": \"development\", \"revision\": {\"value\": \"v1\"},"
		"   \"github_repo\": \"acme/tta\"},"
		"  {\"id\": \"graph\", \"name\": \"Graph\", \"stage\": \"development\", \"revision\": {\"value\": \"v1\"}}]}");
	cJSON *chat_cfg;
	char db[160];

	cr_assert_not_null(cfg);
	snprintf(db, sizeof(db), "%s/promobot.db", dir);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cfg, "storage"), "path", db);
	chat_cfg = cJSON_GetObjectItem(cfg, "chat");
	cJSON_AddStringToObject(chat_cfg, "platform", chat);
	cJSON_AddStringToObject(cJSON_GetObjectItem(chat_cfg, "slack"), "api_url", fake_slack_api_url(slack));
	cJSON_AddStringToObject(cJSON_GetObjectItem(cfg, "github"), "api_url", github_fake_url(gh));
	cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "components"), 1), "github_repo", repo2);
	if (docker_host)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(cfg, "docker"), "host", docker_host);
	e2e_config_write(config_path, cfg);
	cJSON_Delete(cfg);
}

#define EXPECT_IN(buf, needle) \
	cr_expect(strstr(pb_buf_str(&(buf)), (needle)), "missing \"%s\" in:\n%s", (needle), pb_buf_str(&(buf)))

Test(e2e_github, check_config_online_reports_live_problems_with_their_paths)
{
	char *args[] = { "--check-config", "--online", config_path, NULL };
	char line[512];
	pb_buf out;

	pb_buf_init(&out);
	write_config("slack", "acme/gone", "unix:///tmp/promobot-e2e-no-docker.sock");
	cr_assert_eq(tp_run(args, env, NULL, &out), 1, "%s", pb_buf_str(&out));
	snprintf(line, sizeof(line), "%s: valid (2 components, 1 users, chat slack, storage sqlite)", config_path);
	EXPECT_IN(out, line);
	snprintf(line, sizeof(line), "%s: components[1].github_repo: no access to acme/gone (404: it does not exist, "
		 "or the token cannot see it)\n", config_path);
	EXPECT_IN(out, line);
	snprintf(line, sizeof(line), "%s: docker.host: ", config_path);
	EXPECT_IN(out, line);
	snprintf(line, sizeof(line), "%s: warning: components[0].github_repo: label promotion:requested is missing in "
		 "acme/tta (the bot creates it when first used)\n", config_path);
	EXPECT_IN(out, line);
	snprintf(line, sizeof(line), "%s: 2 problems found online", config_path);
	EXPECT_IN(out, line);
	cr_expect_null(strstr(pb_buf_str(&out), TOKEN), "the token was printed");
	cr_expect_null(strstr(pb_buf_str(&out), BOT_TOKEN), "the Slack token was printed");
	cr_assert_eq(fake_slack_call_count(slack, "auth.test", true), 1);

	/* the same without the problems: exit 0 */
	pb_buf_reset(&out);
	write_config("slack", "acme/tta", NULL);
	cr_assert_eq(tp_run(args, env, NULL, &out), 0, "%s", pb_buf_str(&out));
	snprintf(line, sizeof(line), "%s: online checks passed", config_path);
	EXPECT_IN(out, line);

	/* a wrong token: the path it is configured under, never the token */
	pb_buf_reset(&out);
	{
		char *bad_env[] = { "PB_E2E_GH_TOKEN=ghp_notAValidOne", "PB_E2E_SLACK_BOT=" BOT_TOKEN, NULL };

		cr_assert_eq(tp_run(args, bad_env, NULL, &out), 1, "%s", pb_buf_str(&out));
	}
	snprintf(line, sizeof(line), "%s: github.token_env: GitHub: Bad credentials (HTTP 401) for GET /user\n",
		 config_path);
	EXPECT_IN(out, line);
	cr_expect_null(strstr(pb_buf_str(&out), "notAValidOne"), "the token was printed");

	/* without --online nothing is called */
	pb_buf_reset(&out);
	{
		char *offline[] = { "--check-config", config_path, NULL };
		int before = github_fake_count(gh, "GET ", 0);

		cr_assert_eq(tp_run(offline, env, NULL, &out), 0, "%s", pb_buf_str(&out));
		cr_assert_eq(github_fake_count(gh, "GET ", 0), before);
	}
	pb_buf_deinit(&out);
}

Test(e2e_github, the_console_bot_polls_github_on_its_own_clock)
{
	char *args[] = { "--config", config_path, NULL };
	pb_buf out, rest;
	int in_fd, out_fd;
	pid_t pid;

	pb_buf_init(&out);
	pb_buf_init(&rest);
	write_config("console", "acme/tta", NULL);
	pid = tp_start_interactive(args, env, &in_fd, &out_fd);
	cr_assert(tp_read_until(out_fd, &out, "alice> ", 30000), "no prompt: %s", pb_buf_str(&out));
	github_fake_add_issue(gh, "acme/tta", "octo-dev", "[BLOCKER] Neo4j: backups fail nightly",
			      "### Severity\n\nCritical (must be resolved before promotion)\n",
			      "promotion:blocked,component:neo4j");
	cr_assert(tp_read_until(out_fd, &out, "Blocker opened on GitHub", 60000), "not polled: %s", pb_buf_str(&out));
	cr_assert(tp_read_until(out_fd, &out, "backups fail nightly", 5000), "%s", pb_buf_str(&out));
	cr_assert_eq(write(in_fd, "/promote blockers neo4j\n", 24), 24);
	cr_assert(tp_read_until(out_fd, &out, "[critical] backups fail nightly — github:octo-dev", 10000), "%s",
		  pb_buf_str(&out));
	cr_assert_eq(write(in_fd, "/quit\n", 6), 6);
	close(in_fd);
	cr_assert_eq(tp_finish(pid, out_fd, &rest), 0, "%s%s", pb_buf_str(&out), pb_buf_str(&rest));
	pb_buf_deinit(&out);
	pb_buf_deinit(&rest);
}

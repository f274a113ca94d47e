/* test_e2e_github.c — the real promobot binary mirrors its steps on the fake GitHub (exec's bounded wait). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_config.h"
#include "pb_clock.h"
#include "github_fake.h"
#include "pb_str.h"
#include "testproc.h"

#define REPO "acme/tta"
#define TOKEN "ghp_e2e_outbox"

static char dir[256];
static char config_path[300];
static github_fake *fake;

/* The example config: storage in a temp folder, a github section at the fake, neo4j mirrored to REPO. */
static void write_config(void)
{
	cJSON *cfg, *comp, *gh;

	cfg = e2e_example_config(dir);
	cJSON_DeleteItemFromObject(cfg, "github");
	gh = cJSON_AddObjectToObject(cfg, "github");
	cJSON_AddStringToObject(gh, "api_url", github_fake_url(fake));
	cJSON_AddStringToObject(gh, "token_env", "PB_E2E_GITHUB_TOKEN");
	cJSON_AddNumberToObject(gh, "timeout_ms", 2000);
	cJSON_ArrayForEach(comp, cJSON_GetObjectItem(cfg, "components")) {
		cJSON_DeleteItemFromObject(comp, "maturity_file");
		cJSON_DeleteItemFromObject(comp, "github_repo");
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(comp, "id")), "neo4j"))
			cJSON_AddStringToObject(comp, "github_repo", REPO);
	}
	e2e_config_write(config_path, cfg);
	cJSON_Delete(cfg);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/promobot-e2egh-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(config_path, sizeof(config_path), "%s/promobot.json", dir);
	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	setenv("PB_E2E_GITHUB_TOKEN", TOKEN, 1);
	write_config();
}

static void teardown(void)
{
	github_fake_free(fake);
	fake = NULL;
	tp_remove_dir(dir);
}

TestSuite(e2e_github, .init = setup, .fini = teardown, .timeout = 300);

static int exec_as(const char *user, const char *wait_s, const char *command, pb_buf *out)
{
	char *args[] = { "exec", "--config", config_path, "--as", (char *)user, "--github-wait", (char *)wait_s,
			 (char *)command, NULL };

	return tp_run(args, NULL, NULL, out);
}

#define EXPECT_IN(buf, needle) \
	cr_expect(strstr(pb_buf_str(&(buf)), (needle)), "missing \"%s\" in:\n%s", (needle), pb_buf_str(&(buf)))

static bool issue_has_label(int64_t n, const char *label)
{
	char *text = github_fake_issue_json(fake, REPO, n);
	bool found;

	cr_assert_not_null(text);
	found = strstr(text, label) != NULL;
	free(text);
	return found;
}

Test(e2e_github, exec_delivers_what_its_command_decided_or_says_what_is_pending)
{
	pb_buf out;

	pb_buf_init(&out);
	cr_assert_eq(exec_as("alice", "30", "/promote request neo4j staging pilot", &out), 0, "%s", out.data);
	EXPECT_IN(out, "GitHub issue opened");
	EXPECT_IN(out, "GitHub: #1 https://github.com/acme/tta/issues/1");
	cr_assert(issue_has_label(1, "promotion:requested"));
	cr_assert(issue_has_label(1, "target:staging"));
	/* GitHub down: the command works, exec says what it leaves to the bot after its bound */
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 100000, 502, 0);
	cr_assert_eq(exec_as("alice", "2", "/promote validate neo4j", &out), 0, "%s", out.data);
	EXPECT_IN(out, "Validation passed");
	EXPECT_IN(out, "still pending");
	cr_assert_eq(exec_as("bob", "2", "/promote status neo4j", &out), 0, "%s", out.data);
	EXPECT_IN(out, "updates pending (502, retrying)");
	/* GitHub back: the next command's exec delivers its own ops after the earlier ones, in order */
	github_fake_fault_clear(fake);
	/* the earlier ops are still backing off: exec waits for them within its bound (they come first in the group) */
	cr_assert_eq(exec_as("bob", "30", "/promote approve neo4j", &out), 0, "%s", out.data);
	cr_assert_null(strstr(pb_buf_str(&out), "still pending"), "%s", pb_buf_str(&out));
	cr_assert(issue_has_label(1, "promotion:approved"));
	cr_assert_not(issue_has_label(1, "promotion:in-review"));
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 2, "validation + approval, once each");
	pb_buf_deinit(&out);
}

/*
 * The bot killed while GitHub has made its issue but not answered yet: the
 * next run looks for the op's marker before creating anything, so the issue
 * exists once and the promotion goes on from it. The killed run's claim on
 * the op stands until its lease ends (60 s at least): the next exec waits it
 * out within its --github-wait bound, as a restarted bot would.
 */
Test(e2e_github, sigkill_while_github_makes_the_issue_then_it_exists_once)
{
	char *args[] = { "exec", "--config", config_path, "--as", "alice", "--github-wait", "30",
			 "/promote request neo4j staging pilot", NULL };
	int64_t deadline;
	char *two;
	pb_buf out;
	pid_t pid;
	int fd, status = 0;
	cJSON *is;
	char *text;

	pb_buf_init(&out);
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_COMMIT_HANG, 1, 0, 0);
	pid = tp_start(args, NULL, NULL, &fd);
	/* GitHub has the issue (its answer never comes): kill the bot right there */
	deadline = pb_clock_mono_ms(NULL) + 60000;
	while (!(text = github_fake_issue_json(fake, REPO, 1))) {
		cr_assert_lt(pb_clock_mono_ms(NULL), deadline, "the issue was never created");
		poll(NULL, 0, 50);
	}
	free(text);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	tp_drain(fd, &out);
	close(fd);
	cr_assert_null(strstr(pb_buf_str(&out), "GitHub issue opened"), "the killed run never learnt the number");
	/* restarted: the next command's exec delivers the request's op first (adopted by its marker), then its own */
	cr_assert_eq(exec_as("alice", "120", "/promote validate neo4j", &out), 0, "%s", out.data);
	EXPECT_IN(out, "Validation passed");
	cr_assert_null(strstr(pb_buf_str(&out), "still pending"), "%s", pb_buf_str(&out));
	two = github_fake_issue_json(fake, REPO, 2);
	cr_assert_null(two, "a second issue was opened: %s", two);
	cr_assert_eq(github_fake_count(fake, "POST /repos/" REPO "/issues", 201) -
			     github_fake_count(fake, "POST /repos/" REPO "/issues/", 201),
		     0, "only the killed run's create reached GitHub");
	text = github_fake_issue_json(fake, REPO, 1);
	is = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(is);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(is, "title")),
			 "[PROMOTION] Neo4j Graph Database: Development → Staging");
	/* validate rewrote the body since (its own op's marker) */
	cr_assert(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(is, "body")),
			 "### Component Name\n\nNeo4j Graph Database\n"));
	cJSON_Delete(is);
	cr_assert(issue_has_label(1, "promotion:in-review"));
	cr_assert_not(issue_has_label(1, "promotion:requested"));
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1, "the validation, once");
	cr_assert_eq(exec_as("bob", "5", "/promote status neo4j", &out), 0, "%s", out.data);
	EXPECT_IN(out, "GitHub: #1 https://github.com/acme/tta/issues/1");
	cr_assert_null(strstr(pb_buf_str(&out), "pending"), "%s", pb_buf_str(&out));
	pb_buf_deinit(&out);
}

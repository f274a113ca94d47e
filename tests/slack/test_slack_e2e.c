/* test_slack_e2e.c — the real promobot binary on Slack against the fake: acks, threads, buttons, refresh, restarts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_slack.h"
#include "testproc.h"

#define APP_TOKEN "xapp-1-A0FAKE-1234567890-e2e-app-token"
#define BOT_TOKEN "xoxb-1111-2222-e2e-bot-token-value"
#define CHANNEL "C0PROMO"
#define WAIT_MS 20000

typedef struct bot {
	fake_slack *fake;
	char dir[256];
	char log[300];
	pid_t pid;
} bot;

static void sleep_poll(void)
{
	tp_pause();
}

static int64_t now_ms(void)
{
	return tp_now_ms();
}

/* min_post_interval_ms and required approvals of the next bot (each Criterion test runs in its own process). */
static int post_interval_ms;
static int required_approvals = 1;
/* neo4j's staging environment and extra top-level keys ("\"monitoring\": {…},") of the next bot. */
static const char *staging_env = "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\"}";
static const char *top_extra = "";

static void write_config(bot *b, int workers, const char *check_argv, const char *ca_file)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/promobot.json", b->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"{\n"
		" \"storage\": {\"path\": \"%s/promobot.db\"},\n"
		" \"chat\": {\"platform\": \"slack\", \"slack\": {\"api_url\": \"%s\",\n"
		"   \"app_token_env\": \"TEST_SLACK_APP\", \"bot_token_env\": \"TEST_SLACK_BOT\",\n"
		"   \"channel\": \"" CHANNEL "\", \"min_post_interval_ms\": %d%s%s%s}},\n"
		" \"workers\": %d,\n%s"
		" \"users\": {\"U0ALICE\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]},\n"
		"            \"U0BOB\": {\"name\": \"Bob\", \"roles\": [\"approver\"]},\n"
		"            \"U0ERIN\": {\"name\": \"Erin\", \"roles\": [\"approver\"]},\n"
		"            \"U0CAROL\": {\"name\": \"Carol\", \"roles\": [\"admin\"]}},\n"
		" \"policy\": {\"required_approvals\": %d, \"self_approval\": false, \"required_checks\": [\"tests\"]},\n"
		" \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core\", \"stage\": \"development\",\n"
		"   \"workdir\": \"%s\", \"revision\": {\"value\": \"neo4j-5.13.0\"},\n"
		"   \"checks\": [{\"name\": \"unit tests\", \"criterion\": \"tests\", \"argv\": %s}],\n"
		"   \"environments\": {\"staging\": %s}}]\n"
		"}\n",
		b->dir, fake_slack_api_url(b->fake), post_interval_ms, ca_file ? ", \"ca_file\": \"" : "", ca_file ? ca_file : "",
		ca_file ? "\"" : "", workers, top_extra, required_approvals, b->dir, check_argv, staging_env);
	fclose(f);
}

/* Starts the fake and promobot (its stderr goes to b->log). */
/* Makes a self-signed certificate for 127.0.0.1 in b->dir (cert.pem, key.pem). */
static void make_cert(const bot *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/key.pem' -out '%s/cert.pem' >/dev/null 2>&1",
		 b->dir, b->dir);
	cr_assert_eq(system(cmd), 0, "openssl could not make a test certificate");
}

/* Runs promobot on b's config (again, after a stop: same database, same fake); stderr goes to b->log. */
static void bot_spawn(bot *b, const char *app_token)
{
	const char *bin = getenv("PROMOBOT_BIN");
	char cfg[320];

	cr_assert_not_null(bin, "PROMOBOT_BIN not set");
	snprintf(cfg, sizeof(cfg), "%s/promobot.json", b->dir);
	b->pid = fork();
	cr_assert_geq(b->pid, 0);
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* A failed assertion ends the test process: the bot must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		setenv("TEST_SLACK_APP", app_token, 1);
		setenv("PROMOBOT_SLACK_IDLE_S", "3", 1);
		setenv("TEST_SLACK_BOT", BOT_TOKEN, 1);
		execl(bin, bin, "--config", cfg, (char *)NULL);
		_exit(127);
	}
}

/* tls: 0 plain ws://, 1 wss:// with ca_file trusting the fake, 2 wss:// with no ca_file. */
static void bot_start_tls(bot *b, const char *app_token, int workers, const char *check_argv, int tls)
{
	char cert[320], key[320];

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/pb-slack-e2e-XXXXXX");
	cr_assert_not_null(mkdtemp(b->dir));
	snprintf(b->log, sizeof(b->log), "%s/bot.log", b->dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", b->dir);
	snprintf(key, sizeof(key), "%s/key.pem", b->dir);
	if (tls) {
		make_cert(b);
		cr_assert_eq(fake_slack_start_tls(APP_TOKEN, BOT_TOKEN, cert, key, &b->fake), 0);
	} else {
		cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &b->fake), 0);
	}
	write_config(b, workers, check_argv, tls == 1 ? cert : NULL);
	bot_spawn(b, app_token);
}

static void bot_start_full(bot *b, const char *app_token, int workers, const char *check_argv)
{
	bot_start_tls(b, app_token, workers, check_argv, 0);
}

static void bot_start_with(bot *b, const char *app_token)
{
	bot_start_full(b, app_token, 4, "[\"true\"]");
}

static void bot_start(bot *b)
{
	bot_start_with(b, APP_TOKEN);
	cr_assert(fake_slack_wait_hellos(b->fake, 1, WAIT_MS), "the bot never connected");
}

/* Waits for the process to exit by itself; returns its wait status or -1 on timeout. */
static int bot_wait_exit(bot *b, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status;

	while (now_ms() < deadline) {
		pid_t r = waitpid(b->pid, &status, WNOHANG);

		if (r == b->pid) {
			b->pid = 0;
			return status;
		}
		sleep_poll();
	}
	return -1;
}

/* SIGTERM, then the exit status: 0 means a clean stop (and no leak under ASan). */
static int bot_stop(bot *b)
{
	int status;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, SIGTERM);
	status = bot_wait_exit(b, 60000);
	if (status == -1) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &status, 0);
		b->pid = 0;
		return -1;
	}
	return status;
}

static char *read_log(const bot *b)
{
	return tp_slurp(b->log);
}

static size_t count_lines_with(const char *text, const char *needle)
{
	size_t n = 0;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);

		if (copy && strstr(copy, needle))
			n++;
		free(copy);
		line = end ? end + 1 : NULL;
	}
	return n;
}

static void bot_finish(bot *b, bool expect_clean)
{
	int status = bot_stop(b);
	char *log = read_log(b);

	if (expect_clean)
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "promobot did not stop cleanly (status %d); log:\n%s", status, log);
	/* Tokens never reach the logs. */
	cr_expect_null(strstr(log, APP_TOKEN), "app token leaked into the log");
	cr_expect_null(strstr(log, BOT_TOKEN), "bot token leaked into the log");
	free(log);
	fake_slack_free(b->fake);
	b->fake = NULL;
	tp_remove_dir(b->dir);
}

static void run_slash(bot *b, const char *env_id, const char *user, const char *text)
{
	fake_slack_ack ack;

	cr_assert_gt(fake_slack_send_slash(b->fake, env_id, user, CHANNEL, text), 0);
	cr_assert(fake_slack_wait_ack(b->fake, env_id, WAIT_MS, &ack), "no ack for %s", env_id);
	/* Slack's limit is 3 s; the ack must not wait for the command. */
	cr_expect_lt(ack.acked_ms - ack.sent_ms, 3000, "ack took %lld ms",
		     (long long)(ack.acked_ms - ack.sent_ms));
	free(ack.payload);
}

/* Finds the ts of the first ok chat.postMessage without thread_ts (the thread's parent). */
static bool parent_ts(bot *b, char *out, size_t size)
{
	fake_slack_call c;

	for (size_t i = 0; fake_slack_call_get(b->fake, "chat.postMessage", i, &c); i++) {
		bool parent = c.ok && !strstr(c.body, "\"thread_ts\"");

		if (parent)
			snprintf(out, size, "%s", c.ts);
		fake_slack_call_deinit(&c);
		if (parent)
			return true;
	}
	return false;
}

static bool wait_matching(bot *b, const char *method, const char *needle, size_t n, int timeout_ms)
{
	return fake_slack_wait_matching(b->fake, method, needle, n, timeout_ms);
}

/*
 * One click, no retries: the component lock is only held while a handler
 * touches storage (cards go out through the poster afterwards), so a click
 * right after another command waits its turn instead of being told "busy".
 */
static char last_click[64], last_action_ts[32];
static int nclicks;

static void click_once(bot *b, const char *user, const char *ts, const char *action_id, const char *method,
		       const char *needle)
{
	size_t busy = fake_slack_calls_matching(b->fake, "chat.postEphemeral", "busy");

	snprintf(last_click, sizeof(last_click), "env-click-%d", nclicks);
	snprintf(last_action_ts, sizeof(last_action_ts), "17000002%02d.000001", nclicks++);
	cr_assert_gt(fake_slack_send_action(b->fake, last_click, user, CHANNEL, ts, action_id, "neo4j",
					    last_action_ts), 0);
	cr_assert(fake_slack_wait_ack(b->fake, last_click, WAIT_MS, NULL));
	cr_assert(wait_matching(b, method, needle, 1, WAIT_MS), "clicking %s as %s never produced %s",
		  action_id, user, needle);
	cr_expect_eq(fake_slack_calls_matching(b->fake, "chat.postEphemeral", "busy"), busy,
		     "a click was answered busy");
}

/* "validate neo4j" as Alice, once: it must reply in the thread `ts`, never "busy". */
static void validate_in_thread(bot *b, const char *ts)
{
	size_t busy = fake_slack_calls_matching(b->fake, "chat.postEphemeral", "busy");
	char needle[64];

	snprintf(needle, sizeof(needle), "\"thread_ts\":\"%s\"", ts);
	run_slash(b, "env-validate", "U0ALICE", "validate neo4j");
	cr_assert(wait_matching(b, "chat.postMessage", needle, 1, WAIT_MS), "validation never replied in the thread");
	cr_expect_eq(fake_slack_calls_matching(b->fake, "chat.postEphemeral", "busy"), busy,
		     "validate was answered busy");
}

Test(slack_e2e, slash_command_is_acked_and_answered_to_the_caller, .timeout = 90)
{
	bot b;

	bot_start(&b);
	run_slash(&b, "env-status-1", "U0ALICE", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0ALICE\"", 1, WAIT_MS),
		  "no ephemeral reply to the caller");
	cr_expect_geq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "neo4j"), 1);
	/* Unknown users are read-only: status works, request is refused to them only. */
	run_slash(&b, "env-status-2", "U0STRANGER", "request neo4j staging");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0STRANGER\"", 1, WAIT_MS));
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.postMessage", false), 0,
		     "a refusal must not reach the channel");
	bot_finish(&b, true);
}

Test(slack_e2e, request_opens_a_thread_and_steps_reply_in_it, .timeout = 90)
{
	bot b;
	char ts[32], needle[64];

	/* Posts to the channel go through the pacing queue here (delayed, none dropped). */
	post_interval_ms = 250;
	bot_start(&b);
	run_slash(&b, "env-req-1", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS), "no parent message");
	cr_assert(parent_ts(&b, ts, sizeof(ts)));
	cr_expect_geq(fake_slack_calls_matching(b.fake, "chat.postMessage", "approve:"), 0);
	validate_in_thread(&b, ts);
	/* The parent card is kept current. */
	snprintf(needle, sizeof(needle), "\"ts\":\"%s\"", ts);
	cr_assert(wait_matching(&b, "chat.update", needle, 1, WAIT_MS), "parent card not updated");
	/* Every thread reply used the parent ts: the fake rejects anything else. */
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.postMessage", false),
		     fake_slack_call_count(b.fake, "chat.postMessage", true));
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.update", false),
		     fake_slack_call_count(b.fake, "chat.update", true));
	bot_finish(&b, true);
}

Test(slack_e2e, approve_button_follows_the_approval_rules, .timeout = 120)
{
	bot b;
	char ts[32];

	bot_start(&b);
	run_slash(&b, "env-req-2", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS));
	cr_assert(parent_ts(&b, ts, sizeof(ts)));
	validate_in_thread(&b, ts);

	/* Self-approval by the requester's click is refused, to her only. */
	click_once(&b, "U0ALICE", ts, "approve:0", "chat.postEphemeral", "cannot approve");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.update", "Approved by"), 0);

	/* Bob approves with the button: the clicked card says so. */
	click_once(&b, "U0BOB", ts, "approve:0", "chat.update", "Approved by <@U0BOB>");
	/* A redelivered click (the same envelope id again) is acked and runs once. */
	{
		size_t acks = fake_slack_ack_count(b.fake);
		int64_t deadline = now_ms() + WAIT_MS;

		cr_assert_gt(fake_slack_send_action(b.fake, last_click, "U0BOB", CHANNEL, ts, "approve:0", "neo4j",
						    last_action_ts), 0);
		while (fake_slack_ack_count(b.fake) <= acks && now_ms() < deadline)
			sleep_poll();
		cr_assert_gt(fake_slack_ack_count(b.fake), acks, "redelivered click not acked");
	}
	{
		size_t acks_before = fake_slack_ack_count(b.fake);

		run_slash(&b, "env-status-3", "U0BOB", "status neo4j");
		cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS));
		cr_expect_gt(fake_slack_ack_count(b.fake), acks_before);
	}
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.update", "Approved by <@U0BOB>"), 1,
		     "the duplicate click ran again");
	bot_finish(&b, true);
}

Test(slack_e2e, reject_button_rejects_and_removes_the_buttons, .timeout = 120)
{
	bot b;
	char ts[32];
	fake_slack_call c;
	bool found = false;

	bot_start(&b);
	run_slash(&b, "env-req-3", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS));
	cr_assert(parent_ts(&b, ts, sizeof(ts)));
	validate_in_thread(&b, ts);
	click_once(&b, "U0BOB", ts, "reject:1", "chat.update", "Rejected by <@U0BOB>");
	for (size_t i = 0; fake_slack_call_get(b.fake, "chat.update", i, &c); i++) {
		if (strstr(c.body, "Rejected by <@U0BOB>")) {
			found = true;
			cr_expect_null(strstr(c.body, "\"actions\""), "a rejected card keeps its buttons");
		}
		fake_slack_call_deinit(&c);
	}
	cr_expect(found);
	bot_finish(&b, true);
}

Test(slack_e2e, app_mention_runs_like_the_slash_command_once, .timeout = 90)
{
	bot b;
	fake_slack_ack ack;

	bot_start(&b);
	cr_assert_gt(fake_slack_send_mention(b.fake, "env-m-1", "Ev0001", "U0CAROL", CHANNEL,
					     "<@U0BOT> status neo4j", 0), 0);
	cr_assert(fake_slack_wait_ack(b.fake, "env-m-1", WAIT_MS, &ack));
	free(ack.payload);
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0CAROL\"", 1, WAIT_MS));
	/* Slack's retry of the same event (new envelope, same event_id) is acked and not run again. */
	cr_assert_gt(fake_slack_send_mention(b.fake, "env-m-2", "Ev0001", "U0CAROL", CHANNEL,
					     "<@U0BOT> status neo4j", 1), 0);
	cr_assert(fake_slack_wait_ack(b.fake, "env-m-2", WAIT_MS, &ack));
	free(ack.payload);
	run_slash(&b, "env-after-m", "U0BOB", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS));
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\""), 1);
	bot_finish(&b, true);
}

Test(slack_e2e, refresh_during_200_commands_loses_none_and_runs_none_twice, .timeout = 240)
{
	bot b;
	const size_t n = 200;
	size_t per_cmd;
	char id[64], user[32];

	bot_start(&b);
	/* One command first: how many replies a status produces. */
	run_slash(&b, "env-probe", "U0PROBE", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0PROBE\"", 1, WAIT_MS));
	per_cmd = fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0PROBE\"");
	cr_assert_eq(per_cmd, 1);

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "env-stream-%03zu", i);
		snprintf(user, sizeof(user), "U%03zuX", i);
		if (i == n / 2)
			cr_assert_gt(fake_slack_disconnect(b.fake, "refresh_requested", 3000), 0);
		cr_assert_gt(fake_slack_send_slash(b.fake, id, user, CHANNEL, "status neo4j"), 0);
	}
	cr_assert(fake_slack_wait_acked_envelopes(b.fake, n + 1, 60000), "only %zu of %zu acked",
		  fake_slack_acked_envelopes(b.fake), n + 1);
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postEphemeral", n + 1, 120000), "only %zu replies",
		  fake_slack_call_count(b.fake, "chat.postEphemeral", true));
	cr_expect_geq(fake_slack_hellos(b.fake), 2, "no new connection after refresh_requested");
	cr_assert(fake_slack_wait_live(b.fake, 1, WAIT_MS), "the old connection was not closed");
	/* Slack retries a few (same envelope ids) on the new connection: acked, not run again. */
	{
		size_t acks = fake_slack_ack_count(b.fake);
		int64_t deadline = now_ms() + WAIT_MS;

		for (size_t i = 0; i < 10; i++) {
			snprintf(id, sizeof(id), "env-stream-%03zu", i * 17);
			snprintf(user, sizeof(user), "U%03zuX", i * 17);
			cr_assert_gt(fake_slack_send_slash(b.fake, id, user, CHANNEL, "status neo4j"), 0);
		}
		while (fake_slack_ack_count(b.fake) < acks + 10 && now_ms() < deadline)
			sleep_poll();
		cr_assert_geq(fake_slack_ack_count(b.fake), acks + 10, "retried envelopes not acked");
	}
	/* Stopping drains the queue: after that, exactly one reply per command. */
	{
		int status = bot_stop(&b);

		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	}
	for (size_t i = 0; i < n; i++) {
		char needle[48];

		snprintf(needle, sizeof(needle), "\"user\":\"U%03zuX\"", i);
		cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", needle), 1,
			     "command %zu ran %zu times", i,
			     fake_slack_calls_matching(b.fake, "chat.postEphemeral", needle));
	}
	bot_finish(&b, false);
}

Test(slack_e2e, fake_killed_and_restarted_bot_reconnects, .timeout = 120)
{
	bot b;

	bot_start(&b);
	run_slash(&b, "env-before-kill", "U0ALICE", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0ALICE\"", 1, WAIT_MS));
	fake_slack_kill(b.fake);
	cr_assert_eq(fake_slack_restart(b.fake), 0);
	cr_assert(fake_slack_wait_hellos(b.fake, 2, 60000), "the bot did not reconnect");
	run_slash(&b, "env-after-kill", "U0BOB", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS));
	bot_finish(&b, true);
}

static bool wait_log(const bot *b, const char *needle, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		char *log = read_log(b);
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return true;
		if (now_ms() > deadline)
			return false;
		sleep_poll();
	}
}

Test(slack_e2e, dead_link_is_detected_and_replaced, .timeout = 120)
{
	bot b;

	bot_start(&b);
	/* The link is fully up (hello read, a command answered) … */
	run_slash(&b, "env-before-dead", "U0BOB", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS));
	cr_assert(wait_log(&b, "connection 1 ready", WAIT_MS));
	/* … then sockets stay open but nothing answers, not even pongs. */
	fake_slack_freeze(b.fake, true);
	cr_assert(wait_log(&b, "connection 1 closed", 30000), "the watchdog never dropped the dead link");
	fake_slack_freeze(b.fake, false);
	cr_assert(fake_slack_wait_hellos(b.fake, 2, 60000), "no new connection after the dead link");
	run_slash(&b, "env-after-dead", "U0ALICE", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0ALICE\"", 1, WAIT_MS));
	bot_finish(&b, true);
}

Test(slack_e2e, full_queue_answers_busy_to_the_caller, .timeout = 180)
{
	bot b;
	const int n = 300;
	size_t busy = 0, answered;
	char id[64], gate_dir[64], gate[96], argv[160];
	int fd;

	/*
	 * One worker held by a validation that waits on a gate the test opens: the
	 * check is `cat FIFO`, blocked until the test opens the FIFO's write end.
	 * Meanwhile the job queue (256) fills up.
	 */
	snprintf(gate_dir, sizeof(gate_dir), "/tmp/pb-gate-XXXXXX");
	cr_assert_not_null(mkdtemp(gate_dir));
	snprintf(gate, sizeof(gate), "%s/gate", gate_dir);
	cr_assert_eq(mkfifo(gate, 0600), 0);
	snprintf(argv, sizeof(argv), "[\"cat\", \"%s\"]", gate);
	bot_start_full(&b, APP_TOKEN, 1, argv);
	cr_assert(fake_slack_wait_hellos(b.fake, 1, WAIT_MS), "the bot never connected");
	run_slash(&b, "env-slow-req", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS));
	run_slash(&b, "env-slow-val", "U0ALICE", "validate neo4j");
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "env-flood-%03d", i);
		cr_assert_gt(fake_slack_send_slash(b.fake, id, "U0CAROL", CHANNEL, "status neo4j"), 0);
	}
	/* A mention cannot carry a reply in its ack: the busy notice comes as an ephemeral message. */
	cr_assert_gt(fake_slack_send_mention(b.fake, "env-flood-mention", "Ev-flood", "U0BOB", CHANNEL,
					     "<@U0BOT> status neo4j", 0), 0);
	cr_assert(fake_slack_wait_ack(b.fake, "env-flood-mention", WAIT_MS, NULL));
	cr_assert(wait_matching(&b, "chat.postEphemeral", "promobot is busy", 1, WAIT_MS), "no busy notice");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0BOB\""), 1);
	for (int i = 0; i < n; i++) {
		fake_slack_ack ack;

		snprintf(id, sizeof(id), "env-flood-%03d", i);
		cr_assert(fake_slack_wait_ack(b.fake, id, WAIT_MS, &ack), "%s not acked", id);
		if (ack.payload) {
			cr_expect_not_null(strstr(ack.payload, "busy"), "payload %s", ack.payload);
			busy++;
		}
		free(ack.payload);
	}
	cr_expect_gt(busy, 0, "a full queue must answer busy");
	cr_expect_lt(busy, (size_t)n);
	/* Open the gate: the validation ends, the worker drains the queue. */
	fd = open(gate, O_WRONLY); /* blocks until `cat` has the FIFO open */
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(gate);
	rmdir(gate_dir);
	/* Every command that was not answered busy runs. */
	answered = (size_t)n - busy;
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0CAROL\"", answered, 120000),
		  "only %zu of %zu accepted commands answered",
		  fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\""), answered);
	bot_finish(&b, true);
}

/* Asks "status neo4j" (read-only, never waits for a lock) until its reply shows `state`. */
static bool status_until(bot *b, const char *state, const char *tag)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "%s", state);
	for (int i = 0; i < 50; i++) {
		size_t before = fake_slack_calls_matching(b->fake, "chat.postEphemeral", "\"user\":\"U0CAROL\"");
		char id[48];

		snprintf(id, sizeof(id), "env-st-%s-%d", tag, i);
		run_slash(b, id, "U0CAROL", "status neo4j");
		if (!wait_matching(b, "chat.postEphemeral", "\"user\":\"U0CAROL\"", before + 1, WAIT_MS))
			return false;
		if (fake_slack_calls_matching(b->fake, "chat.postEphemeral", needle))
			return true;
	}
	return false;
}

/* Number of ok chat.postMessage calls in the thread `ts`. */
static size_t thread_posts(bot *b, const char *ts)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"thread_ts\":\"%s\"", ts);
	return fake_slack_calls_matching(b->fake, "chat.postMessage", needle);
}

Test(slack_e2e, two_approvers_clicking_at_once_both_succeed, .timeout = 120)
{
	bot b;
	char ts[32];

	required_approvals = 2;
	bot_start(&b);
	run_slash(&b, "env-req-two", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS));
	cr_assert(parent_ts(&b, ts, sizeof(ts)));
	validate_in_thread(&b, ts);
	/* both clicks are in flight together: one waits for the other's lock, neither is refused */
	cr_assert_gt(fake_slack_send_action(b.fake, "env-two-bob", "U0BOB", CHANNEL, ts, "approve:0", "neo4j",
					    "1700000301.000001"), 0);
	cr_assert_gt(fake_slack_send_action(b.fake, "env-two-erin", "U0ERIN", CHANNEL, ts, "approve:0", "neo4j",
					    "1700000302.000001"), 0);
	cr_assert(wait_matching(&b, "chat.update", "Approved by <@U0BOB>", 1, WAIT_MS), "Bob's click failed");
	cr_assert(wait_matching(&b, "chat.update", "Approved by <@U0ERIN>", 1, WAIT_MS), "Erin's click failed");
	cr_assert(wait_matching(&b, "chat.postMessage", "(2/2)", 1, WAIT_MS), "the second approval did not approve");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "busy"), 0);
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "U0BOB"), 0, "Bob got an error");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "U0ERIN"), 0, "Erin got an error");
	bot_finish(&b, true);
}

/*
 * With a 3 s pacing interval the poster holds the channel's next post for
 * seconds. Validate and approve (both take the component lock) still run to
 * the end in that window — their state is visible to status — while their
 * thread cards wait: the lock is not held across the poster's sleep. Then the
 * cards arrive, in the order they were emitted.
 */
Test(slack_e2e, the_lock_is_not_held_while_the_poster_waits, .timeout = 120)
{
	bot b;
	char ts[32];
	fake_slack_call c;
	int validated = -1, approved = -1, k = 0;

	post_interval_ms = 3000;
	bot_start(&b);
	run_slash(&b, "env-lk-req", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS));
	cr_assert(parent_ts(&b, ts, sizeof(ts)));
	/* one after the other (on parallel workers approve could overtake validate), each confirmed by status */
	run_slash(&b, "env-lk-val", "U0ALICE", "validate neo4j");
	cr_assert(status_until(&b, "in_review", "val"), "validate did not finish while its card waited");
	run_slash(&b, "env-lk-app", "U0BOB", "approve neo4j");
	cr_assert(status_until(&b, "approved", "app"), "approve did not finish while the cards waited");
	cr_expect_eq(thread_posts(&b, ts), 0, "the paced thread cards were already posted: nothing proven");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "busy"), 0);
	/* the cards arrive later, in emission order */
	cr_assert(wait_matching(&b, "chat.postMessage", "Approved", 1, 60000), "approval card never posted");
	for (size_t i = 0; fake_slack_call_get(b.fake, "chat.postMessage", i, &c); i++, k++) {
		if (validated < 0 && strstr(c.body, "Validation passed"))
			validated = k;
		if (approved < 0 && strstr(c.body, "Approved"))
			approved = k;
		fake_slack_call_deinit(&c);
	}
	cr_expect(validated >= 0 && approved > validated, "validation #%d, approval #%d", validated, approved);
	bot_finish(&b, true);
}

Test(slack_e2e, wss_with_a_trusted_certificate_works, .timeout = 90)
{
	bot b;

	bot_start_tls(&b, APP_TOKEN, 2, "[\"true\"]", 1);
	cr_assert(fake_slack_wait_hellos(b.fake, 1, WAIT_MS), "no wss:// connection");
	cr_assert_eq(strncmp(fake_slack_api_url(b.fake), "https://", 8), 0);
	run_slash(&b, "env-tls-1", "U0ALICE", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0ALICE\"", 1, WAIT_MS));
	bot_finish(&b, true);
}

Test(slack_e2e, tls_certificate_is_verified, .timeout = 90)
{
	bot b;

	/* No ca_file: the system store does not trust the fake's self-signed certificate. */
	bot_start_tls(&b, APP_TOKEN, 2, "[\"true\"]", 2);
	cr_assert(wait_log(&b, "certificate", WAIT_MS), "no certificate error logged");
	cr_expect_eq(fake_slack_hellos(b.fake), 0, "connected to an untrusted server");
	cr_expect_eq(fake_slack_call_count(b.fake, NULL, false), 0, "spoke HTTP to an untrusted server");
	bot_finish(&b, true);
}

Test(slack_e2e, invalid_auth_stops_with_one_clear_line, .timeout = 60)
{
	bot b;
	int status;
	char *log;

	bot_start_with(&b, "xapp-1-A0FAKE-revoked-token-0000");
	status = bot_wait_exit(&b, 30000);
	cr_assert_neq(status, -1, "promobot kept running after invalid_auth");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "exit status %d", status);
	/* No retry storm: one attempt. */
	cr_expect_eq(fake_slack_call_count(b.fake, "apps.connections.open", false), 1);
	log = read_log(&b);
	cr_expect_eq(count_lines_with(log, "Slack refused the app-level token (invalid_auth)"), 1, "log:\n%s", log);
	cr_expect_null(strstr(log, "revoked-token"));
	free(log);
	bot_finish(&b, false);
}

Test(slack_e2e, rate_limited_posts_are_delayed_not_dropped, .timeout = 90)
{
	bot b;

	bot_start(&b);
	fake_slack_rate_limit(b.fake, "chat.postEphemeral", 2, 1);
	run_slash(&b, "env-429", "U0ALICE", "status neo4j");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postEphemeral", 1, WAIT_MS), "reply dropped after 429");
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.postEphemeral", false), 3);
	bot_finish(&b, true);
}

/* The admin port promobot logged ("admin listener on 127.0.0.1:N"), 0 when not (yet) there. */
static int admin_port(const bot *b)
{
	char *log = read_log(b), *at = log ? strstr(log, "admin listener on 127.0.0.1:") : NULL;
	int port = at ? atoi(at + strlen("admin listener on 127.0.0.1:")) : 0;

	free(log);
	return port;
}

/* GET path on 127.0.0.1:port; the whole response (headers and body) or NULL. */
static char *http_get(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[256];
	pb_buf out;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	pb_buf_init(&out);
	tp_drain(fd, &out);
	close(fd);
	char *text = strdup(pb_buf_str(&out));

	pb_buf_deinit(&out);
	return text;
}

/* Scrapes /metrics until it contains `want` (the bot adds the poster's figures every second). */
static char *metrics_with(int port, const char *want)
{
	int64_t deadline = now_ms() + WAIT_MS;

	for (;;) {
		char *text = http_get(port, "/metrics");

		if (text && strstr(text, want))
			return text;
		if (now_ms() > deadline)
			cr_assert_fail("/metrics never showed %s; last scrape:\n%s", want, text ? text : "(none)");
		free(text);
		sleep_poll();
	}
}

/* How many of pid's threads named prefix* may run on exactly the CPU list `cpus` (/proc: Cpus_allowed_list), and how many not. */
static void threads_on(pid_t pid, const char *prefix, const char *cpus, int *on, int *off)
{
	char path[128], want[64];

	*on = *off = 0;
	snprintf(want, sizeof(want), "Cpus_allowed_list:\t%s\n", cpus);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);

	cr_assert_not_null(d, "cannot list %s", path);
	for (struct dirent *e; (e = readdir(d));) {
		char file[320], line[256] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/comm", path, e->d_name);
		f = fopen(file, "r"); /* /proc files have no size: read them line by line */
		if (!f || !fgets(line, sizeof(line), f) || strncmp(line, prefix, strlen(prefix))) {
			if (f)
				fclose(f);
			continue;
		}
		fclose(f);
		snprintf(file, sizeof(file), "%s/%s/status", path, e->d_name);
		f = fopen(file, "r");
		cr_assert_not_null(f, "cannot read %s", file);
		bool found = false;

		while (fgets(line, sizeof(line), f))
			found = found || !strcmp(line, want);
		fclose(f);
		*(found ? on : off) += 1;
	}
	closedir(d);
}

Test(slack_e2e, metrics_show_posts_429s_cpu_lanes_and_thread_waits, .timeout = 90)
{
	cpu_set_t set;
	int ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1, port = 0;
	char want[64], *text;
	bot b;

	top_extra = " \"http\": {\"listen\": \"127.0.0.1:0\"},\n";
	bot_start(&b);
	top_extra = "";
	fake_slack_rate_limit(b.fake, "chat.postEphemeral", 2, 1);
	run_slash(&b, "env-metrics", "U0ALICE", "status neo4j");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postEphemeral", 1, WAIT_MS), "reply dropped after 429");
	for (int64_t deadline = now_ms() + WAIT_MS; !(port = admin_port(&b)) && now_ms() < deadline;)
		sleep_poll();
	cr_assert_gt(port, 0, "no admin listener in the log");
	text = metrics_with(port, "promobot_slack_posts_total{result=\"ok\"} 1\n");
	cr_expect(strstr(text, "promobot_slack_rate_limited_total 2\n"), "%s", text);
	/* the default lanes: the CPUs this process may use minus one, at least one */
	snprintf(want, sizeof(want), "promobot_cpu_lanes %d\n", ncpu > 1 ? ncpu - 1 : 1);
	cr_expect(strstr(text, want), "want %s in:\n%s", want, text);
	cr_expect(strstr(text, "# TYPE promobot_cpu_lane_waits_total counter\n"), "%s", text);
	cr_expect(strstr(text, "promobot_cpu_lane_waits_total{thread=\"worker\"} "), "%s", text);
	cr_expect(strstr(text, "promobot_cpu_lane_waits_total{thread=\"poster\"} "), "%s", text);
	cr_expect(strstr(text, "promobot_slack_thread_waits_total 0\n"), "one replica never waits for a thread: %s", text);
	cr_expect(strstr(text, "promobot_queue_depth{pool=\"slack_poster\"} 0\n"), "%s", text);
	free(text);
	if (ncpu > 1) { /* worker_pin (default): the commands and the poster on the last CPU, the others left free */
		char last[16];
		int on, off;

		for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
			if (CPU_ISSET(cpu, &set)) {
				snprintf(last, sizeof(last), "%d", cpu);
				break;
			}
		snprintf(want, sizeof(want), "CPU lanes: %d of %d CPUs, commands and posts on CPU %s", ncpu - 1, ncpu,
			 ncpu == 2 ? last : "");
		cr_expect(wait_log(&b, want, WAIT_MS), "no \"%s\" in the log", want);
		if (ncpu == 2) {
			threads_on(b.pid, "pb-commands-", last, &on, &off);
			cr_expect(on == 4 && off == 0, "command workers on CPU %s: %d, elsewhere: %d", last, on, off);
			threads_on(b.pid, "pb-poster", last, &on, &off);
			cr_expect(on == 1 && off == 0, "poster on CPU %s: %d, elsewhere: %d", last, on, off);
			threads_on(b.pid, "pb-background-", last, &on, &off);
			cr_expect(on == 0, "the background pool is not pinned: %d on CPU %s", on, last);
		}
	}
	bot_finish(&b, true);
}

Test(slack_e2e, malformed_traffic_is_survived, .timeout = 120)
{
	bot b;
	size_t big = (1u << 20) + 4096;
	char *huge = malloc(big + 200);
	char *frag;
	fake_slack_ack ack;

	cr_assert_not_null(huge);
	bot_start(&b);
	cr_assert_gt(fake_slack_send_raw(b.fake, "this is not json", 0), 0);
	cr_assert_gt(fake_slack_send_raw(b.fake, "{}", 0), 0);
	cr_assert_gt(fake_slack_send_raw(b.fake, "{\"type\":\"slash_commands\",\"envelope_id\":\"env-nopayload\"}", 0), 0);
	cr_assert_gt(fake_slack_send_raw(b.fake, "{\"type\":\"mystery\",\"envelope_id\":\"env-mystery\",\"payload\":{}}", 0), 0);
	cr_assert_gt(fake_slack_send_raw(b.fake, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0), 0);
	/* A valid envelope over 1 MiB: acked; the dispatcher refuses the oversized text to the caller. */
	{
		int off = snprintf(huge, 200, "{\"envelope_id\":\"env-huge\",\"type\":\"slash_commands\","
				   "\"payload\":{\"user_id\":\"U0ALICE\",\"channel_id\":\"" CHANNEL "\",\"text\":\"status ");

		memset(huge + off, 'x', big);
		strcpy(huge + off + big, "\"}}");
	}
	cr_assert_gt(fake_slack_send_raw(b.fake, huge, 0), 0);
	/* Over the 4 MiB reassembly cap: dropped with a log line, the link survives. */
	{
		size_t over = 5u << 20;
		char *monster = malloc(over + 64);

		cr_assert_not_null(monster);
		size_t pre;

		strcpy(monster, "{\"envelope_id\":\"env-monster\",\"pad\":\"");
		pre = strlen(monster);
		memset(monster + pre, 'y', over);
		strcpy(monster + pre + over, "\"}");
		cr_assert_gt(fake_slack_send_raw(b.fake, monster, 1u << 20), 0);
		free(monster);
	}
	/* A fragmented envelope is reassembled. */
	frag = strdup("{\"envelope_id\":\"env-frag\",\"type\":\"slash_commands\",\"accepts_response_payload\":true,"
		      "\"payload\":{\"user_id\":\"U0BOB\",\"user_name\":\"bob\",\"channel_id\":\"" CHANNEL "\","
		      "\"command\":\"/promote\",\"text\":\"status neo4j\"}}");
	cr_assert_gt(fake_slack_send_raw(b.fake, frag, 7), 0);
	cr_assert(fake_slack_wait_ack(b.fake, "env-nopayload", WAIT_MS, NULL), "broken envelope not acked");
	cr_assert(fake_slack_wait_ack(b.fake, "env-mystery", WAIT_MS, NULL));
	cr_assert(fake_slack_wait_ack(b.fake, "env-huge", WAIT_MS, &ack), "1 MiB envelope not acked");
	free(ack.payload);
	cr_assert(fake_slack_wait_ack(b.fake, "env-frag", WAIT_MS, NULL), "fragmented envelope not acked");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS));
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0ALICE\"", 1, WAIT_MS));
	cr_expect(wait_log(&b, "dropped", WAIT_MS), "the oversized message was not reported");
	cr_expect(!fake_slack_wait_ack(b.fake, "env-monster", 0, NULL), "an oversized message was acked");
	/* Still the same connection, still working. */
	cr_expect_eq(fake_slack_hellos(b.fake), 1);
	run_slash(&b, "env-after-garbage", "U0CAROL", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0CAROL\"", 1, WAIT_MS));
	free(frag);
	free(huge);
	bot_finish(&b, true);
}

/* A loopback listener the tcp probe connects to; closing it is the outage. */
static int listen_loopback(int *port)
{
	return tp_listen_loopback(port);
}

/* Waits for a chat.postMessage in the thread `ts` whose body holds `text`; how many there are. */
static size_t wait_thread_post(bot *b, const char *ts, const char *text, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char thread[64];

	snprintf(thread, sizeof(thread), "\"thread_ts\":\"%s\"", ts);
	for (;;) {
		fake_slack_call c;
		size_t n = 0;

		for (size_t i = 0; fake_slack_call_get(b->fake, "chat.postMessage", i, &c); i++) {
			n += c.ok && strstr(c.body, thread) && strstr(c.body, text);
			fake_slack_call_deinit(&c);
		}
		if (n || now_ms() > deadline)
			return n;
		sleep_poll();
	}
}

/*
 * A bot whose neo4j staging is an external deployment probed by tcp on
 * `port`, checked every second: requested, validated, approved and deployed
 * from Slack, so its promotion is observing; ts gets the thread's parent.
 */
static void observing_bot(bot *b, int port, char *ts, size_t ts_size)
{
	static char env[512];

	snprintf(env, sizeof(env),
		 "{\"deployment\": \"external\", \"healthy_timeout_s\": 5,"
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 300}}",
		 port);
	staging_env = env;
	top_extra = " \"monitoring\": {\"interval_s\": 1, \"deadline_ms\": 400, \"fail_threshold\": 2,"
		    " \"success_threshold\": 2, \"timezone\": \"UTC\", \"report_time\": \"00:00\"},\n";
	bot_start(b);
	run_slash(b, "env-obs-req", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(b->fake, "chat.postMessage", 1, WAIT_MS), "no parent message");
	cr_assert(parent_ts(b, ts, ts_size));
	validate_in_thread(b, ts);
	run_slash(b, "env-obs-approve", "U0BOB", "approve neo4j");
	cr_assert(wait_thread_post(b, ts, "approved", WAIT_MS), "no approval in the thread");
	run_slash(b, "env-obs-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(wait_thread_post(b, ts, "External deployment", WAIT_MS), "no deploy in the thread");
	cr_assert(wait_thread_post(b, ts, "observing", WAIT_MS), "not observing");
}

/*
 * The observation on Slack: neo4j's staging is an external deployment probed
 * by tcp on our listener, checked every second. Deployed from Slack, the bot
 * is stopped and its promotion made two days older (as if it had observed
 * while the bot was away); back up, it posts the two late daily reports, and
 * a DOWN and an UP alert when the target goes away and comes back — all
 * through chat.postMessage in the promotion's thread.
 */
Test(slack_e2e, observation_alerts_and_reports_go_to_the_promotion_thread, .timeout = 240)
{
	char ts[32], db[320], sql[200];
	int port = 0, lfd = listen_loopback(&port);
	sqlite3 *h;
	bot b;

	observing_bot(&b, port, ts, sizeof(ts));
	cr_assert_eq(bot_stop(&b), 0, "the bot did not stop cleanly");

	/* two days of observation the bot did not see: their reports are due, late */
	snprintf(db, sizeof(db), "%s/promobot.db", b.dir);
	snprintf(sql, sizeof(sql), "UPDATE promotions SET observing_since = observing_since - 2 * 86400");
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_changes(h), 1);
	sqlite3_close(h);
	bot_spawn(&b, APP_TOKEN);
	cr_assert(fake_slack_wait_hellos(b.fake, 2, WAIT_MS), "the bot did not come back");
	cr_assert(wait_thread_post(&b, ts, "## Day 2 Monitoring Report", 30000), "no Day 2 report in the thread");
	cr_expect(wait_thread_post(&b, ts, "## Day 1 Monitoring Report", 1000), "no Day 1 report in the thread");
	cr_expect(wait_thread_post(&b, ts, "posted late", 1000), "the late report does not say so");

	close(lfd);
	cr_assert(wait_thread_post(&b, ts, "DOWN: neo4j", 30000), "no DOWN alert in the thread");
	lfd = listen_loopback(&port);
	cr_assert(wait_thread_post(&b, ts, "UP again: neo4j", 30000), "no UP alert in the thread");
	cr_expect(wait_thread_post(&b, ts, "the outage lasted", 1000));
	/* every alert and report went to the thread; nothing observation-made is top-level */
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postMessage", "Monitoring Report"),
		     wait_thread_post(&b, ts, "Monitoring Report", 0));
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postMessage", "DOWN: neo4j"),
		     wait_thread_post(&b, ts, "DOWN: neo4j", 0));
	cr_expect_eq(wait_thread_post(&b, ts, "## Day 2 Monitoring Report", 0), 1, "each report is posted once");
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.postMessage", false),
		     fake_slack_call_count(b.fake, "chat.postMessage", true), "every post was accepted");
	close(lfd);
	bot_finish(&b, true);
}

/* One integer from the bot's database (a read-only look while it runs). */
static int64_t db_int(const bot *b, const char *sql)
{
	char db[320];
	sqlite3_stmt *st;
	sqlite3 *h;
	int64_t v = -1;

	snprintf(db, sizeof(db), "%s/promobot.db", b->dir);
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static bool db_wait(const bot *b, const char *sql, int64_t want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (db_int(b, sql) < want) {
		if (now_ms() > deadline)
			return false;
		sleep_poll();
	}
	return true;
}

/*
 * "No observation card lost or doubled across a crash": the DOWN alert is
 * decided and handed to the poster, but Slack holds the channel back (429,
 * Retry-After 60 s), and the real binary is SIGKILLed while the card waits
 * in its memory. The restarted bot finds the post pending and handed: it
 * looks in the thread for the post's metadata id, does not find it, posts
 * it — and the channel has exactly one DOWN card, marked delivered with its ts.
 */
Test(slack_e2e, a_bot_killed_between_the_down_decision_and_its_post_posts_it_once_after_restart, .timeout = 240)
{
	char ts[32];
	int port = 0, lfd = listen_loopback(&port), status;
	bot b;

	observing_bot(&b, port, ts, sizeof(ts));
	cr_assert(db_wait(&b, "SELECT count(*) FROM samples WHERE packed & 3 = 1", 1, 30000), "no UP sample");

	/* the next chat.postMessage — the DOWN alert — is held back by Slack for a minute */
	fake_slack_rate_limit(b.fake, "chat.postMessage", 1, 60);
	close(lfd);
	cr_assert(db_wait(&b, "SELECT count(*) FROM obs_posts WHERE kind = 'down' AND handed_at > 0", 1, 30000),
		  "the DOWN alert was never handed");
	cr_assert(wait_matching(&b, "chat.postMessage", "DOWN: neo4j", 1, WAIT_MS), "the poster never tried it");
	cr_assert_eq(wait_thread_post(&b, ts, "DOWN: neo4j", 0), 0, "held back: not posted yet");
	kill(b.pid, SIGKILL);
	cr_assert_eq(waitpid(b.pid, &status, 0), b.pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	b.pid = 0;
	cr_assert_eq(db_int(&b, "SELECT posted_at FROM obs_posts WHERE kind = 'down'"), 0, "not delivered at the kill");

	bot_spawn(&b, APP_TOKEN);
	cr_assert(fake_slack_wait_hellos(b.fake, 2, WAIT_MS), "the bot did not come back");
	cr_assert(db_wait(&b, "SELECT posted_at > 0 FROM obs_posts WHERE kind = 'down'", 1, 30000),
		  "the pending DOWN alert was not delivered after the restart");
	cr_expect_eq(wait_thread_post(&b, ts, "DOWN: neo4j", 0), 1, "exactly one DOWN card in the thread");
	cr_expect_geq(fake_slack_calls_matching(b.fake, "conversations.replies", "include_all_metadata"), 1,
		      "handed before the kill: looked for by its id first");
	cr_expect_eq(db_int(&b, "SELECT count(*) FROM obs_posts WHERE kind = 'down' AND chat_ref <> ''"), 1,
		     "its ts is kept");
	cr_expect_eq(db_int(&b, "SELECT count(*) FROM obs_posts WHERE kind = 'down'"), 1, "decided once");
	bot_finish(&b, true);
}

/*
 * Storage that takes no write (another connection holds SQLite's write lock,
 * as a stuck writer or a database restarting would): the envelope's de-dup
 * claim cannot be recorded within the bound, so the command is NOT run — run
 * without it, a Slack retry could run it twice — and the caller is told so,
 * once, ephemerally. Once storage is back the same command typed again runs
 * exactly once.
 */
Test(slack_e2e, a_command_is_not_run_while_storage_takes_no_write_and_runs_once_after, .timeout = 120)
{
	char db[320], *log;
	sqlite3 *h;
	bot b;

	bot_start(&b);
	snprintf(db, sizeof(db), "%s/promobot.db", b.dir);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000); /* the bot writes at start (its lease, the probe): wait our turn */
	cr_assert_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	run_slash(&b, "env-down-1", "U0ALICE", "request neo4j staging");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "was *not run*", 1, WAIT_MS), "the caller was not told");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0ALICE\""), 1);
	cr_expect_eq(fake_slack_call_count(b.fake, "chat.postMessage", false), 0, "the request opened a thread");
	/* a read-only command could read (WAL), but without its claim it is not run either */
	run_slash(&b, "env-down-status", "U0BOB", "status neo4j");
	cr_assert(wait_matching(&b, "chat.postEphemeral", "\"user\":\"U0BOB\"", 1, WAIT_MS), "Bob was not answered");
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "was *not run*"), 2, "status ran");
	cr_assert_eq(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
	cr_expect_eq(db_int(&b, "SELECT count(*) FROM promotions"), 0, "the request ran");
	log = read_log(&b);
	cr_expect(strstr(log, "storage unavailable, the command was not run"), "no log line: %s", log);
	free(log);

	/* storage is back: the same command, typed again, runs once */
	run_slash(&b, "env-down-2", "U0ALICE", "request neo4j staging");
	cr_assert(db_wait(&b, "SELECT count(*) FROM promotions", 1, WAIT_MS), "the request did not run");
	cr_assert(fake_slack_wait_calls(b.fake, "chat.postMessage", 1, WAIT_MS), "no thread");
	cr_expect_eq(db_int(&b, "SELECT count(*) FROM promotions"), 1);
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "was *not run*"), 2);
	cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.postEphemeral", "\"user\":\"U0BOB\""), 1);

	/* a button click while storage takes no write: not run, Bob told ephemerally; clicked again later, it runs */
	{
		char ts[32];

		cr_assert(parent_ts(&b, ts, sizeof(ts)), "no thread parent");
		validate_in_thread(&b, ts);
		cr_assert(db_wait(&b, "SELECT count(*) FROM promotions WHERE state = 'in_review'", 1, WAIT_MS));
		/* validate's component lease goes after its replies: locked out, it would stay until it expires */
		{
			int64_t deadline = now_ms() + WAIT_MS;

			while (db_int(&b, "SELECT count(*) FROM leases WHERE name LIKE 'component:%'") != 0 &&
			       now_ms() < deadline)
				sleep_poll();
			cr_assert_eq(db_int(&b, "SELECT count(*) FROM leases WHERE name LIKE 'component:%'"), 0);
		}
		cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
		sqlite3_busy_timeout(h, 10000);
		cr_assert_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
		cr_assert_gt(fake_slack_send_action(b.fake, "env-down-click", "U0BOB", CHANNEL, ts, "approve:0", "neo4j",
						    "1700000299.000001"), 0);
		cr_assert(fake_slack_wait_ack(b.fake, "env-down-click", WAIT_MS, NULL));
		cr_assert(wait_matching(&b, "chat.postEphemeral", "was *not run*", 3, WAIT_MS), "Bob's click: not told");
		cr_assert_eq(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
		sqlite3_close(h);
		cr_expect_eq(db_int(&b, "SELECT count(*) FROM promotions WHERE state = 'approved'"), 0, "the click ran");
		cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.update", "Approved by"), 0);
		click_once(&b, "U0BOB", ts, "approve:0", "chat.update", "Approved by <@U0BOB>");
		cr_expect_eq(fake_slack_calls_matching(b.fake, "chat.update", "Approved by <@U0BOB>"), 1);
		cr_expect_eq(db_int(&b, "SELECT count(*) FROM promotions WHERE state = 'approved'"), 1);
	}
	bot_finish(&b, true);
}

/* test_replicas.c — two real promobot processes sharing one store behind the fake Slack's two Socket Mode connections. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_slack.h"
#include "testproc.h"

#define APP_TOKEN "xapp-1-A0FAKE-1234567890-replicas-app-token"
#define BOT_TOKEN "xoxb-1111-2222-replicas-bot-token-value"
#define CHANNEL "C0PROMO"
#define WAIT_MS 30000
#define NREP 2

typedef struct replica {
	pid_t pid;
	char log[320];
	int serial;             /* its Socket Mode connection at the fake */
} replica;

typedef struct cluster {
	fake_slack *fake;
	char dir[256];
	char cfg[320];
	char db[320];
	replica r[NREP];
} cluster;

#define STAGING_IMAGE "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\"}"

/*
 * Both replicas read this one file: same store, same Slack app, same components.
 * extra: top-level keys ("\"monitoring\": {…},\n"); staging: neo4j's staging environment.
 */
static void write_config(cluster *c, const char *extra, const char *staging)
{
	FILE *f = fopen(c->cfg, "w");

	cr_assert_not_null(f);
	fprintf(f,
		"{\n"
		" \"storage\": {\"path\": \"%s\"},\n"
		" \"chat\": {\"platform\": \"slack\", \"slack\": {\"api_url\": \"%s\",\n"
		"   \"app_token_env\": \"TEST_SLACK_APP\", \"bot_token_env\": \"TEST_SLACK_BOT\",\n"
		"   \"channel\": \"" CHANNEL "\", \"min_post_interval_ms\": 0}},\n"
		" \"workers\": 4,\n%s"
		" \"users\": {\"U0ALICE\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]},\n"
		"            \"U0BOB\": {\"name\": \"Bob\", \"roles\": [\"approver\"]},\n"
		"            \"U0CAROL\": {\"name\": \"Carol\", \"roles\": [\"admin\"]}},\n"
		" \"policy\": {\"required_approvals\": 1, \"self_approval\": false, \"required_checks\": [\"tests\"]},\n"
		" \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core\", \"stage\": \"development\",\n"
		"   \"workdir\": \"%s\", \"revision\": {\"value\": \"neo4j-5.13.0\"},\n"
		"   \"checks\": [{\"name\": \"unit tests\", \"criterion\": \"tests\", \"argv\": [\"true\"]}],\n"
		"   \"environments\": {\"staging\": %s}}]\n"
		"}\n",
		c->db, fake_slack_api_url(c->fake), extra, c->dir, staging);
	fclose(f);
}

/* Replica i runs `promobot --config <cfg>`; its output goes to its own log. */
static void replica_spawn(cluster *c, int i)
{
	static char *env[] = { "TEST_SLACK_APP=" APP_TOKEN, "TEST_SLACK_BOT=" BOT_TOKEN, "PROMOBOT_SLACK_IDLE_S=3", NULL };
	char *args[] = { "--config", c->cfg, NULL };
	int hellos = fake_slack_hellos(c->fake);

	c->r[i].pid = tp_start_logged(args, env, c->r[i].log);
	cr_assert(fake_slack_wait_hellos(c->fake, hellos + 1, WAIT_MS), "replica %d never connected", i);
	c->r[i].serial = hellos + 1;
}

/* The fake, the config, and both replicas up, each with its own Socket Mode connection. */
static void cluster_start(cluster *c, const char *extra, const char *staging)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/pb-replicas-XXXXXX");
	cr_assert_not_null(mkdtemp(c->dir));
	snprintf(c->cfg, sizeof(c->cfg), "%s/promobot.json", c->dir);
	snprintf(c->db, sizeof(c->db), "%s/promobot.db", c->dir);
	cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &c->fake), 0);
	write_config(c, extra, staging);
	for (int i = 0; i < NREP; i++) {
		snprintf(c->r[i].log, sizeof(c->r[i].log), "%s/replica%d.log", c->dir, i);
		replica_spawn(c, i);
	}
	cr_assert(fake_slack_wait_live(c->fake, NREP, WAIT_MS), "not %d live connections", NREP);
}

/* SIGTERM; 0 = a clean stop (no leak under ASan). */
static int replica_stop(cluster *c, int i)
{
	int status;

	if (c->r[i].pid <= 0)
		return 0;
	kill(c->r[i].pid, SIGTERM);
	status = tp_wait(c->r[i].pid, 60000);
	if (status == -1) {
		kill(c->r[i].pid, SIGKILL);
		waitpid(c->r[i].pid, &status, 0);
		status = -1;
	}
	c->r[i].pid = 0;
	return status;
}

static void cluster_finish(cluster *c)
{
	for (int i = 0; i < NREP; i++) {
		int status = replica_stop(c, i);
		char *log = tp_slurp(c->r[i].log);

		cr_expect(status == 0, "replica %d did not stop cleanly (status %d); log:\n%s", i, status, log);
		cr_expect_null(strstr(log, APP_TOKEN), "app token leaked into replica %d's log", i);
		cr_expect_null(strstr(log, BOT_TOKEN), "bot token leaked into replica %d's log", i);
		free(log);
	}
	fake_slack_free(c->fake);
	c->fake = NULL;
	tp_remove_dir(c->dir);
}

/* One integer from the shared store (a read-only look while the replicas run); -1 if none. */
static int64_t db_int(const cluster *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h;
	int64_t v = -1;

	cr_assert_eq(sqlite3_open_v2(c->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* One text value from the shared store into out ("" if none). */
static void db_text(const cluster *c, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h;

	out[0] = '\0';
	cr_assert_eq(sqlite3_open_v2(c->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0))
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static bool db_wait(const cluster *c, const char *sql, int64_t want, int timeout_ms)
{
	int64_t deadline = tp_now_ms() + timeout_ms;

	while (db_int(c, sql) != want) {
		if (tp_now_ms() > deadline)
			return false;
		tp_pause();
	}
	return true;
}

/* Sends a slash command where the distribution says; the serial it went to (its ack must come back on it). */
static int slash(cluster *c, const char *env_id, const char *user, const char *text)
{
	fake_slack_ack ack;
	int serial = fake_slack_send_slash(c->fake, env_id, user, CHANNEL, text);

	cr_assert_gt(serial, 0, "no live connection for %s", env_id);
	cr_assert(fake_slack_wait_ack(c->fake, env_id, WAIT_MS, &ack), "no ack for %s", env_id);
	cr_expect_eq(ack.conn, serial, "%s acked on connection %d, sent on %d", env_id, ack.conn, serial);
	free(ack.payload);
	return serial;
}

/* The same on one replica's connection. */
static void slash_on(cluster *c, int i, const char *env_id, const char *user, const char *text)
{
	fake_slack_set_target(c->fake, c->r[i].serial);
	cr_assert_eq(slash(c, env_id, user, text), c->r[i].serial);
	fake_slack_set_target(c->fake, 0);
}

/* The parent message of the promotion's thread: the only ok chat.postMessage without thread_ts. */
static size_t parents(cluster *c, char *ts, size_t size)
{
	fake_slack_call call;
	size_t n = 0;

	for (size_t i = 0; fake_slack_call_get(c->fake, "chat.postMessage", i, &call); i++) {
		if (call.ok && !strstr(call.body, "\"thread_ts\"")) {
			if (!n)
				snprintf(ts, size, "%s", call.ts);
			n++;
		}
		fake_slack_call_deinit(&call);
	}
	return n;
}

/*
 * Round-robin over the two connections (each envelope goes to ONE of them, as
 * Slack does): 20 status commands alternate between the replicas and each is
 * answered exactly once, by the replica it went to (its ack on that connection).
 */
Test(replicas, commands_alternate_between_replicas_and_each_is_answered_once, .timeout = 240)
{
	const size_t n = 20;
	char id[48], user[32], needle[48];
	cluster c;

	cluster_start(&c, "", STAGING_IMAGE);
	fake_slack_set_distribution(c.fake, FAKE_SLACK_ROUND_ROBIN);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "env-status-%02zu", i);
		snprintf(user, sizeof(user), "U%02zuSTATUS", i);
		cr_assert_eq(slash(&c, id, user, "status neo4j"), c.r[i % NREP].serial,
			     "round-robin: command %zu went elsewhere", i);
	}
	cr_assert(fake_slack_wait_calls(c.fake, "chat.postEphemeral", n, WAIT_MS), "only %zu of %zu answered",
		  fake_slack_call_count(c.fake, "chat.postEphemeral", true), n);
	for (int i = 0; i < NREP; i++) {
		cr_expect_eq(fake_slack_envelopes_on(c.fake, c.r[i].serial), n / NREP);
		cr_expect_eq(fake_slack_acks_on(c.fake, c.r[i].serial), n / NREP, "replica %d acked %zu", i,
			     fake_slack_acks_on(c.fake, c.r[i].serial));
	}
	/* both stop cleanly: every queued command ran; then exactly one answer each */
	for (int i = 0; i < NREP; i++)
		cr_expect_eq(replica_stop(&c, i), 0, "replica %d did not stop cleanly", i);
	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "\"user\":\"U%02zuSTATUS\"", i);
		cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postEphemeral", needle), 1,
			     "command %zu answered %zu times", i,
			     fake_slack_calls_matching(c.fake, "chat.postEphemeral", needle));
	}
	cr_expect_eq(fake_slack_ack_count(c.fake), n, "an envelope was acked twice");
	cr_expect_eq(fake_slack_call_count(c.fake, "chat.postEphemeral", false), n);
	cluster_finish(&c);
}

/*
 * The store's invariants across processes: the same request reaches both
 * replicas at once — one promotion opens (the database's partial unique index
 * decides), the other caller is told it is already open; Slack's retry of one
 * envelope on the other connection runs once; the walk through validate and
 * approve alternates replicas and leaves one promotion with its whole audit trail.
 */
Test(replicas, one_promotion_and_a_complete_audit_trail_across_replicas, .timeout = 240)
{
	char ts[32], trail[256];
	cluster c;

	cluster_start(&c, "", STAGING_IMAGE);
	/* the race: both requests sent before either is answered */
	fake_slack_set_target(c.fake, c.r[0].serial);
	cr_assert_eq(fake_slack_send_slash(c.fake, "env-req-a", "U0ALICE", CHANNEL, "request neo4j staging"),
		     c.r[0].serial);
	fake_slack_set_target(c.fake, c.r[1].serial);
	cr_assert_eq(fake_slack_send_slash(c.fake, "env-req-b", "U0ALICE", CHANNEL, "request neo4j staging"),
		     c.r[1].serial);
	fake_slack_set_target(c.fake, 0);
	cr_assert(fake_slack_wait_ack(c.fake, "env-req-a", WAIT_MS, NULL));
	cr_assert(fake_slack_wait_ack(c.fake, "env-req-b", WAIT_MS, NULL));
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postEphemeral", "already has an open promotion", 1, WAIT_MS),
		  "the losing request was not told");
	cr_assert(fake_slack_wait_calls(c.fake, "chat.postMessage", 1, WAIT_MS), "no thread for the winner");
	cr_assert_eq(db_int(&c, "SELECT count(*) FROM promotions"), 1);
	cr_assert_eq(parents(&c, ts, sizeof(ts)), 1, "one promotion, one thread");

	/* validate on replica 0; Slack redelivers the same envelope on replica 1: acked, not run again */
	slash_on(&c, 0, "env-validate", "U0ALICE", "validate neo4j");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions WHERE state = 'in_review'", 1, WAIT_MS),
		  "validation did not finish");
	{
		size_t acks = fake_slack_ack_count(c.fake);
		int64_t deadline = tp_now_ms() + WAIT_MS;

		fake_slack_set_target(c.fake, c.r[1].serial);
		cr_assert_eq(fake_slack_send_slash(c.fake, "env-validate", "U0ALICE", CHANNEL, "validate neo4j"),
			     c.r[1].serial);
		fake_slack_set_target(c.fake, 0);
		while (fake_slack_ack_count(c.fake) <= acks && tp_now_ms() < deadline)
			tp_pause();
		cr_assert_gt(fake_slack_ack_count(c.fake), acks, "the redelivery was not acked");
		cr_expect_eq(fake_slack_acks_on(c.fake, c.r[1].serial), 2, "req-b and the redelivery");
	}
	/* approve on replica 1 */
	slash_on(&c, 1, "env-approve", "U0BOB", "approve neo4j");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions WHERE state = 'approved'", 1, WAIT_MS),
		  "not approved");
	/* a status on each replica sees the same state */
	slash_on(&c, 0, "env-status-0", "U0CAROL", "status neo4j");
	slash_on(&c, 1, "env-status-1", "U0CAROL", "status neo4j");
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\"", 2, WAIT_MS));
	for (int i = 0; i < NREP; i++)
		cr_expect_eq(replica_stop(&c, i), 0, "replica %d did not stop cleanly", i);

	cr_expect_eq(db_int(&c, "SELECT count(*) FROM promotions"), 1);
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM validations"), 1, "the redelivered validate ran again");
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM approvals"), 1);
	/* the whole audit trail, in order, each step once, by whom */
	db_text(&c, "SELECT group_concat(step, ' ') FROM (SELECT kind || ':' || to_state || ':' || actor AS step"
		    " FROM events ORDER BY id)", trail, sizeof(trail));
	cr_expect_str_eq(trail, "requested::U0ALICE state:validating:U0ALICE state:in_review:U0ALICE"
			 " approved::U0BOB state:approved:U0BOB");
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postEphemeral", "already has an open promotion"), 1);
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\""), 2);
	cr_expect_eq(fake_slack_call_count(c.fake, "chat.postMessage", false),
		     fake_slack_call_count(c.fake, "chat.postMessage", true), "every post was accepted");
	cluster_finish(&c);
}

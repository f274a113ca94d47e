/* cluster.c — the replicas harness: config, spawn/stop/kill of replicas, looks at the shared store and the fake Slack. */
#include "cluster.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_helpers.h"
#include "testproc.h"

/* Extra keys of neo4j's entry (" \"github_repo\": …,") for the next cluster (each test runs in its own process). */
const char *component_extra = "";

/*
 * Both replicas read this one file: same store, same Slack app, same components.
 * extra: top-level keys ("\"monitoring\": {…},\n"); staging: neo4j's staging environment.
 */
void write_config(cluster *c, const char *extra, const char *staging)
{
	FILE *f = fopen(c->cfg, "w");

	cr_assert_not_null(f);
	fprintf(f,
		"{\n"
		" \"storage\": {\"%s\": \"%s\"},\n"
		" \"chat\": {\"platform\": \"slack\", \"slack\": {\"api_url\": \"%s\",\n"
		"   \"app_token_env\": \"TEST_SLACK_APP\", \"bot_token_env\": \"TEST_SLACK_BOT\",\n"
		"   \"channel\": \"" CHANNEL "\", \"min_post_interval_ms\": 0}},\n"
		" \"workers\": 4,\n%s"
		" \"users\": {\"U0ALICE\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]},\n"
		"            \"U0BOB\": {\"name\": \"Bob\", \"roles\": [\"approver\"]},\n"
		"            \"U0CAROL\": {\"name\": \"Carol\", \"roles\": [\"admin\"]}},\n"
		" \"policy\": {\"required_approvals\": 1, \"self_approval\": false, \"required_checks\": [\"tests\"]},\n"
		" \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core\", \"stage\": \"development\",\n"
		"   \"workdir\": \"%s\", \"revision\": {\"value\": \"neo4j-5.13.0\"},%s\n"
		"   \"checks\": [{\"name\": \"unit tests\", \"criterion\": \"tests\", \"argv\": [\"true\"]}],\n"
		"   \"environments\": {\"staging\": %s}}]\n"
		"}\n",
		st_pg() ? "url" : "path", c->db, fake_slack_api_url(c->fake), extra, c->dir, component_extra, staging);
	fclose(f);
}

/* Replica i runs `promobot --config <cfg>`; its output goes to its own log. */
void replica_spawn(cluster *c, int i)
{
	static char *env[] = { "TEST_SLACK_APP=" APP_TOKEN, "TEST_SLACK_BOT=" BOT_TOKEN, "PROMOBOT_SLACK_IDLE_S=3", NULL };
	char *args[] = { "--config", c->cfg, NULL };
	int hellos = fake_slack_hellos(c->fake);

	c->r[i].pid = tp_start_logged(args, env, c->r[i].log);
	if (!fake_slack_wait_hellos(c->fake, hellos + 1, WAIT_MS)) {
		char *log = tp_slurp(c->r[i].log);

		cr_assert_fail("replica %d never connected; its log:\n%s", i, log);
		free(log);
	}
	c->r[i].serial = hellos + 1;
}

/* The fake, the config, and both replicas up, each with its own Socket Mode connection. */
void cluster_start(cluster *c, const char *extra, const char *staging)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/pb-replicas-XXXXXX");
	cr_assert_not_null(mkdtemp(c->dir));
	snprintf(c->cfg, sizeof(c->cfg), "%s/promobot.json", c->dir);
	/* suite replicas: one SQLite file; under pg_run.sh (PROMOBOT_TEST_BACKEND=pg) a schema of its own */
	if (st_pg())
		st_pg_schema_new("_rep", c->db, sizeof(c->db));
	else
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
int replica_stop(cluster *c, int i)
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

void cluster_finish(cluster *c)
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
	if (st_pg() && !getenv("PB_TEST_KEEP"))
		st_tmp_fini(); /* drops this test's schemas */
	tp_remove_dir(c->dir);
}

/* One integer from the shared store (a read-only look while the replicas run); -1 if none. */
int64_t db_int(const cluster *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h;
	int64_t v = -1;

	if (st_pg())
		return st_sql_int(c->db, sql);
	cr_assert_eq(sqlite3_open_v2(c->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

bool db_wait(const cluster *c, const char *sql, int64_t want, int timeout_ms)
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
int slash(cluster *c, const char *env_id, const char *user, const char *text)
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
void slash_on(cluster *c, int i, const char *env_id, const char *user, const char *text)
{
	fake_slack_set_target(c->fake, c->r[i].serial);
	cr_assert_eq(slash(c, env_id, user, text), c->r[i].serial);
	fake_slack_set_target(c->fake, 0);
}

/* The parent message of the promotion's thread: the only ok chat.postMessage without thread_ts. */
size_t parents(cluster *c, char *ts, size_t size)
{
	return parent_nth(c, 0, ts, size);
}

size_t parent_nth(cluster *c, size_t k, char *ts, size_t size)
{
	fake_slack_call call;
	size_t n = 0;

	for (size_t i = 0; fake_slack_call_get(c->fake, "chat.postMessage", i, &call); i++) {
		if (call.ok && !strstr(call.body, "\"thread_ts\"")) {
			if (n == k)
				snprintf(ts, size, "%s", call.ts);
			n++;
		}
		fake_slack_call_deinit(&call);
	}
	return n;
}

/* A write to the shared store from outside (as an operator with the database shell would). */
void db_exec(const cluster *c, const char *sql)
{
	cr_assert_eq(st_sql(c->db, sql), SQLITE_OK, "%s", sql);
}

/* Whether replica i's log holds needle. */
bool log_has(const cluster *c, int i, const char *needle)
{
	char *log = tp_slurp(c->r[i].log);
	bool found = strstr(log, needle) != NULL;

	free(log);
	return found;
}

/* The replica whose log says it took the scheduler lease (`needle`), waiting up to timeout_ms; -1 if none. */
int wait_leader(const cluster *c, const char *needle, int timeout_ms)
{
	int64_t deadline = tp_now_ms() + timeout_ms;

	for (;;) {
		for (int i = 0; i < NREP; i++)
			if (c->r[i].pid > 0 && log_has(c, i, needle))
				return i;
		if (tp_now_ms() > deadline)
			return -1;
		tp_pause();
	}
}

/* request (replica 0) → validate (1) → approve (0) → deploy (1): observing; ts gets the thread's parent. */
void walk_to_observing(cluster *c, char *ts, size_t size)
{
	slash_on(c, 0, "env-obs-req", "U0ALICE", "request neo4j staging");
	cr_assert(fake_slack_wait_calls(c->fake, "chat.postMessage", 1, WAIT_MS), "no thread");
	cr_assert_eq(parents(c, ts, size), 1);
	/* no wait for the stored ts: the next command, on the other replica, comes at once (thread claim) */
	slash_on(c, 1, "env-obs-validate", "U0ALICE", "validate neo4j");
	cr_assert(db_wait(c, "SELECT count(*) FROM promotions WHERE state = 'in_review'", 1, WAIT_MS), "not validated");
	slash_on(c, 0, "env-obs-approve", "U0BOB", "approve neo4j");
	cr_assert(db_wait(c, "SELECT count(*) FROM promotions WHERE state = 'approved'", 1, WAIT_MS), "not approved");
	slash_on(c, 1, "env-obs-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(db_wait(c, "SELECT count(*) FROM promotions WHERE state = 'observing'", 1, WAIT_MS), "not observing");
}

/* SIGKILL: the replica dies without a word (its Socket Mode connection drops with it). */
void replica_kill(cluster *c, int i)
{
	int status = 0;

	cr_assert_eq(kill(c->r[i].pid, SIGKILL), 0);
	cr_assert_eq(waitpid(c->r[i].pid, &status, 0), c->r[i].pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
	c->r[i].pid = 0;
}

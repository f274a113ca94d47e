/* test_replicas.c — two real promobot processes sharing one store behind the fake Slack's two Socket Mode connections. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "fake_slack.h"
#include "github_fake.h"
#include "st_helpers.h"
#include "testproc.h"

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
	char ts[32];
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
	/* replica 1's cards come microseconds after the parent, before its ts is stored: they wait for it */

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
	{
		static const char *const trail[][3] = {
			{ "requested", "", "U0ALICE" },  { "state", "validating", "U0ALICE" },
			{ "state", "in_review", "U0ALICE" }, { "approved", "", "U0BOB" },
			{ "state", "approved", "U0BOB" },
		};
		char sql[300];

		cr_expect_eq(db_int(&c, "SELECT count(*) FROM events"), 5);
		for (int k = 0; k < 5; k++) {
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE id = (SELECT id FROM events"
				 " ORDER BY id LIMIT 1 OFFSET %d) AND kind = '%s' AND to_state = '%s' AND actor = '%s'",
				 k, trail[k][0], trail[k][1], trail[k][2]);
			cr_expect_eq(db_int(&c, sql), 1, "audit event %d is not %s:%s by %s", k + 1, trail[k][0],
				     trail[k][1], trail[k][2]);
		}
	}
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postEphemeral", "already has an open promotion"), 1);
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\""), 2);
	cr_expect_eq(fake_slack_call_count(c.fake, "chat.postMessage", false),
		     fake_slack_call_count(c.fake, "chat.postMessage", true), "every post was accepted");
	cluster_finish(&c);
}

/* On a failure, what was posted outside the promotion's thread (the first post opens it). */
static void print_posts_outside(cluster *c, const char *needle)
{
	fake_slack_call call;

	for (size_t i = 0; fake_slack_call_get(c->fake, "chat.postMessage", i, &call); i++) {
		if (!strstr(call.body, needle))
			fprintf(stderr, "post #%zu outside the thread (status %ld, ok %d, %s): %.600s\n", i, call.status,
				call.ok, call.error, call.body);
		fake_slack_call_deinit(&call);
	}
}

/* ---- one scheduler leader (the 'scheduler' lease) ---- */

/* Short intervals: a check a second, the scheduler lease 3 s (the validator's minimum). */
#define FAST_HA \
	" \"monitoring\": {\"interval_s\": 1, \"deadline_ms\": 400, \"fail_threshold\": 2, \"success_threshold\": 2," \
	" \"timezone\": \"UTC\", \"report_time\": \"00:00\"},\n" \
	" \"ha\": {\"leader_lease_s\": 3},\n"

/* neo4j's staging as an external deployment the tcp probe finds on port. */
static const char *tcp_staging(int port)
{
	static char env[256];

	snprintf(env, sizeof(env),
		 "{\"deployment\": \"external\", \"healthy_timeout_s\": 5,"
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 300}}",
		 port);
	return env;
}

/*
 * The observation on Slack with two replicas: one leads (its log says so, the
 * other's never does while it lives) and posts the Day 1 report and the DOWN
 * alert in the promotion's thread; SIGKILL of the leader — the survivor takes
 * the scheduler lease (from the dead one's owner), checks resume (the UP alert
 * is the survivor's), the slots nobody ran are UNKNOWN, none is missing, and
 * the thread holds each report and alert exactly once. Commands keep working
 * on the survivor's connection.
 */
Test(replicas, sigkill_of_the_leader_mid_observation_the_other_takes_over, .timeout = 300)
{
	char ts[32], sql[300], owner[64], needle[96];
	int port = 0, lfd = tp_listen_loopback(&port), leader, other;
	int64_t killed_at, first, last;
	cluster c;

	cluster_start(&c, FAST_HA, tcp_staging(port));
	walk_to_observing(&c, ts, sizeof(ts));
	/* both stop; two days of observation happened meanwhile (as if both had been away), both come back */
	for (int i = 0; i < NREP; i++) {
		cr_assert_eq(replica_stop(&c, i), 0, "replica %d did not stop cleanly", i);
		snprintf(c.r[i].log, sizeof(c.r[i].log), "%s/replica%d.again.log", c.dir, i);
	}
	db_exec(&c, "UPDATE promotions SET observing_since = observing_since - 2 * 86400");
	for (int i = 0; i < NREP; i++)
		replica_spawn(&c, i);
	leader = wait_leader(&c, "leader: acquired", WAIT_MS);
	cr_assert_geq(leader, 0, "nobody took the scheduler lease");
	other = 1 - leader;
	/* the late Day 1 and Day 2 reports, posted by the leader */
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postMessage", "## Day 2 Monitoring Report", 1, WAIT_MS),
		  "no Day 2 report");
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postMessage", "## Day 1 Monitoring Report", 1, WAIT_MS),
		  "no Day 1 report");
	/* the outage, seen by the leader; its DOWN post confirmed before the kill */
	close(lfd);
	cr_assert(db_wait(&c, "SELECT count(*) FROM obs_posts WHERE kind = 'down' AND posted_at > 0", 1, WAIT_MS),
		  "the DOWN alert was not posted");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM leases WHERE name = 'scheduler' AND owner LIKE '%%:%ld:%%'",
		 (long)c.r[leader].pid);
	cr_expect_eq(db_int(&c, sql), 1, "the leader holds the scheduler lease");
	cr_expect_not(log_has(&c, other, "leader: acquired"), "the follower led while the leader lived");

	snprintf(owner, sizeof(owner), ":%ld:", (long)c.r[leader].pid);
	replica_kill(&c, leader);
	killed_at = (int64_t)time(NULL);
	cr_assert(fake_slack_wait_live(c.fake, 1, WAIT_MS), "the dead replica's connection stayed");
	cr_assert_eq(wait_leader(&c, "leader: acquired (was ", WAIT_MS), other, "the survivor did not take over");
	{
		char *log = tp_slurp(c.r[other].log);
		const char *line = strstr(log, "leader: acquired (was ");

		cr_expect(line && strstr(line, owner), "taken over from the dead leader (%s): %s", owner, log);
		free(log);
	}
	/* checks continue on the survivor: the target comes back, the UP alert is its */
	lfd = tp_listen_loopback(&port);
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postMessage", "UP again: neo4j", 1, WAIT_MS),
		  "no UP alert from the survivor");
	/* commands go to the survivor's connection and are answered */
	cr_assert_eq(slash(&c, "env-after-kill", "U0CAROL", "status neo4j"), c.r[other].serial);
	cr_assert(fake_slack_wait_matching(c.fake, "chat.postEphemeral", "\"user\":\"U0CAROL\"", 1, WAIT_MS));
	cr_expect_eq(replica_stop(&c, other), 0, "the survivor did not stop cleanly");

	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", "## Day 1 Monitoring Report"), 1);
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", "## Day 2 Monitoring Report"), 1);
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", "Monitoring Report"), 2, "a report twice");
	snprintf(needle, sizeof(needle), "\"thread_ts\":\"%s\"", ts);
	if (fake_slack_calls_matching(c.fake, "chat.postMessage", needle) !=
	    fake_slack_call_count(c.fake, "chat.postMessage", false) - 1)
		print_posts_outside(&c, needle);
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", needle),
		     fake_slack_call_count(c.fake, "chat.postMessage", false) - 1, "a post outside the thread");
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", "DOWN: neo4j"), 1, "DOWN posted once");
	cr_expect_eq(fake_slack_calls_matching(c.fake, "chat.postMessage", "UP again: neo4j"), 1, "UP posted once");
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM obs_posts WHERE kind = 'report'"), 2);
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM obs_posts WHERE kind = 'down'"), 1);
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM obs_posts WHERE kind = 'up'"), 1);
	/* around the failover every slot has one sample (the key forbids two) and none is missing */
	snprintf(sql, sizeof(sql), "SELECT min(slot) FROM samples WHERE slot >= %lld", (long long)killed_at - 30);
	first = db_int(&c, sql);
	last = db_int(&c, "SELECT max(slot) FROM samples");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM samples WHERE slot >= %lld", (long long)first);
	cr_expect_gt(last, killed_at, "the survivor checked after the failover");
	cr_expect_eq(db_int(&c, sql), last - first + 1, "a slot is missing between %lld and %lld", (long long)first,
		     (long long)last);
	/* the slots nobody checked while nobody led are UNKNOWN of class "not run" (9) */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM samples WHERE slot >= %lld AND (packed & 3) = 0 AND"
		 " ((packed >> 2) & 63) = 9", (long long)killed_at - 1);
	cr_expect_geq(db_int(&c, sql), 1, "the failover's missed slots are not UNKNOWN");
	close(lfd);
	cluster_finish(&c);
}

/* ---- GitHub outbox delivery ---- */

#define REPO "acme/tta"
#define GH_TOKEN "ghp_replicas_outbox"

typedef struct kill_hook {
	pid_t victim;
	const char *match;      /* "POST /repos/acme/tta/issues" exactly */
	int fired;
} kill_hook;

/*
 * The fake GitHub's hook runs once the request is read and before it is served:
 * SIGKILL of the replica that sent it here means GitHub does the work and the
 * answer goes to a dead socket — the delivering replica never learns the outcome.
 */
static void kill_on_request(github_fake *f, void *ud, const char *method_and_path)
{
	kill_hook *k = ud;

	(void)f;
	if (!__atomic_load_n(&k->fired, __ATOMIC_SEQ_CST) && !strcmp(method_and_path, k->match)) {
		__atomic_store_n(&k->fired, 1, __ATOMIC_SEQ_CST);
		kill(k->victim, SIGKILL);
	}
}

/*
 * SIGKILL in the middle of outbox delivery: the leader opens the promotion's
 * issue on GitHub and dies as GitHub creates it (the answer never arrives).
 * The survivor takes over the scheduler lease and with it the delivery: it
 * finds the issue by the op's hidden marker instead of opening a second one;
 * the promotion records #1, and the next step's comment lands on it once.
 * The dead leader's claim on the op is long (4 × github.timeout_ms = 120 s):
 * the survivor releases it at the takeover and delivers within the leader
 * lease + github.timeout_ms + 1 s (plus a margin for the outbox tick), not
 * after the claim.
 */
#define OUTBOX_TIMEOUT_S 30
#define OUTBOX_LEASE_S 3
Test(replicas, sigkill_in_the_middle_of_outbox_delivery_loses_and_doubles_nothing, .timeout = 300)
{
	char extra[512], *issue;
	kill_hook hook = { 0, "POST /repos/" REPO "/issues", 0 };
	int64_t killed_ms, bound_ms;
	github_fake *gh;
	int leader, other, status = 0;
	cluster c;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(github_fake_start(&gh), 0);
	github_fake_add_token(gh, GH_TOKEN);
	github_fake_add_repo(gh, REPO);
	setenv("PB_REPLICAS_GITHUB_TOKEN", GH_TOKEN, 1);
	snprintf(extra, sizeof(extra),
		 " \"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_REPLICAS_GITHUB_TOKEN\", \"timeout_ms\": %d},\n"
		 " \"ha\": {\"leader_lease_s\": %d},\n", github_fake_url(gh), OUTBOX_TIMEOUT_S * 1000, OUTBOX_LEASE_S);
	component_extra = " \"github_repo\": \"" REPO "\",";
	cluster_start(&c, extra, STAGING_IMAGE);
	leader = wait_leader(&c, "leader: acquired (was nobody)", WAIT_MS);
	cr_assert_geq(leader, 0, "nobody took the scheduler lease");
	other = 1 - leader;
	hook.victim = c.r[leader].pid;
	github_fake_on_request(gh, kill_on_request, &hook);

	slash_on(&c, leader, "env-gh-req", "U0ALICE", "request neo4j staging");
	cr_assert_eq(waitpid(c.r[leader].pid, &status, 0), c.r[leader].pid, "the leader was not killed");
	killed_ms = tp_now_ms();
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
	c.r[leader].pid = 0;
	cr_assert(__atomic_load_n(&hook.fired, __ATOMIC_SEQ_CST));
	github_fake_on_request(gh, NULL, NULL);
	cr_assert_eq(github_fake_count(gh, "POST /repos/" REPO "/issues", 0), 1);

	/* the survivor leads and delivers what the dead one left unconfirmed */
	cr_assert_eq(wait_leader(&c, "leader: acquired (was ", WAIT_MS), other, "the survivor did not take over");
	/* the dead replica's claim (github.timeout_ms × 4 = 120 s) is released at the takeover, held only for the bound */
	bound_ms = (OUTBOX_LEASE_S + OUTBOX_TIMEOUT_S + 1 + 10) * 1000;
	cr_assert_lt(bound_ms, 4 * OUTBOX_TIMEOUT_S * 1000, "the bound must be shorter than the claim to prove anything");
	cr_assert(db_wait(&c, "SELECT issue_number FROM promotions", 1, (int)(killed_ms + bound_ms - tp_now_ms())),
		  "the promotion did not get its issue within the leader lease + github.timeout_ms (%lld ms)",
		  (long long)bound_ms);
	cr_expect(log_has(&c, other, "1 GitHub update claimed by the previous leader released"),
		  "the survivor did not say it released the dead leader's claim");
	cr_assert(db_wait(&c, "SELECT count(*) FROM gh_ops WHERE state <> 'done'", 0, WAIT_MS), "ops left undelivered");
	issue = github_fake_issue_json(gh, REPO, 2);
	cr_expect_null(issue, "a second issue was opened: %s", issue ? issue : "");
	free(issue);
	/* the next step's comment goes to #1, once */
	slash_on(&c, other, "env-gh-validate", "U0ALICE", "validate neo4j");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions WHERE state = 'in_review'", 1, WAIT_MS), "not validated");
	cr_assert(db_wait(&c, "SELECT count(*) FROM gh_ops WHERE state <> 'done'", 0, WAIT_MS), "ops left undelivered");
	cr_expect_eq(github_fake_comment_count(gh, REPO, 1), 1, "the validation comment, once");
	cluster_finish(&c);
	github_fake_free(gh);
}

/* ---- PostgreSQL restarted under load ---- */

/* scripts/pg-env.sh down|up on the cluster scripts/test.sh started (PROMOBOT_PG_ENV_DIR). */
static void pg_server(const char *what)
{
	const char *src = getenv("PROMOBOT_SRC"), *dir = getenv("PROMOBOT_PG_ENV_DIR");
	char cmd[1024];

	cr_assert(src && dir, "PROMOBOT_SRC and PROMOBOT_PG_ENV_DIR (scripts/pg-env.sh start) must be set");
	snprintf(cmd, sizeof(cmd), "sh '%s/scripts/pg-env.sh' %s '%s'", src, what, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/*
 * n status commands (ids env-<env_tag>-<k>, user U<k><user_tag>), each acked; waits until each user
 * has `answers` ephemeral replies in all.
 */
static void status_burst_as(cluster *c, const char *env_tag, const char *user_tag, int n, size_t answers)
{
	char id[48], user[48];

	for (int k = 0; k < n; k++) {
		snprintf(id, sizeof(id), "env-%s-%d", env_tag, k);
		snprintf(user, sizeof(user), "U%d%s", k, user_tag);
		slash(c, id, user, "status neo4j");
	}
	for (int k = 0; k < n; k++) {
		char needle[64];

		snprintf(user, sizeof(user), "U%d%s", k, user_tag);
		snprintf(needle, sizeof(needle), "\"user\":\"%s\"", user);
		cr_assert(fake_slack_wait_matching(c->fake, "chat.postEphemeral", needle, answers, WAIT_MS),
			  "%s not answered", user);
	}
}

/* Each of n status commands (ids env-<tag>-<k>, user U<k><tag>) acked and answered. */
static void status_burst(cluster *c, const char *tag, int n)
{
	status_burst_as(c, tag, tag, n, 1);
}

/* After the replicas stopped: each of status_burst's users got exactly `answers` replies. */
static void answered_n(cluster *c, const char *tag, int n, size_t answers)
{
	for (int k = 0; k < n; k++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\"user\":\"U%d%s\"", k, tag);
		cr_expect_eq(fake_slack_calls_matching(c->fake, "chat.postEphemeral", needle), answers,
			     "%s answered %zu times", needle, fake_slack_calls_matching(c->fake, "chat.postEphemeral", needle));
	}
}

static void answered_once(cluster *c, const char *tag, int n)
{
	answered_n(c, tag, n, 1);
}

/* The "not run" replies (storage unavailable) to users U<k><tag>. */
static size_t told_not_run(cluster *c, const char *tag, int n)
{
	size_t told = 0;
	fake_slack_call call;

	for (size_t i = 0; fake_slack_call_get(c->fake, "chat.postEphemeral", i, &call); i++) {
		for (int k = 0; k < n; k++) {
			char needle[64];

			snprintf(needle, sizeof(needle), "\"user\":\"U%d%s\"", k, tag);
			if (strstr(call.body, needle) && strstr(call.body, "was *not run*"))
				told++;
		}
		fake_slack_call_deinit(&call);
	}
	return told;
}

/*
 * The PostgreSQL server goes away under two replicas taking commands, and
 * comes back: while it is down each replica says so in its log, commands are
 * still acked and each caller is told once that storage is unavailable and
 * the command was NOT run (its de-dup claim could not be recorded: run
 * anyway, a Slack retry could run it twice); once it is back both reconnect
 * by themselves, the same commands typed again are answered once, the
 * promotion walks on across the replicas and nothing committed before the
 * restart is lost: one promotion, its whole trail. No command is silently
 * dropped or run twice.
 */
Test(replicas, postgresql_restarted_under_load_the_replicas_reconnect_and_lose_nothing, .timeout = 300)
{
	cluster c;

	if (!st_pg())
		cr_skip_test("PostgreSQL only (replicas_pg restarts the server of scripts/pg-env.sh)");
	cluster_start(&c, "", STAGING_IMAGE);
	fake_slack_set_distribution(c.fake, FAKE_SLACK_ROUND_ROBIN);
	slash_on(&c, 0, "env-pg-req", "U0ALICE", "request neo4j staging");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions", 1, WAIT_MS));
	status_burst(&c, "BEFORE", 6);

	pg_server("down");
	status_burst(&c, "DOWN", 6);
	for (int i = 0; i < NREP; i++) {
		int64_t deadline = tp_now_ms() + WAIT_MS;

		while (!log_has(&c, i, "connection to PostgreSQL lost") && tp_now_ms() < deadline)
			tp_pause();
		cr_expect(log_has(&c, i, "connection to PostgreSQL lost"), "replica %d did not say PostgreSQL is gone", i);
	}
	cr_expect_eq(told_not_run(&c, "DOWN", 6), 6, "a command run (or dropped) while PostgreSQL was down");
	pg_server("up");
	/* the same commands, typed again by the same users */
	status_burst_as(&c, "DOWN-again", "DOWN", 6, 2);

	slash_on(&c, 1, "env-pg-validate", "U0ALICE", "validate neo4j");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions WHERE state = 'in_review'", 1, WAIT_MS), "not validated");
	slash_on(&c, 0, "env-pg-approve", "U0BOB", "approve neo4j");
	cr_assert(db_wait(&c, "SELECT count(*) FROM promotions WHERE state = 'approved'", 1, WAIT_MS), "not approved");
	status_burst(&c, "AFTER", 6);
	for (int i = 0; i < NREP; i++) {
		cr_expect(log_has(&c, i, "reconnected to PostgreSQL"), "replica %d never said it reconnected", i);
		cr_expect_eq(replica_stop(&c, i), 0, "replica %d did not stop cleanly", i);
	}
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM promotions"), 1);
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM events WHERE kind = 'state'"), 3);
	cr_expect_eq(db_int(&c, "SELECT count(*) FROM events"), 5);
	cr_expect_eq(fake_slack_ack_count(c.fake), 6 * 4 + 3, "an envelope acked twice or never");
	answered_once(&c, "BEFORE", 6);
	answered_n(&c, "DOWN", 6, 2);
	cr_expect_eq(told_not_run(&c, "DOWN", 6), 6, "typed again after the restart, told 'not run' again");
	answered_once(&c, "AFTER", 6);
	cluster_finish(&c);
}

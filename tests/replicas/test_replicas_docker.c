/* test_replicas_docker.c — two replicas deploying on the real engine: SIGKILL of one in the middle of a deploy. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "fixture.h"
#include "st_helpers.h"
#include "testproc.h"

#define PW "replicas-docker-pw-41"
/* ha.lease_s at the validator's minimum: a dead deployer's component lease runs out soon */
#define LEASE_S 5

/* One test's world: the cluster, the engine, the component's container and the gate of its starts. */
typedef struct world {
	cluster c;
	pb_docker *dk;
	char name[128];         /* neo4j's staging container (this run's prefix: the fixture removes it after) */
	char ctl[256];          /* bound read-only into the container as /ctl */
	char hold[320];         /* while ctl/hold exists a starting container does not listen yet */
	int port;
} world;

/*
 * neo4j's staging on the engine: the fixture's neo4j fake (validation: five
 * Cypher queries), started by a shell that waits while /ctl/hold exists — the
 * test holds a new container between "started" and "validated" for as long as
 * it wants, without any test-only path in the product. No container
 * healthcheck (it would turn the held container unhealthy and end the deploy
 * by itself): the validation's first contact is retried for healthy_timeout_s.
 */
static char *staging_json(const world *w)
{
	char cmd[256], bind[300];
	cJSON *env = fx_neo4j_staging(w->name, w->port);
	char *text;

	snprintf(cmd, sizeof(cmd), "while test -e /ctl/hold; do sleep 0.1; done; exec /bin/neo4j_fake --port %d",
		 w->port);
	snprintf(bind, sizeof(bind), "%s:/ctl:ro", w->ctl);
	cJSON_DeleteItemFromObject(env, "healthcheck");
	cJSON_ReplaceItemInObject(env, "cmd", fx_str_array((const char *[]){ "/bin/sh", "-c", cmd, NULL }));
	cJSON_AddItemToObject(env, "volumes", fx_str_array((const char *[]){ bind, NULL }));
	text = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	cr_assert_not_null(text);
	return text;
}

static void world_start(world *w)
{
	char extra[512], *staging;

	memset(w, 0, sizeof(*w));
	setenv("PB_TEST_NEO4J_AUTH", "neo4j/" PW, 1);
	setenv("PB_TEST_NEO4J_PW", PW, 1);
	snprintf(w->name, sizeof(w->name), "%srep%ld", fx_prefix(), (long)getpid());
	snprintf(w->ctl, sizeof(w->ctl), "/tmp/pb-repctl-XXXXXX");
	cr_assert_not_null(mkdtemp(w->ctl));
	snprintf(w->hold, sizeof(w->hold), "%s/hold", w->ctl);
	w->port = fx_free_port();
	cr_assert_gt(w->port, 0);
	w->dk = fx_docker();
	snprintf(extra, sizeof(extra),
		 " \"docker\": {\"host\": \"%s\"},\n"
		 " \"ha\": {\"lease_s\": %d, \"leader_lease_s\": 3},\n", getenv("DOCKER_HOST"), LEASE_S);
	staging = staging_json(w);
	cluster_start(&w->c, extra, staging);
	free(staging);
}

static void world_finish(world *w)
{
	cluster_finish(&w->c);
	pb_docker_free(w->dk);
	tp_remove_dir(w->ctl);
}

/* The container named ref on the engine: 0, or PB_E_NOTFOUND (asserted to be `want`). */
static void inspect(world *w, const char *ref, pb_docker_state *st, int want)
{
	pb_err e;
	int r;

	pb_err_init(&e);
	memset(st, 0, sizeof(*st));
	r = pb_docker_container_inspect(w->dk, ref, st, &e);
	cr_assert_eq(r, want, "inspect %s: %d (%s), expected %d", ref, r, pb_err_text(&e), want);
}

/* Polls the engine until a container other than `old_id` is under the name; its id goes to new_id. */
static bool wait_new_container(world *w, const char *old_id, char *new_id, size_t size)
{
	int64_t deadline = tp_now_ms() + WAIT_MS;
	pb_docker_state st;
	pb_err e;

	for (;;) {
		pb_err_init(&e);
		if (pb_docker_container_inspect(w->dk, w->name, &st, &e) == 0 && strcmp(st.id, old_id) != 0) {
			snprintf(new_id, size, "%s", st.id);
			return true;
		}
		if (tp_now_ms() > deadline)
			return false;
		tp_pause();
	}
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fclose(f);
}

/* The newest promotion's id. */
static int64_t last_promotion(const world *w)
{
	return db_int(&w->c, "SELECT max(id) FROM promotions");
}

static bool state_is(const world *w, int64_t id, const char *state, int timeout_ms)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM promotions WHERE id = %lld AND state = '%s'", (long long)id,
		 state);
	return db_wait(&w->c, sql, 1, timeout_ms);
}

/* request → validate → approve of a new promotion to staging, on replica i; its id. */
static int64_t approve_on(world *w, int i, const char *tag)
{
	char env[64];
	int64_t id;

	snprintf(env, sizeof(env), "env-%s-req", tag);
	slash_on(&w->c, i, env, "U0ALICE", "request neo4j staging");
	cr_assert(db_wait(&w->c, "SELECT count(*) FROM promotions WHERE state = 'requested'", 1, WAIT_MS),
		  "%s: not requested", tag);
	id = last_promotion(w);
	snprintf(env, sizeof(env), "env-%s-validate", tag);
	slash_on(&w->c, i, env, "U0ALICE", "validate neo4j");
	cr_assert(state_is(w, id, "in_review", WAIT_MS), "%s: not validated", tag);
	snprintf(env, sizeof(env), "env-%s-approve", tag);
	slash_on(&w->c, i, env, "U0BOB", "approve neo4j");
	cr_assert(state_is(w, id, "approved", WAIT_MS), "%s: not approved", tag);
	return id;
}

/* chat.postMessage calls in the thread `ts` that hold `needle`. */
static size_t in_thread(world *w, const char *ts, const char *needle)
{
	char thread[64];
	fake_slack_call call;
	size_t n = 0;

	snprintf(thread, sizeof(thread), "\"thread_ts\":\"%s\"", ts);
	for (size_t i = 0; fake_slack_call_get(w->c.fake, "chat.postMessage", i, &call); i++) {
		if (call.ok && strstr(call.body, thread) && strstr(call.body, needle))
			n++;
		fake_slack_call_deinit(&call);
	}
	return n;
}

#define RECOVERY_LEASE "SELECT %s FROM leases WHERE name = 'component:neo4j' AND purpose = 'recover an interrupted deploy'"

/*
 * The restore takes longer than ha.lease_s (v1, started again, is held before
 * it listens, as a slow database would be): the recovering replica keeps
 * renewing the component lease, so a deploy typed meanwhile is told the
 * component is busy instead of taking the lease over and restoring a second
 * time. Then v1 is let through.
 */
static void restore_outlasts_the_lease(world *w, int survivor, int64_t p2)
{
	char sql[300];
	int64_t acquired, deadline = tp_now_ms() + WAIT_MS;

	snprintf(sql, sizeof(sql), RECOVERY_LEASE, "coalesce(max(acquired_at), 0)"); /* a row even without one */
	while ((acquired = db_int(&w->c, sql)) <= 0 && tp_now_ms() < deadline)
		tp_pause();
	cr_assert_gt(acquired, 0, "the survivor never took the lease to recover the deploy");
	/* past the point where the lease, never renewed, would have expired */
	while ((int64_t)time(NULL) <= acquired + LEASE_S + 1 && tp_now_ms() < deadline + WAIT_MS)
		tp_pause();
	cr_assert(state_is(w, p2, "deploying", 0), "the restore ended while v1 was held");
	snprintf(sql, sizeof(sql), RECOVERY_LEASE " AND expires_at > %lld", "count(*)", (long long)time(NULL));
	cr_expect_eq(db_int(&w->c, sql), 1, "the recovering replica let its lease expire mid-restore");
	slash_on(&w->c, survivor, "env-p2-typed", "U0CAROL", "deploy neo4j");
	cr_expect(fake_slack_wait_matching(w->c.fake, "chat.postEphemeral", "is busy: recover an interrupted deploy", 1,
					   WAIT_MS), "the typed deploy was not told the component is busy");
	unlink(w->hold);
}

/*
 * neo4j was deployed once on staging (v1 running, its promotion over); the
 * next deploy runs on replica `victim` and is SIGKILLed once its new
 * container exists (held before it listens). The other replica — the leader,
 * or, when the victim led, the replica that takes the lead over from it —
 * finds the promotion deploying under the dead one's expired component lease
 * and ends it: the half-made container removed, v1 back under its name,
 * started and validated, the deployment rolled back, the promotion failed,
 * "💥 Deploy interrupted" once in its thread, the lease released. Then a new
 * promotion deploys on the survivor like any other.
 */
static void sigkill_mid_deploy(bool kill_leader, bool slow_restore)
{
	char v1[80], half[80], prev[200], ts[32], sql[320], owner[48];
	int leader, victim, survivor;
	int64_t p2, p3, lease_expiry;
	pb_docker_state st;
	world w;

	world_start(&w);
	leader = wait_leader(&w.c, "leader: acquired", WAIT_MS);
	cr_assert_geq(leader, 0, "nobody took the scheduler lease");
	victim = kill_leader ? leader : 1 - leader;
	survivor = 1 - victim;

	/* the first deployment: v1 runs under the name */
	walk_to_observing(&w.c, ts, sizeof(ts));
	inspect(&w, w.name, &st, 0);
	cr_assert(st.running);
	snprintf(v1, sizeof(v1), "%s", st.id);
	cr_assert(fx_wait_port(w.port, WAIT_MS), "v1 does not answer");
	/* its week of observation is over (not the test's time): closed as an operator would, neo4j promotable again */
	db_exec(&w.c, "UPDATE promotions SET state = 'completed' WHERE state = 'observing'");

	/* the next deploy on the victim, held once its new container runs */
	p2 = approve_on(&w, survivor, "p2");
	touch(w.hold);
	slash_on(&w.c, victim, "env-p2-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(wait_new_container(&w, v1, half, sizeof(half)), "the new container never appeared");
	snprintf(prev, sizeof(prev), "%s-previous-%lld", w.name, (long long)p2);
	inspect(&w, prev, &st, 0);
	cr_assert_str_eq(st.id, v1, "v1 moved aside as %s", prev);
	cr_assert_not(st.running, "v1 stopped");
	cr_assert(state_is(&w, p2, "deploying", 0), "the deploy ended before the kill");
	snprintf(owner, sizeof(owner), ":%ld:", (long)w.c.r[victim].pid);
	snprintf(sql, sizeof(sql), "SELECT coalesce(max(expires_at), 0) FROM leases WHERE name = 'component:neo4j'"
		 " AND owner LIKE '%%%s%%'",
		 owner);
	lease_expiry = db_int(&w.c, sql); /* a renewal may still push it later: a lower bound */
	cr_assert_gt(lease_expiry, 0, "the deployer holds no component lease");
	replica_kill(&w.c, victim);
	if (!slow_restore)
		unlink(w.hold); /* from now on a started container listens */

	if (kill_leader)
		cr_assert_eq(wait_leader(&w.c, "leader: acquired (was ", WAIT_MS), survivor,
			     "the survivor did not take the lead over");
	if (slow_restore)
		restore_outlasts_the_lease(&w, survivor, p2);
	cr_assert(state_is(&w, p2, "failed", WAIT_MS), "the interrupted deploy was not recovered");

	/* the record */
	cr_expect_eq(db_int(&w.c, "SELECT count(*) FROM promotions WHERE state = 'deploying'"), 0, "stuck deploying");
	/* released once the command or the sweep is over, just after the transition */
	cr_expect(db_wait(&w.c, "SELECT count(*) FROM leases WHERE name = 'component:neo4j'", 0, WAIT_MS),
		  "the component lease is still held");
	snprintf(sql, sizeof(sql), "SELECT min(at) FROM events WHERE promotion_id = %lld AND to_state = 'failed'",
		 (long long)p2);
	cr_expect_geq(db_int(&w.c, sql), lease_expiry, "recovered before the deployer's lease expired");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE promotion_id = %lld AND to_state = 'failed'"
		 " AND actor = 'promobot' AND detail LIKE 'deploy interrupted%%(previous container restored)'",
		 (long long)p2);
	cr_expect_eq(db_int(&w.c, sql), 1, "the failure is not recorded as an interrupted deploy, restored");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM deployments WHERE promotion_id = %lld AND status = 'rolled_back'",
		 (long long)p2);
	cr_expect_eq(db_int(&w.c, sql), 1, "the deployment is not recorded rolled back");
	cr_expect(log_has(&w.c, survivor, "the deploy in progress was interrupted"), "the survivor did not log it");

	/* the engine: v1 back under its name and answering, the half-made one gone */
	inspect(&w, w.name, &st, 0);
	cr_expect_str_eq(st.id, v1, "the container under the name is not v1");
	cr_expect(st.running, "v1 is not running");
	inspect(&w, prev, &st, PB_E_NOTFOUND);
	inspect(&w, half, &st, PB_E_NOTFOUND);
	cr_expect(fx_wait_port(w.port, WAIT_MS), "v1 does not answer after the restore");

	/* the thread: said once (the card is posted after the transition is stored) */
	cr_assert(fake_slack_wait_matching(w.c.fake, "chat.postMessage", "Deploy interrupted", 1, WAIT_MS),
		  "\"Deploy interrupted\" never posted");
	cr_assert_eq(parent_nth(&w.c, 1, ts, sizeof(ts)), 2, "one thread per promotion");
	cr_expect_eq(in_thread(&w, ts, "Deploy interrupted"), 1, "\"Deploy interrupted\" posted %zu times",
		     in_thread(&w, ts, "Deploy interrupted"));
	cr_expect_eq(fake_slack_calls_matching(w.c.fake, "chat.postMessage", "Deploy interrupted"), 1);

	/* the survivor deploys the next promotion: completed path, v1 kept aside for a rollback */
	p3 = approve_on(&w, survivor, "p3");
	slash_on(&w.c, survivor, "env-p3-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(state_is(&w, p3, "observing", 2 * WAIT_MS), "the deploy after the recovery did not succeed");
	inspect(&w, w.name, &st, 0);
	cr_expect(st.running);
	cr_expect_str_neq(st.id, v1, "no new container under the name");
	snprintf(prev, sizeof(prev), "%s-previous-%lld", w.name, (long long)p3);
	inspect(&w, prev, &st, 0);
	cr_expect_str_eq(st.id, v1, "v1 is not the one kept for rollback");
	cr_expect(fx_wait_port(w.port, WAIT_MS));
	cr_expect(db_wait(&w.c, "SELECT count(*) FROM leases WHERE name = 'component:neo4j'", 0, WAIT_MS),
		  "the component lease is still held after the deploy");
	cr_expect_eq(fake_slack_calls_matching(w.c.fake, "chat.postMessage", "Deploy interrupted"), 1,
		     "an interrupted deploy said again");
	world_finish(&w);
}

/*
 * The component's first deployment (nothing to replace) is SIGKILLed once its
 * container exists: the leader removes that half-made container — nothing
 * runs under the name that no deploy validated, and the next deploy does not
 * keep it "for rollback" — records the promotion failed and says so once;
 * then the next promotion deploys.
 */
Test(replicas_docker, a_first_deploy_sigkilled_mid_way_leaves_no_container_behind, .timeout = 600)
{
	char half[80], ts[32], sql[320];
	int leader, victim;
	int64_t p1, p2;
	pb_docker_state st;
	world w;

	world_start(&w);
	leader = wait_leader(&w.c, "leader: acquired", WAIT_MS);
	cr_assert_geq(leader, 0, "nobody took the scheduler lease");
	victim = 1 - leader;
	p1 = approve_on(&w, leader, "p1");
	touch(w.hold);
	slash_on(&w.c, victim, "env-p1-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(wait_new_container(&w, "", half, sizeof(half)), "the container never appeared");
	cr_assert(state_is(&w, p1, "deploying", 0), "the deploy ended before the kill");
	replica_kill(&w.c, victim);
	unlink(w.hold);
	cr_assert(state_is(&w, p1, "failed", WAIT_MS), "the interrupted deploy was not recovered");

	inspect(&w, w.name, &st, PB_E_NOTFOUND);
	inspect(&w, half, &st, PB_E_NOTFOUND);
	cr_expect_eq(db_int(&w.c, "SELECT count(*) FROM promotions WHERE state = 'deploying'"), 0, "stuck deploying");
	/* released once the command or the sweep is over, just after the transition */
	cr_expect(db_wait(&w.c, "SELECT count(*) FROM leases WHERE name = 'component:neo4j'", 0, WAIT_MS),
		  "the component lease is still held");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM deployments WHERE promotion_id = %lld AND status = 'failed'",
		 (long long)p1);
	cr_expect_eq(db_int(&w.c, sql), 1, "the deployment is not recorded failed");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE promotion_id = %lld AND to_state = 'failed'"
		 " AND detail LIKE 'deploy interrupted%%' AND detail NOT LIKE '%%restore%%'", (long long)p1);
	cr_expect_eq(db_int(&w.c, sql), 1, "the failure is not recorded as an interrupted deploy");
	cr_assert(fake_slack_wait_matching(w.c.fake, "chat.postMessage", "Deploy interrupted", 1, WAIT_MS),
		  "\"Deploy interrupted\" never posted");
	cr_assert_eq(parents(&w.c, ts, sizeof(ts)), 1);
	cr_expect_eq(in_thread(&w, ts, "Deploy interrupted"), 1);
	cr_expect_eq(in_thread(&w, ts, "Cleaned up"), 1, "the removal is not said in the thread");

	p2 = approve_on(&w, leader, "p2");
	slash_on(&w.c, leader, "env-p2-deploy", "U0CAROL", "deploy neo4j");
	cr_assert(state_is(&w, p2, "observing", 2 * WAIT_MS), "the deploy after the recovery did not succeed");
	inspect(&w, w.name, &st, 0);
	cr_expect(st.running);
	cr_expect(fx_wait_port(w.port, WAIT_MS));
	world_finish(&w);
}

TestSuite(replicas_docker, .timeout = 600);

Test(replicas_docker, sigkill_of_a_follower_mid_deploy_the_leader_restores_the_previous_container)
{
	sigkill_mid_deploy(false, false);
}

Test(replicas_docker, sigkill_of_the_leader_mid_deploy_the_survivor_leads_then_restores)
{
	sigkill_mid_deploy(true, false);
}

Test(replicas_docker, a_restore_longer_than_the_lease_keeps_it_and_a_typed_deploy_is_told_busy)
{
	sigkill_mid_deploy(false, true);
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "replicas/docker");
}

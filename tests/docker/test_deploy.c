/* test_deploy.c — the deploy flow against a real engine: happy path, health gating, validation, rollback, refusals. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker.h"
#include "fixture.h"
#include "neo4j.h"
#include "pb_card.h"
#include "pb_deploy.h"
#include "pb_store.h"

#define PW "deploy-test-pw-42"

/* ---- per-test world: store, engine, sink ---- */

static char DB[64];
static pb_store *S;
static pb_config CFG;
static struct pb_engine *ENG;
static pb_services SVC;  /* CFG, S and ENG as handlers see them (system clock: real containers) */
static pb_buf OUT;      /* every card emitted, rendered as text */
static pb_docker *D;    /* an independent client to look at the engine */

static void (*ON_CARD)(const pb_card *card); /* a test's hook into the flow, NULL: none */

static void sink_emit(pb_sink *sink, const pb_card *card)
{
	(void)sink;
	pb_card_render_text(card, &OUT);
	pb_buf_puts(&OUT, "\n");
	if (ON_CARD)
		ON_CARD(card);
}

static pb_sink SINK = { .emit = sink_emit };

static void setup(void)
{
	pb_err e;

	pb_err_init(&e);
	snprintf(DB, sizeof(DB), "/tmp/pbdeploy-%d.db", getpid());
	unlink(DB);
	cr_assert_eq(pb_store_open(DB, &S, &e), 0, "%s", pb_err_text(&e));
	memset(&CFG, 0, sizeof(CFG));
	CFG.storage_path = DB;  /* the lease keeper opens a connection of its own */
	CFG.docker_enabled = true;
	CFG.docker.timeout_s = 60;
	cr_assert_eq(pb_engine_new(&CFG, &ENG, &e), 0, "%s", pb_err_text(&e));
	cr_assert_not_null(ENG);
	pb_buf_init(&OUT);
	D = fx_docker();
	setenv("PB_TEST_NEO4J_AUTH", "neo4j/" PW, 1);
	setenv("PB_TEST_NEO4J_PW", PW, 1);
}

static void teardown(void)
{
	ON_CARD = NULL;
	/* PB_TEST_SHOW_CARDS=1 prints what the thread would have seen. */
	if (getenv("PB_TEST_SHOW_CARDS"))
		fprintf(stderr, "---- cards ----\n%s\n", pb_buf_str(&OUT));
	pb_docker_free(D);
	pb_engine_free(ENG);
	pb_store_close(S);
	pb_buf_deinit(&OUT);
	unlink(DB);
}

TestSuite(deploy, .init = setup, .fini = teardown, .timeout = 240);

/* ---- a component deployed as the neo4j fake in a host-network container ---- */

typedef struct tcomp {
	pb_component comp;
	pb_deploy_cfg d;
	char id[96];
	char url[64];
	char port_s[16];
	char image[300];
	char *cmd[16];
	char *hc[8];
	pb_port_cfg port;
	pb_envvar_cfg env;
} tcomp;

/* fake_args: extra neo4j_fake flags (NULL-terminated) making this version misbehave. */
static void tcomp_init(tcomp *t, const char *suffix, int port, const char *const *fake_args, bool sick)
{
	int i = 0, k;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s%s", fx_prefix(), suffix);
	snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", port);
	snprintf(t->port_s, sizeof(t->port_s), "%d", port);
	snprintf(t->image, sizeof(t->image), "%s", fx_image());
	t->cmd[i++] = "/bin/neo4j_fake";
	t->cmd[i++] = "--port";
	t->cmd[i++] = t->port_s;
	for (k = 0; fake_args && fake_args[k] && i < 15; k++)
		t->cmd[i++] = (char *)fake_args[k];
	t->d.ncmd = (size_t)i;
	t->d.cmd = t->cmd;
	if (sick) {
		t->hc[0] = "CMD";
		t->hc[1] = "false";
		t->d.container_health.ntest = 2;
	} else {
		t->hc[0] = "CMD";
		t->hc[1] = "/bin/neo4j_fake";
		t->hc[2] = "--health";
		t->hc[3] = "--port";
		t->hc[4] = t->port_s;
		t->d.container_health.ntest = 5;
	}
	t->d.container_health.test = t->hc;
	t->d.container_health.interval_s = 1;
	t->d.container_health.timeout_s = 3;
	t->d.container_health.retries = 2;
	t->comp.id = t->id;
	t->comp.name = t->id;
	t->d.stage = PB_STAGE_STAGING;
	t->d.present = true;
	t->d.image = t->image;
	t->d.container_name = t->id;
	t->d.pull = PB_PULL_MISSING;
	t->port.container_port = port;
	t->port.host_port = port;
	t->port.host_ip = "127.0.0.1";
	t->port.proto = "tcp";
	t->d.ports = &t->port;
	t->d.nports = 1;
	t->env.name = "NEO4J_AUTH";
	t->env.value_env = "PB_TEST_NEO4J_AUTH";
	t->env.secret = true;
	t->d.env = &t->env;
	t->d.nenv = 1;
	t->d.network_mode = "host";
	t->d.healthy_timeout_s = 30;
	t->d.health.kind = PB_HEALTH_NEO4J;
	t->d.health.url = t->url;
	t->d.health.user = "neo4j";
	t->d.health.password_env = "PB_TEST_NEO4J_PW";
	t->d.health.timeout_ms = 1000;
	t->d.health.queries = 5;
}

/* A fresh approved-and-deploying style promotion row (state does not matter to the engine). */
static pb_promotion new_promotion(const tcomp *t)
{
	pb_promotion p, open;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_store_component_ensure(S, t->id, 0, pb_clock_now(NULL), &e), 0, "%s", pb_err_text(&e));
	if (pb_store_promotion_open_for(S, t->id, &open, &e) == 0)
		cr_assert_eq(pb_store_promotion_set_state(S, open.id, open.state, PB_ST_COMPLETED, pb_clock_now(NULL), &e), 0, "%s",
			     pb_err_text(&e));
	pb_err_init(&e);
	memset(&p, 0, sizeof(p));
	snprintf(p.component, sizeof(p.component), "%s", t->id);
	p.from_stage = 0;
	p.target_stage = 1;
	snprintf(p.requester, sizeof(p.requester), "alice");
	p.created_at = pb_clock_now(NULL);
	cr_assert_eq(pb_store_promotion_insert(S, &p, &e), 0, "%s", pb_err_text(&e));
	return p;
}

static pb_cmd_ctx new_ctx(void)
{
	pb_cmd_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	SVC.cfg = &CFG;
	SVC.store = S;
	SVC.engine = ENG;
	SVC.clock = pb_clock_system();
	SVC.lock_owner = "test-deploy";
	ctx.svc = &SVC;
	ctx.caller.id = "alice";
	ctx.sink = &SINK;
	pb_err_init(&ctx.err);
	return ctx;
}

static int deploy(tcomp *t, pb_promotion *p, pb_deploy_outcome *out, pb_cmd_ctx *ctx)
{
	*p = new_promotion(t);
	*ctx = new_ctx();
	return pb_deploy_execute(ctx, &t->comp, &t->d, p, out);
}

/* The Neo4j API on port answers discovery (i.e. the deployed container serves). */
static bool answers(int port)
{
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_info info;
	pb_err e;
	bool ok;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url, "neo4j", PW, NULL, 2000, &n), 0);
	ok = pb_neo4j_discover(n, &info, &e) == 0;
	pb_neo4j_free(n);
	return ok;
}

static void container_state(const char *name, pb_docker_state *st, int expect)
{
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_inspect(D, name, st, &e), expect, "%s: %s", name, pb_err_text(&e));
}

static void assert_no_secret_leak(void)
{
	cr_assert_null(strstr(pb_buf_str(&OUT), PW), "the secret appeared in a card");
}

/* ---- cases ---- */

Test(deploy, happy_path_redeploy_and_on_demand_rollback)
{
	int port = fx_free_port();
	tcomp t;
	pb_promotion p1, p2;
	pb_deploy_outcome out;
	pb_deployment dep;
	pb_docker_state st, prev;
	pb_cmd_ctx ctx;
	char prev_name[200];
	char v1_id[80];
	pb_err e;
	int r;

	tcomp_init(&t, "happy", port, NULL, false);
	r = deploy(&t, &p1, &out, &ctx);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	cr_assert_not(out.rolled_back);
	cr_assert_eq(out.cause[0], '\0');
	container_state(t.id, &st, 0);
	cr_assert(st.running);
	cr_assert_str_eq(st.health, "healthy");
	snprintf(v1_id, sizeof(v1_id), "%s", st.id);
	cr_assert(answers(port));
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_latest(S, p1.id, &dep, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(dep.status, "succeeded");
	cr_assert_str_eq(dep.container_id, st.id);
	cr_assert_str_eq(dep.container_name, t.id);
	cr_assert_str_eq(dep.environment, "staging");
	cr_assert(strncmp(dep.image_id, "sha256:", 7) == 0, "%s", dep.image_id);
	cr_assert(strstr(dep.ports, "127.0.0.1:"), "%s", dep.ports);
	cr_assert_eq(dep.previous_container[0], '\0');
	cr_assert_gt(dep.finished_at, 0);
	/* Evidence in the thread: validation steps and timings. */
	cr_assert(strstr(pb_buf_str(&OUT), "Post-deployment validation"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "probe write"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "p95"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "5.13.0"), "%s", pb_buf_str(&OUT));

	/* A second promotion replaces it and keeps the first as <name>-previous-<id>. */
	pb_buf_reset(&OUT);
	r = deploy(&t, &p2, &out, &ctx);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	snprintf(prev_name, sizeof(prev_name), "%s-previous-%lld", t.id, (long long)p2.id);
	container_state(prev_name, &prev, 0);
	cr_assert_str_eq(prev.id, v1_id);
	cr_assert_not(prev.running);
	container_state(t.id, &st, 0);
	cr_assert_str_neq(st.id, v1_id);
	cr_assert(st.running);
	cr_assert(answers(port));
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_latest(S, p2.id, &dep, &e), 0);
	cr_assert_str_eq(dep.previous_container, prev_name);

	/* On-demand rollback brings v1 back under the original name. */
	pb_buf_reset(&OUT);
	ctx = new_ctx();
	r = pb_rollback_execute(&ctx, &t.comp, &t.d, &p2, &out);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	cr_assert(out.rolled_back);
	cr_assert(out.rollback_ok);
	container_state(t.id, &st, 0);
	cr_assert_str_eq(st.id, v1_id);
	cr_assert(st.running);
	container_state(prev_name, &prev, PB_E_NOTFOUND);
	cr_assert(answers(port));
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_latest(S, p2.id, &dep, &e), 0);
	cr_assert_str_eq(dep.status, "rolled_back");
	assert_no_secret_leak();
}

/* Deploys a good v1, then a bad v2; asserts the automatic rollback restored v1. */
static void bad_version_rolls_back(const char *suffix, const char *const *args, bool sick, const char *cause)
{
	int port = fx_free_port();
	tcomp good, bad;
	pb_promotion p1, p2;
	pb_deploy_outcome out;
	pb_deployment dep;
	pb_docker_state st;
	pb_cmd_ctx ctx;
	char v1_id[80], prev_name[200];
	pb_err e;
	int r;

	tcomp_init(&good, suffix, port, NULL, false);
	r = deploy(&good, &p1, &out, &ctx);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	container_state(good.id, &st, 0);
	snprintf(v1_id, sizeof(v1_id), "%s", st.id);

	tcomp_init(&bad, suffix, port, args, sick);
	bad.d.health.timeout_ms = 500;
	pb_buf_reset(&OUT);
	r = deploy(&bad, &p2, &out, &ctx);
	cr_assert_eq(r, PB_E_FAILED, "%s", pb_buf_str(&OUT));
	cr_assert(strstr(out.cause, cause), "cause: %s", out.cause);
	cr_assert(strstr(pb_err_text(&ctx.err), cause), "err: %s", pb_err_text(&ctx.err));
	cr_assert(out.rolled_back);
	cr_assert(out.rollback_ok, "%s", pb_buf_str(&OUT));
	/* v1 is back under its name, running, and answering again. */
	container_state(good.id, &st, 0);
	cr_assert_str_eq(st.id, v1_id);
	cr_assert(st.running);
	cr_assert(answers(port));
	snprintf(prev_name, sizeof(prev_name), "%s-previous-%lld", good.id, (long long)p2.id);
	container_state(prev_name, &st, PB_E_NOTFOUND);
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_latest(S, p2.id, &dep, &e), 0);
	cr_assert_str_eq(dep.status, "rolled_back");
	cr_assert(strstr(dep.detail, cause), "%s", dep.detail);
	cr_assert(strstr(pb_buf_str(&OUT), "Rolled back"), "%s", pb_buf_str(&OUT));
	assert_no_secret_leak();
}

Test(deploy, unhealthy_container_rolls_back)
{
	bad_version_rolls_back("sick", NULL, true, "is unhealthy");
}

Test(deploy, cypher_error_rolls_back)
{
	const char *args[] = { "--cypher-error", NULL };

	bad_version_rolls_back("cypher", args, false, "Neo.ClientError.Statement.SyntaxError");
}

Test(deploy, auth_failure_rolls_back)
{
	const char *args[] = { "--unauthorized", NULL };

	bad_version_rolls_back("auth", args, false, "refused the credentials (HTTP 401");
}

Test(deploy, validation_timeout_rolls_back)
{
	const char *args[] = { "--slow-ms", "3000", NULL };

	bad_version_rolls_back("slow", args, false, "Timeout was reached");
}

Test(deploy, neo4j_dying_mid_validation_rolls_back)
{
	const char *args[] = { "--fail-after", "2", NULL };

	bad_version_rolls_back("crash", args, false, "validation failed at probe");
}

Test(deploy, port_held_by_a_process_is_refused_before_any_change)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	tcomp t;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_deployment dep;
	pb_docker_state st;
	pb_cmd_ctx ctx;
	char expect[64];
	pb_err e;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	port = ntohs(a.sin_port);
	tcomp_init(&t, "portproc", port, NULL, false);
	cr_assert_eq(deploy(&t, &p, &out, &ctx), PB_E_FAILED);
	snprintf(expect, sizeof(expect), "port %d is in use by another process", port);
	cr_assert(strstr(out.cause, expect), "%s", out.cause);
	cr_assert_not(out.rolled_back);
	container_state(t.id, &st, PB_E_NOTFOUND);
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_latest(S, p.id, &dep, &e), PB_E_NOTFOUND);
	close(fd);
}

Test(deploy, port_held_by_another_container_is_refused_and_named)
{
	const char *cmd[4];
	int port = fx_free_port();
	char port_s[16], squat[128], id[80], expect[200];
	pb_docker_create spec = { 0 };
	tcomp t;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_docker_state st;
	pb_cmd_ctx ctx;
	pb_err e;

	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(squat, sizeof(squat), "%ssquatter", fx_prefix());
	cmd[0] = "/bin/neo4j_fake";
	cmd[1] = "--port";
	cmd[2] = port_s;
	spec.name = squat;
	spec.image = fx_image();
	spec.cmd = cmd;
	spec.ncmd = 3;
	spec.network_mode = "host";
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_create(D, &spec, id, sizeof(id), &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_container_start(D, id, &e), 0, "%s", pb_err_text(&e));
	cr_assert(fx_wait_port(port, 20000));

	tcomp_init(&t, "victim", port, NULL, false);
	cr_assert_eq(deploy(&t, &p, &out, &ctx), PB_E_FAILED);
	snprintf(expect, sizeof(expect), "port %d is in use by container %s", port, squat);
	cr_assert(strstr(out.cause, expect), "%s", out.cause);
	container_state(t.id, &st, PB_E_NOTFOUND);
	/* The squatter was not touched. */
	container_state(squat, &st, 0);
	cr_assert(st.running);
}

Test(deploy, engine_unreachable_changes_nothing)
{
	struct pb_engine *bogus = NULL;
	const char *sock = "unix:///tmp/pb-no-engine-here/docker.sock";
	tcomp t;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_docker_state st;
	pb_services nosvc;
	pb_cmd_ctx ctx;
	pb_err e;

	tcomp_init(&t, "noengine", fx_free_port(), NULL, false);
	setenv("DOCKER_HOST", sock, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_engine_new(&CFG, &bogus, &e), 0);
	cr_assert_eq(pb_engine_check(bogus, &e), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&e), sock), "%s", pb_err_text(&e));
	p = new_promotion(&t);
	ctx = new_ctx();
	nosvc = SVC;
	nosvc.engine = bogus;
	ctx.svc = &nosvc;
	cr_assert_eq(pb_deploy_execute(&ctx, &t.comp, &t.d, &p, &out), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&ctx.err), "/tmp/pb-no-engine-here/docker.sock is unreachable"), "%s",
		  pb_err_text(&ctx.err));
	cr_assert(strstr(pb_buf_str(&OUT), "Nothing was changed"), "%s", pb_buf_str(&OUT));
	pb_engine_free(bogus);
	container_state(t.id, &st, PB_E_NOTFOUND);
}

Test(deploy, pull_error_is_surfaced_and_nothing_changes)
{
	const char *reg = fx_registry();
	tcomp t;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_docker_state st;
	pb_cmd_ctx ctx;

	cr_assert(reg, "PROMOBOT_REGISTRY is not set: run through scripts/docker-env.sh");
	tcomp_init(&t, "pullerr", fx_free_port(), NULL, false);
	snprintf(t.image, sizeof(t.image), "%s/promobot-test/neo4jfake:missing%d", reg, getpid());
	t.d.pull = PB_PULL_ALWAYS;
	cr_assert_eq(deploy(&t, &p, &out, &ctx), PB_E_FAILED);
	cr_assert(strstr(out.cause, "pull "), "%s", out.cause);
	cr_assert(strstr(out.cause, "manifest unknown") || strstr(out.cause, "not found"), "%s", out.cause);
	cr_assert(strstr(pb_buf_str(&OUT), "Pull failed"), "%s", pb_buf_str(&OUT));
	cr_assert_not(out.rolled_back);
	container_state(t.id, &st, PB_E_NOTFOUND);
}

Test(deploy, image_pulled_from_registry_then_deployed)
{
	const char *reg = fx_registry();
	char repo[256], tag[64], id[128];
	tcomp t;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_cmd_ctx ctx;
	pb_err e;
	int port = fx_free_port();

	cr_assert(reg, "PROMOBOT_REGISTRY is not set: run through scripts/docker-env.sh");
	tcomp_init(&t, "pulled", port, NULL, false);
	snprintf(repo, sizeof(repo), "%s/promobot-test/deployme", reg);
	snprintf(tag, sizeof(tag), "v%d", getpid());
	pb_err_init(&e);
	cr_assert_eq(pb_docker_image_tag(D, fx_image(), repo, tag, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_image_push(D, repo, tag, &e), 0, "%s", pb_err_text(&e));
	snprintf(t.image, sizeof(t.image), "%s:%s", repo, tag);
	cr_assert_eq(pb_docker_image_remove(D, t.image, false, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_image_inspect(D, t.image, id, sizeof(id), &e), PB_E_NOTFOUND);
	t.d.pull = PB_PULL_MISSING;
	cr_assert_eq(deploy(&t, &p, &out, &ctx), 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "Image pulled"), "%s", pb_buf_str(&OUT));
	cr_assert(answers(port));
	/* Clean up the container before its image. */
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_remove(D, t.id, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_image_remove(D, t.image, true, &e), 0, "%s", pb_err_text(&e));
}

Test(deploy, dry_run_plan_lists_names_not_secrets)
{
	tcomp t;
	pb_promotion p;
	pb_cmd_ctx ctx;
	pb_docker_state st;

	tcomp_init(&t, "plan", 7476, NULL, false);
	p = new_promotion(&t);
	ctx = new_ctx();
	cr_assert_eq(pb_deploy_plan(&ctx, &t.comp, &t.d, &p), 0, "%s", pb_err_text(&ctx.err));
	cr_assert(strstr(pb_buf_str(&OUT), fx_image()), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "NEO4J_AUTH (secret)"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "127.0.0.1:7476->7476/tcp"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "nothing was changed"), "%s", pb_buf_str(&OUT));
	assert_no_secret_leak();
	container_state(t.id, &st, PB_E_NOTFOUND);
}

/* Two workers deploy the same component at once: the per-component lock lets one run. */
typedef struct racer {
	const tcomp *t;
	const char *owner;
	pthread_barrier_t *go;
	int lock_r;
	int deploy_r;
	char err[PB_ERR_MSG_MAX];
} racer;

static void racer_sink(pb_sink *s, const pb_card *c)
{
	(void)s;
	(void)c;
}

static void *race(void *ud)
{
	racer *r = ud;
	pb_sink sink = { .emit = racer_sink };
	struct pb_engine *eng = NULL;
	pb_store *st = NULL;
	pb_promotion p;
	pb_deploy_outcome out;
	pb_cmd_ctx ctx;
	pb_err e;

	pb_err_init(&e);
	/* Each worker has its own connection and engine, as in the bot. */
	if (pb_store_open(DB, &st, &e) || pb_engine_new(&CFG, &eng, &e)) {
		r->lock_r = -1;
		goto out;
	}
	if (pb_store_promotion_open_for(st, r->t->id, &p, &e)) {
		r->lock_r = -1;
		goto out;
	}
	pthread_barrier_wait(r->go);
	r->lock_r = pb_store_lock_acquire(st, r->t->id, r->owner, "deploy", pb_clock_now(NULL), &e);
	snprintf(r->err, sizeof(r->err), "%s", pb_err_text(&e));
	if (r->lock_r == 0) {
		pb_services svc = { .cfg = &CFG, .store = st, .engine = eng, .clock = pb_clock_system(),
				    .lock_owner = r->owner };

		memset(&ctx, 0, sizeof(ctx));
		ctx.svc = &svc;
		ctx.sink = &sink;
		pb_err_init(&ctx.err);
		r->deploy_r = pb_deploy_execute(&ctx, &r->t->comp, &r->t->d, &p, &out);
		pb_store_lock_release(st, r->t->id, r->owner);
	}
out:
	pb_engine_free(eng);
	pb_store_close(st);
	return NULL;
}

Test(deploy, concurrent_deploys_one_runs_one_refused)
{
	tcomp t;
	pthread_barrier_t go;
	pthread_t th[2];
	racer r[2];
	int i, ran = 0, busy = 0;

	tcomp_init(&t, "race", fx_free_port(), NULL, false);
	new_promotion(&t);
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].t = &t;
		r[i].owner = i ? "worker-b" : "worker-a";
		r[i].go = &go;
		cr_assert_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(r[i].lock_r, -1, "worker setup failed");
		if (r[i].lock_r == 0) {
			ran++;
			cr_assert_eq(r[i].deploy_r, 0);
		} else {
			busy++;
			cr_assert_eq(r[i].lock_r, PB_E_BUSY, "%d %s", r[i].lock_r, r[i].err);
		}
	}
	/* The deploy takes seconds and both tried at the barrier: exactly one ran. */
	cr_assert_eq(ran, 1);
	cr_assert_eq(busy, 1);
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "docker/deploy");
}

/*
 * A replica died mid-deploy: it had stopped v1 and renamed it
 * <name>-previous-<id> (the new container not created yet) and its
 * component lease expired. The leader's sweep takes the lease over, sees
 * the half-done deploy on the engine, restores v1 under its name (started,
 * healthy, validated), records the deployment rolled back and the
 * promotion failed as interrupted, and says so in the thread.
 */
Test(deploy, an_interrupted_deploy_under_an_expired_lease_is_restored_by_the_leaders_sweep)
{
	int port = fx_free_port();
	const pb_component *index[1];
	tcomp t;
	pb_promotion p1, p2, now_p;
	pb_deploy_outcome out;
	pb_deployment dep;
	pb_docker_state st;
	pb_cmd_ctx ctx;
	char v1_id[80], prev_name[200];
	size_t recovered = 0;
	int64_t now = pb_clock_now(NULL);
	pb_err e;
	int r;

	tcomp_init(&t, "interrupted", port, NULL, false);
	r = deploy(&t, &p1, &out, &ctx);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	container_state(t.id, &st, 0);
	snprintf(v1_id, sizeof(v1_id), "%s", st.id);
	/* the config the sweep looks the component up in */
	t.comp.deploy[PB_STAGE_STAGING] = t.d;
	index[0] = &t.comp;
	CFG.components = &t.comp;
	CFG.ncomponents = 1;
	CFG.by_id = index;

	/* the second deploy, as far as the dead replica got */
	p2 = new_promotion(&t);
	pb_err_init(&e);
	cr_assert_eq(pb_store_promotion_set_state(S, p2.id, p2.state, PB_ST_DEPLOYING, now - 100, &e), 0, "%s",
		     pb_err_text(&e));
	cr_assert_eq(pb_store_lock_acquire(S, t.id, "host-b:77:beef:slack-2", "deploy", now - 100, &e), 0, "%s",
		     pb_err_text(&e));
	snprintf(prev_name, sizeof(prev_name), "%s-previous-%lld", t.id, (long long)p2.id);
	cr_assert_eq(pb_docker_container_stop(D, v1_id, 10, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_container_rename(D, v1_id, prev_name, &e), 0, "%s", pb_err_text(&e));
	memset(&dep, 0, sizeof(dep));
	dep.promotion_id = p2.id;
	snprintf(dep.component, sizeof(dep.component), "%s", t.id);
	snprintf(dep.environment, sizeof(dep.environment), "staging");
	snprintf(dep.container_name, sizeof(dep.container_name), "%s", t.id);
	snprintf(dep.previous_container, sizeof(dep.previous_container), "%s", prev_name);
	snprintf(dep.status, sizeof(dep.status), "running");
	dep.started_at = now - 90;
	cr_assert_eq(pb_store_deployment_add(S, &dep, &e), 0, "%s", pb_err_text(&e));
	cr_assert_not(answers(port), "v1 is down: the half-done deploy");

	pb_buf_reset(&OUT);
	ctx = new_ctx();
	SVC.lock_owner = "leader-a:1:0:runtime-bg-0";
	SVC.system_sink = &SINK;
	pb_err_init(&e);
	cr_assert_eq(pb_deploy_recover_expired(&SVC, &recovered, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(recovered, 1, "%s", pb_buf_str(&OUT));
	container_state(t.id, &st, 0);
	cr_assert_str_eq(st.id, v1_id, "v1 is back under its name");
	cr_assert(st.running);
	container_state(prev_name, &st, PB_E_NOTFOUND);
	cr_assert(answers(port));
	cr_assert_eq(pb_store_promotion_get(S, p2.id, &now_p, &e), 0);
	cr_assert_eq(now_p.state, PB_ST_FAILED);
	cr_assert_eq(pb_store_deployment_latest(S, p2.id, &dep, &e), 0);
	cr_assert_str_eq(dep.status, "rolled_back");
	cr_assert(strstr(pb_buf_str(&OUT), "Rolled back"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "Deploy interrupted"), "%s", pb_buf_str(&OUT));
	cr_assert(strstr(pb_buf_str(&OUT), "previous container is back"), "%s", pb_buf_str(&OUT));
	/* recovered once */
	cr_assert_eq(pb_deploy_recover_expired(&SVC, &recovered, &e), 0);
	cr_assert_eq(recovered, 0);
	CFG.components = NULL;
	CFG.ncomponents = 0;
	CFG.by_id = NULL;
	assert_no_secret_leak();
}

/* ---- a deploy whose lease is lost stops at the next step ---- */

static pb_fake_clock LEASE_CLOCK;

/* When the previous container has been moved, the lease runs out (the replica was stalled, say). */
static void expire_lease_on_move(const pb_card *card)
{
	if (card->title && strstr(card->title, "Previous container kept"))
		pb_fake_clock_advance(&LEASE_CLOCK, (PB_LEASE_DEFAULT_S + 1) * 1000LL);
}

Test(deploy, a_deploy_that_lost_its_lease_stops_at_the_next_step_and_rolls_back)
{
	int port = fx_free_port();
	tcomp t;
	pb_promotion p1, p2;
	pb_deploy_outcome out;
	pb_docker_state st;
	pb_cmd_ctx ctx;
	char v1_id[80];
	pb_err e;
	int r;

	tcomp_init(&t, "leaselost", port, NULL, false);
	r = deploy(&t, &p1, &out, &ctx);
	cr_assert_eq(r, 0, "%s\n%s", pb_err_text(&ctx.err), pb_buf_str(&OUT));
	container_state(t.id, &st, 0);
	snprintf(v1_id, sizeof(v1_id), "%s", st.id);

	pb_fake_clock_init(&LEASE_CLOCK, pb_clock_wall_ms(NULL));
	p2 = new_promotion(&t);
	ctx = new_ctx();
	SVC.clock = &LEASE_CLOCK.clock;
	pb_err_init(&e);
	cr_assert_eq(pb_store_lock_acquire(S, t.id, SVC.lock_owner, "deploy", pb_services_now(&SVC), &e), 0, "%s",
		     pb_err_text(&e));
	ON_CARD = expire_lease_on_move;
	pb_buf_reset(&OUT);
	r = pb_deploy_execute(&ctx, &t.comp, &t.d, &p2, &out);
	ON_CARD = NULL;
	cr_assert_eq(r, PB_E_FAILED, "%s", pb_buf_str(&OUT));
	cr_assert(strstr(out.cause, "was lost"), "cause: %s", out.cause);
	cr_assert(strstr(out.cause, "stopped before creating the new container"), "cause: %s", out.cause);
	cr_assert(strstr(pb_buf_str(&OUT), "Lease lost"), "%s", pb_buf_str(&OUT));
	/* what it had changed is undone: v1 back under its name */
	cr_assert(out.rolled_back);
	cr_assert(out.rollback_ok, "%s", pb_buf_str(&OUT));
	container_state(t.id, &st, 0);
	cr_assert_str_eq(st.id, v1_id);
	cr_assert(st.running);
	cr_assert(answers(port));
	pb_fake_clock_deinit(&LEASE_CLOCK);
}

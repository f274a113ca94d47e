/* test_monitor_engine.c — the observation against a real engine: a busybox httpd container stopped, started, restarted and made unhealthy mid-observation. */
#include <criterion/criterion.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../commands/harness.h"
#include "docker.h"
#include "fixture.h"
#include "pb_clock.h"
#include "pb_log.h"
#include "pb_monitor.h"

/*
 * The slots run on the harness's fake clock (a check per sweep, run
 * synchronously), the container on the real engine: state changes are
 * waited for by polling inspect (or the engine's events) with a bound.
 */

static th h;
static pb_monitor *mon;
static pb_docker *D;
static char NAME[128], CID[96], FLAGDIR[64], FLAG[96];
static int PORT;

#define POLL_MS 15000

static void flag_write(void)
{
	FILE *f = fopen(FLAG, "w");

	cr_assert_not_null(f);
	fputs("ok\n", f);
	fclose(f);
}

static void start_container(void)
{
	char cmd[300], bind[128];
	const char *argv[3], *binds[1];
	char *hc[] = { "CMD", "/bin/test", "-f", "/flag/ok" };
	pb_container_health_cfg health = { .test = hc, .ntest = 4, .interval_s = 1, .timeout_s = 2, .retries = 1 };
	pb_docker_create spec = { 0 };
	pb_err e;

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p /tmp/www && echo up > /tmp/www/index.html && exec /bin/httpd -f -p 127.0.0.1:%d -h /tmp/www",
		 PORT);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = cmd;
	snprintf(bind, sizeof(bind), "%s:/flag", FLAGDIR);
	binds[0] = bind;
	spec.name = NAME;
	spec.image = fx_image();
	spec.cmd = argv;
	spec.ncmd = 3;
	spec.binds = binds;
	spec.nbinds = 1;
	spec.network_mode = "host";
	spec.health = &health;
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_create(D, &spec, CID, sizeof(CID), &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_docker_container_start(D, CID, &e), 0, "%s", pb_err_text(&e));
}

/* Waits (bounded) until inspect shows running == want and, when given, that health. */
static void wait_state(bool running, const char *health)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + POLL_MS;
	pb_docker_state st;
	pb_err e;

	for (;;) {
		pb_err_init(&e);
		cr_assert_eq(pb_docker_container_inspect(D, CID, &st, &e), 0, "%s", pb_err_text(&e));
		if (st.running == running && (!health || !strcmp(st.health, health)))
			break;
		cr_assert_lt(pb_clock_mono_ms(NULL), deadline, "container never became %s/%s (is %s/%s)",
			     running ? "running" : "stopped", health ? health : "-", st.status, st.health);
		poll(NULL, 0, 100);
	}
	if (running)
		cr_assert(fx_wait_port(PORT, POLL_MS), "httpd never listened on %d", PORT);
}

static void setup(void)
{
	char staging[1024];
	pb_deployment dep;
	pb_err e;

	if (getenv("PB_TEST_DEBUG"))
		pb_log_set_level(PB_LOG_DEBUG);
	PORT = fx_free_port();
	snprintf(NAME, sizeof(NAME), "%smon", fx_prefix());
	snprintf(FLAGDIR, sizeof(FLAGDIR), "/tmp/pbmon-flag-XXXXXX");
	cr_assert_not_null(mkdtemp(FLAGDIR));
	chmod(FLAGDIR, 0755);
	snprintf(FLAG, sizeof(FLAG), "%s/ok", FLAGDIR);
	flag_write();
	D = fx_docker();
	start_container();
	snprintf(staging, sizeof(staging),
		 "{\"image\": \"%s\", \"container_name\": \"%s\", \"network_mode\": \"host\","
		 " \"validation\": {\"kind\": \"http\", \"url\": \"http://127.0.0.1:%d/index.html\", \"timeout_ms\": 2000}}",
		 fx_image(), NAME, PORT);
	th_setup_ex(&h, "{\"observation_days\": 7}",
		    "\"docker\": {\"timeout_s\": 30},"
		    " \"monitoring\": {\"interval_s\": 60, \"deadline_ms\": 10000, \"fail_threshold\": 2,"
		    " \"success_threshold\": 2, \"remind_every_min\": 0, \"timezone\": \"UTC\"},",
		    staging);
	h.svc.system_sink = &h.sink;
	cr_assert_eq(pb_monitor_new(h.cfg, &mon, NULL), 0);
	/* a promotion observing what "was deployed": the container above */
	memset(&dep, 0, sizeof(dep));
	dep.promotion_id = th_walk_to(&h, "neo4j", PB_ST_DEPLOYING);
	snprintf(dep.component, sizeof(dep.component), "neo4j");
	snprintf(dep.environment, sizeof(dep.environment), "staging");
	snprintf(dep.container_id, sizeof(dep.container_id), "%s", CID);
	snprintf(dep.container_name, sizeof(dep.container_name), "%s", NAME);
	snprintf(dep.image, sizeof(dep.image), "%s", fx_image());
	snprintf(dep.status, sizeof(dep.status), "succeeded");
	dep.started_at = dep.finished_at = th_now(&h);
	pb_err_init(&e);
	cr_assert_eq(pb_store_deployment_add(h.store, &dep, &e), 0, "%s", pb_err_text(&e));
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);
	wait_state(true, "healthy");
}

static void teardown(void)
{
	pb_err e;

	if (getenv("PB_TEST_SHOW_CARDS"))
		fprintf(stderr, "---- cards ----\n%s\n", th_out(&h));
	pb_monitor_free(mon);
	th_teardown(&h);
	pb_err_init(&e);
	if (CID[0])
		pb_docker_container_remove(D, CID, &e);
	pb_docker_free(D);
	unlink(FLAG);
	rmdir(FLAGDIR);
}

TestSuite(monitor_engine, .init = setup, .fini = teardown, .timeout = 240);

/* Moves the fake clock by s seconds (0: stays) and runs the sweep: the due check runs now, against the engine. */
static void after(int64_t s)
{
	pb_fake_clock_advance(&h.clock, s * 1000);
	th_sweep(&h, mon, NULL);
}

static pb_promotion promotion(void)
{
	pb_promotion p;

	cr_assert_eq(pb_store_promotion_open_for(h.store, "neo4j", &p, NULL), 0);
	return p;
}

static pb_sample sample_at(int64_t pid, int64_t slot)
{
	return th_sample_at(&h, pid, slot);
}

static size_t posts_of(int64_t pid, const char *kind)
{
	return th_posts_of(&h, pid, kind);
}

static void stop_container(void)
{
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_stop(D, CID, 1, &e), 0, "%s", pb_err_text(&e));
	wait_state(false, NULL);
}

static void restart_container(void)
{
	pb_err e;

	stop_container();
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_start(D, CID, &e), 0, "%s", pb_err_text(&e));
	wait_state(true, NULL);
}

static void count_start(void *ud, const pb_docker_event *ev)
{
	*(int *)ud += !strcmp(ev->action, "start");
}

/*
 * Waits (bounded) until the engine's event window — which ends a second ago —
 * holds n starts after `from_ns`: then the next check's window holds them too.
 */
static void wait_events_window(int64_t from_ns, int n)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + POLL_MS;

	for (;;) {
		int64_t cursor = from_ns;
		int starts = 0;
		pb_err e;

		pb_err_init(&e);
		cr_assert_eq(pb_docker_events_read(D, CID, &cursor, count_start, &starts, NULL, &e), 0, "%s",
			     pb_err_text(&e));
		if (starts >= n)
			return;
		cr_assert_lt(pb_clock_mono_ms(NULL), deadline, "the engine's events never showed %d starts (saw %d)", n,
			     starts);
		poll(NULL, 0, 100);
	}
}

/* The "**Issues**: …" line of today's report. */
static void issues_line(char *out, size_t size)
{
	const char *p, *nl;

	cr_assert_eq(th_run(&h, "bob", "report neo4j"), 0, "%s", th_out(&h));
	p = strstr(th_out(&h), "**Issues**: ");
	cr_assert_not_null(p, "%s", th_out(&h));
	nl = strchr(p, '\n');
	snprintf(out, size, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
}

Test(monitor_engine, stopped_started_restarted_and_unhealthy_give_the_right_alerts_samples_and_report)
{
	pb_promotion p = promotion();
	int64_t pid = p.id, t0 = th_now(&h), from_ns;
	char issues[512];
	pb_sample s;

	/* t0: running, healthy, httpd answers */
	after(0);
	s = sample_at(pid, t0);
	cr_assert_eq(s.state, PB_SAMPLE_UP, "cls %d\n%s", s.cls, th_out(&h));
	cr_expect_geq(s.latency_us, 0);

	/* stopped: DOWN after fail_threshold (2) checks, class "container not running" */
	stop_container();
	after(60);
	cr_expect_eq(sample_at(pid, t0 + 60).state, PB_SAMPLE_DOWN);
	cr_expect_eq(sample_at(pid, t0 + 60).cls, PB_CHK_NOT_RUNNING);
	cr_expect_eq(posts_of(pid, "down"), 0, "one failure is no outage");
	after(60);
	cr_assert_eq(posts_of(pid, "down"), 1);
	cr_expect(strstr(th_out(&h), "🔴 DOWN: neo4j"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "container not running since"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "(exit code "), "the engine's state is the detail: %s", th_out(&h));

	/* started again: the start is the recovery (no restart), UP after 2 good checks with the outage length */
	{
		pb_err e;

		pb_err_init(&e);
		cr_assert_eq(pb_docker_container_start(D, CID, &e), 0, "%s", pb_err_text(&e));
		wait_state(true, NULL);
	}
	after(60);
	s = sample_at(pid, t0 + 180);
	cr_expect_eq(s.state, PB_SAMPLE_UP, "a start after a stop ends the outage (cls %d)", s.cls);
	cr_expect_eq(s.restarts, 0);
	after(60);
	cr_assert_eq(posts_of(pid, "up"), 1, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "🟢 UP again: neo4j"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "the outage lasted 2 min 0 s"), "first failure +60, first success +180: %s",
		  th_out(&h));

	/* restarted twice between two checks: both counted (StartedAt alone would say one) */
	from_ns = pb_clock_wall_ms(NULL) * 1000000LL;   /* after the recovery's start */
	restart_container();
	restart_container();
	wait_events_window(from_ns, 2);
	after(60);
	s = sample_at(pid, t0 + 300);
	cr_expect_eq(s.state, PB_SAMPLE_DOWN);
	cr_expect_eq(s.cls, PB_CHK_RESTARTED);
	cr_expect_eq(s.restarts, 2, "two restarts between two checks, got %u", s.restarts);
	cr_expect(s.flags & PB_SAMPLE_F_RESTART);
	after(60);
	cr_expect_eq(sample_at(pid, t0 + 360).state, PB_SAMPLE_UP);
	cr_expect_eq(sample_at(pid, t0 + 360).restarts, 0, "the same restarts are not counted twice");
	cr_expect_eq(posts_of(pid, "down"), 1, "one restart check is below the threshold: no alert");
	issues_line(issues, sizeof(issues));
	cr_expect(strstr(issues, "outage 09:01–09:03 (container not running); outage 09:05–09:06 (container restarted)"),
		  "a restart check is a (short) outage of the day: %s", issues);
	cr_expect(strstr(issues, "2 restart(s)"), "%s", issues);

	/* unhealthy: the healthcheck's flag file goes away */
	cr_assert_eq(unlink(FLAG), 0);
	wait_state(true, "unhealthy");
	after(60);
	cr_expect_eq(sample_at(pid, t0 + 420).state, PB_SAMPLE_DOWN);
	cr_expect_eq(sample_at(pid, t0 + 420).cls, PB_CHK_UNHEALTHY);
	after(60);
	cr_assert_eq(posts_of(pid, "down"), 2, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "container unhealthy since"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "engine healthcheck: unhealthy"), "%s", th_out(&h));
	flag_write();
	wait_state(true, "healthy");
	after(60);
	after(60);
	cr_assert_eq(posts_of(pid, "up"), 2, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "the outage lasted 2 min 0 s"), "%s", th_out(&h));
	cr_expect_eq(posts_of(pid, NULL), 4, "down, up, down, up: nothing else");
	issues_line(issues, sizeof(issues));
	cr_expect(strstr(issues, "outage 09:07–09:09 (container unhealthy)"), "%s", issues);
	cr_expect(strstr(th_out(&h), "**Uptime**: "), "%s", th_out(&h));
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "docker/monitor");
}

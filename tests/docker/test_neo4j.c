/* test_neo4j.c — Neo4j client and post-deploy health checks against the Neo4j fake run on the host. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../commands/harness.h"
#include "health.h"
#include "neo4j.h"
#include "pb_monitor.h"
#include "pb_obs.h"
#include "pb_tz.h"
#include "probe.h"

#define PW "s3cret-passw0rd"

typedef struct fake { pid_t pid; int port; } fake;

/* Starts the fake on port 0 with extra args; reads the chosen port from its stdout. */
static fake fake_start(const char *const *extra)
{
	const char *bin = getenv("NEO4J_FAKE");
	char *argv[16];
	int pfd[2], i = 0, k;
	char line[32] = "";
	ssize_t n;
	size_t len = 0;
	fake f = { 0 };

	cr_assert(bin, "NEO4J_FAKE is not set (meson sets it)");
	argv[i++] = (char *)bin;
	argv[i++] = "--port";
	argv[i++] = "0";
	argv[i++] = "--password";
	argv[i++] = PW;
	for (k = 0; extra && extra[k] && i < 15; k++)
		argv[i++] = (char *)extra[k];
	argv[i] = NULL;
	cr_assert(pipe(pfd) == 0);
	f.pid = fork();
	cr_assert(f.pid >= 0);
	if (f.pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	/* The fake prints its port once it listens: a real readiness signal. */
	while (len < sizeof(line) - 1 && (n = read(pfd[0], line + len, sizeof(line) - 1 - len)) > 0) {
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n'))
			break;
	}
	close(pfd[0]);
	f.port = atoi(line);
	cr_assert_gt(f.port, 0, "fake did not start: '%s'", line);
	return f;
}

static void fake_stop(fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
}

static char *url_of(const fake *f, char *buf, size_t size)
{
	snprintf(buf, size, "http://127.0.0.1:%d", f->port);
	return buf;
}

Test(neo4j, discovery_and_return_1)
{
	fake f = fake_start(NULL);
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_info info;
	pb_neo4j_result res;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url_of(&f, url, sizeof(url)), "neo4j", PW, NULL, 5000, &n), 0);
	cr_assert_eq(pb_neo4j_discover(n, &info, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(info.version, "5.13.0");
	cr_assert_str_eq(info.edition, "community");
	cr_assert(strstr(info.transaction, "/db/{databaseName}/tx"));
	cr_assert_eq(pb_neo4j_query(n, "RETURN 1", NULL, &res, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_neo4j_rows(&res), 1);
	cr_assert_eq(pb_neo4j_value(&res, 0, 0)->valueint, 1);
	cr_assert_str_eq(cJSON_GetArrayItem(res.columns, 0)->valuestring, "1");
	pb_neo4j_result_deinit(&res);
	pb_neo4j_free(n);
	fake_stop(&f);
}

Test(neo4j, probe_with_parameters_not_spliced)
{
	/* Text that would break out of a spliced Cypher string travels as a parameter. */
	const char *id = "x'}) DETACH DELETE n // \"quoted\"";
	fake f = fake_start(NULL);
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_result res;
	cJSON *params = cJSON_CreateObject();
	pb_err e;

	cJSON_AddStringToObject(params, "id", id);
	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url_of(&f, url, sizeof(url)), "neo4j", PW, "neo4j", 5000, &n), 0);
	cr_assert_eq(pb_neo4j_query(n, "CREATE (n:PromobotProbe {id: $id}) RETURN n.id", params, &res, &e), 0,
		     "%s", pb_err_text(&e));
	cr_assert_eq(res.nodes_created, 1);
	cr_assert_str_eq(pb_neo4j_value(&res, 0, 0)->valuestring, id);
	pb_neo4j_result_deinit(&res);
	cr_assert_eq(pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) RETURN n.id", params, &res, &e), 0);
	cr_assert_eq(pb_neo4j_rows(&res), 1);
	pb_neo4j_result_deinit(&res);
	cr_assert_eq(pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) DETACH DELETE n", params, &res, &e), 0);
	cr_assert_eq(res.nodes_deleted, 1);
	pb_neo4j_result_deinit(&res);
	cr_assert_eq(pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) RETURN n.id", params, &res, &e), 0);
	cr_assert_eq(pb_neo4j_rows(&res), 0);
	pb_neo4j_result_deinit(&res);
	cJSON_Delete(params);
	pb_neo4j_free(n);
	fake_stop(&f);
}

Test(neo4j, cypher_error_with_http_200_is_failure)
{
	fake f = fake_start(NULL);
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_result res;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url_of(&f, url, sizeof(url)), "neo4j", PW, NULL, 5000, &n), 0);
	cr_assert_eq(pb_neo4j_query(n, "RETURN nonsense(", NULL, &res, &e), PB_E_FAILED);
	cr_assert(strstr(pb_err_text(&e), "Neo.ClientError.Statement.SyntaxError"), "%s", pb_err_text(&e));
	cr_assert_null(res.root);
	pb_neo4j_free(n);
	fake_stop(&f);
}

Test(neo4j, bad_credentials_are_refused_without_echoing_them)
{
	fake f = fake_start(NULL);
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_result res;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url_of(&f, url, sizeof(url)), "neo4j", "wrong-password-123", NULL, 5000, &n), 0);
	cr_assert_eq(pb_neo4j_query(n, "RETURN 1", NULL, &res, &e), PB_E_REFUSED);
	cr_assert(strstr(pb_err_text(&e), "HTTP 401"), "%s", pb_err_text(&e));
	cr_assert(strstr(pb_err_text(&e), "Neo.ClientError.Security.Unauthorized"), "%s", pb_err_text(&e));
	cr_assert_null(strstr(pb_err_text(&e), "wrong-password"));
	pb_neo4j_free(n);
	fake_stop(&f);
}

Test(neo4j, slow_server_times_out_and_gone_server_is_unavailable)
{
	const char *slow[] = { "--slow-ms", "3000", NULL };
	fake f = fake_start(slow);
	char url[64];
	pb_neo4j *n = NULL;
	pb_neo4j_result res;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_new(url_of(&f, url, sizeof(url)), "neo4j", PW, NULL, 300, &n), 0);
	cr_assert_eq(pb_neo4j_query(n, "RETURN 1", NULL, &res, &e), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&e), "Timeout"), "%s", pb_err_text(&e));
	fake_stop(&f);
	pb_err_init(&e);
	cr_assert_eq(pb_neo4j_query(n, "RETURN 1", NULL, &res, &e), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&e), "Couldn't connect"), "%s", pb_err_text(&e));
	pb_neo4j_free(n);
}

/* ---- health checks ---- */

static pb_health_cfg neo4j_cfg(const char *url)
{
	pb_health_cfg c = { .kind = PB_HEALTH_NEO4J, .user = "neo4j", .password_env = "PB_TEST_NEO4J_PW",
			    .timeout_ms = 2000, .queries = 7 };

	c.url = (char *)url;
	setenv("PB_TEST_NEO4J_PW", PW, 1);
	return c;
}

Test(health, neo4j_all_steps_pass)
{
	fake f = fake_start(NULL);
	char url[64];
	pb_health_cfg c = neo4j_cfg(url_of(&f, url, sizeof(url)));
	pb_health_report rep;
	pb_err e;
	size_t i;

	pb_err_init(&e);
	cr_assert_eq(pb_health_run(&c, 2000, &rep, &e), 0, "%s", pb_err_text(&e));
	cr_assert(rep.ok);
	cr_assert_str_eq(rep.version, "5.13.0");
	cr_assert_eq(rep.queries, 7);
	cr_assert(rep.p50_ms <= rep.p95_ms && rep.p95_ms <= rep.max_ms);
	cr_assert_geq(rep.nsteps, 6);
	for (i = 0; i < rep.nsteps; i++)
		cr_assert(rep.steps[i].ok, "%s: %s", rep.steps[i].name, rep.steps[i].detail);
	cr_assert_str_eq(rep.steps[0].name, "discovery");
	cr_assert_str_eq(rep.steps[3].name, "probe write");
	cr_assert_str_eq(rep.steps[5].name, "probe delete");
	fake_stop(&f);
}

Test(health, neo4j_failures_name_the_step)
{
	const char *cypher[] = { "--cypher-error", NULL };
	const char *unauth[] = { "--unauthorized", NULL };
	const char *slow[] = { "--slow-ms", "2000", NULL };
	const char *crash[] = { "--fail-after", "3", NULL };
	struct { const char *const *args; const char *cause; } cases[] = {
		{ cypher, "RETURN 1: Neo.ClientError.Statement.SyntaxError" },
		{ unauth, "RETURN 1: Neo4j at" },
		{ slow, "RETURN 1: POST" },
		{ crash, "probe read:" },
	};
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fake f = fake_start(cases[k].args);
		char url[64];
		pb_health_cfg c = neo4j_cfg(url_of(&f, url, sizeof(url)));
		pb_health_report rep;
		pb_err e;

		c.timeout_ms = 500;
		pb_err_init(&e);
		cr_assert_eq(pb_health_run(&c, 2000, &rep, &e), PB_E_FAILED, "case %zu", k);
		cr_assert_not(rep.ok);
		cr_assert(strstr(rep.cause, cases[k].cause), "case %zu: %s", k, rep.cause);
		cr_assert_not(rep.steps[rep.nsteps - 1].ok);
		cr_assert_null(strstr(rep.cause, PW));
		fake_stop(&f);
	}
}

Test(health, neo4j_waits_for_a_late_listener_within_bound)
{
	pb_health_cfg c = neo4j_cfg("http://127.0.0.1:1");
	pb_health_report rep;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_health_run(&c, 300, &rep, &e), PB_E_FAILED);
	cr_assert(strstr(rep.cause, "discovery: GET http://127.0.0.1:1/: Couldn't connect"), "%s", rep.cause);
}

Test(health, http_and_tcp_checks)
{
	fake f = fake_start(NULL);
	char url[80];
	pb_health_cfg h = { .kind = PB_HEALTH_HTTP, .timeout_ms = 2000 };
	pb_health_cfg t = { .kind = PB_HEALTH_TCP, .host = "127.0.0.1", .timeout_ms = 2000 };
	pb_health_cfg none = { .kind = PB_HEALTH_NONE };
	pb_health_report rep;
	pb_err e;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
	h.url = url;
	pb_err_init(&e);
	cr_assert_eq(pb_health_run(&h, 1000, &rep, &e), 0, "%s", pb_err_text(&e));
	h.expect_status = 204;
	cr_assert_eq(pb_health_run(&h, 1000, &rep, &e), PB_E_FAILED);
	cr_assert(strstr(rep.cause, "answered HTTP 200, expected 204"), "%s", rep.cause);
	t.port = f.port;
	pb_err_init(&e);
	cr_assert_eq(pb_health_run(&t, 1000, &rep, &e), 0, "%s", pb_err_text(&e));
	cr_assert(rep.steps[0].ok);
	fake_stop(&f);
	pb_err_init(&e);
	cr_assert_eq(pb_health_run(&t, 200, &rep, &e), PB_E_FAILED);
	cr_assert(strstr(rep.cause, "Connection refused"), "%s", rep.cause);
	cr_assert_eq(pb_health_run(&none, 0, &rep, &e), 0);
}

/* ---- the observation's liveness probe (integrations/probe.c) ---- */

static pb_probe *probe_for(pb_health_kind kind, const fake *f, const char *pwenv, int deadline_ms)
{
	static char url[64];
	pb_health_cfg cfg = { .kind = kind, .url = url, .user = "neo4j", .password_env = (char *)pwenv,
			      .host = "127.0.0.1", .port = f->port };
	pb_probe *p = NULL;
	pb_err e;

	url_of(f, url, sizeof(url));
	pb_err_init(&e);
	cr_assert_eq(pb_probe_new(&cfg, deadline_ms, &p, &e), 0, "%s", pb_err_text(&e));
	return p;
}

Test(probe, neo4j_return_1_is_timed_and_a_slowdown_shows_in_latency)
{
	const char *extra[] = { "--keep-alive", "--slow-ms", "150", "--slow-on-usr1", NULL };
	fake f = fake_start(extra);
	pb_probe *p;
	char detail[300];
	int32_t fast = -1, slow = -1;

	setenv("PB_TEST_NEO4J_PW", PW, 1);
	p = probe_for(PB_HEALTH_NEO4J, &f, "PB_TEST_NEO4J_PW", 2000);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(pb_probe_run(p, &fast, detail, sizeof(detail)), PB_PROBE_UP, "%s", detail);
		cr_assert_geq(fast, 0);
	}
	kill(f.pid, SIGUSR1);
	cr_assert_eq(pb_probe_run(p, &slow, detail, sizeof(detail)), PB_PROBE_UP, "%s", detail);
	cr_assert_geq(slow, 150000, "the fake's 150 ms must show in the probe's latency (%d µs)", slow);
	cr_assert_lt(fast, slow);
	pb_probe_free(p);
	fake_stop(&f);
}

Test(probe, neo4j_slower_than_the_deadline_is_a_timeout)
{
	const char *extra[] = { "--keep-alive", "--slow-ms", "1500", NULL };
	fake f = fake_start(extra);
	pb_probe *p;
	char detail[300];
	int32_t lat = 0;

	setenv("PB_TEST_NEO4J_PW", PW, 1);
	p = probe_for(PB_HEALTH_NEO4J, &f, "PB_TEST_NEO4J_PW", 300);
	cr_assert_eq(pb_probe_run(p, &lat, detail, sizeof(detail)), PB_PROBE_TIMEOUT, "%s", detail);
	cr_assert_eq(lat, -1);
	pb_probe_free(p);
	fake_stop(&f);
}

Test(probe, neo4j_wrong_password_is_an_auth_failure_and_no_secret_in_detail)
{
	fake f = fake_start(NULL);
	pb_probe *p;
	char detail[300];
	int32_t lat = 0;

	setenv("PB_TEST_NEO4J_BAD", "not-the-password", 1);
	p = probe_for(PB_HEALTH_NEO4J, &f, "PB_TEST_NEO4J_BAD", 2000);
	cr_assert_eq(pb_probe_run(p, &lat, detail, sizeof(detail)), PB_PROBE_AUTH, "%s", detail);
	cr_assert_null(strstr(detail, "not-the-password"));
	pb_probe_free(p);
	fake_stop(&f);
}

Test(probe, http_and_tcp_up_then_error_when_the_target_is_gone)
{
	fake f = fake_start(NULL);
	pb_probe *h = probe_for(PB_HEALTH_HTTP, &f, NULL, 1000), *t = probe_for(PB_HEALTH_TCP, &f, NULL, 1000);
	char detail[300];
	int32_t lat = -1;

	cr_assert_eq(pb_probe_run(h, &lat, detail, sizeof(detail)), PB_PROBE_UP, "%s", detail);
	cr_assert_geq(lat, 0);
	cr_assert_eq(pb_probe_run(t, &lat, detail, sizeof(detail)), PB_PROBE_UP, "%s", detail);
	fake_stop(&f);
	cr_assert_eq(pb_probe_run(h, &lat, detail, sizeof(detail)), PB_PROBE_ERROR);
	cr_assert(strlen(detail) > 0);
	cr_assert_eq(pb_probe_run(t, &lat, detail, sizeof(detail)), PB_PROBE_ERROR);
	cr_assert(strstr(detail, "connect"), "%s", detail);
	pb_probe_free(h);
	pb_probe_free(t);
}

Test(probe, a_config_without_target_is_refused)
{
	pb_health_cfg cfg = { .kind = PB_HEALTH_TCP };
	pb_probe *p = NULL;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_probe_new(&cfg, 1000, &p, &e), PB_E_INVALID);
	cr_assert(strstr(pb_err_text(&e), "port"));
	cr_assert_null(p);
}

/* ---- the observation of a Neo4j that slows down: p95/p99 over the monitor's samples ---- */

#define SLOW_MS 200         /* the fake's fixed delay once slowed */
#define FAST_MAX_MS 100.0   /* tolerance: an unslowed RETURN 1 on loopback, under ASan on a busy box */
#define SLOW_TOL_MS 150.0   /* tolerance above SLOW_MS for a slowed one */

static th H;
static pb_monitor *MON;

static void checks(int n)
{
	for (int i = 0; i < n; i++) {
		pb_fake_clock_advance(&H.clock, 60 * 1000);
		th_sweep(&H, MON, NULL);
	}
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Reference nearest rank: the ceil(p/100 · n)-th smallest, in ms. */
static double ref_rank_ms(const int32_t *sorted, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999999);

	return sorted[(k ? k : 1) - 1] / 1000.0;
}

/*
 * 96 fast checks, then the fake slows by SLOW_MS (SIGUSR1) for 4 checks,
 * then it stops answering (SIGSTOP) for 3 checks that time out. Of the 100
 * latencies, 4 % are slow: nearest rank puts p95 (the 95th) among the fast
 * ones and p99 (the 99th) among the slow ones; the timeouts are counted
 * separately and change no percentile.
 */
Test(observation, a_neo4j_that_slows_down_shows_in_p99_not_p95_and_timeouts_stay_out, .timeout = 120)
{
	const char *extra[] = { "--keep-alive", "--slow-ms", "200", "--slow-on-usr1", NULL };
	fake f = fake_start(extra);
	char staging[512], url[64];
	pb_promotion p;
	pb_sample *samples = NULL, *checked;
	int32_t lat[128];
	size_t n = 0, nlat = 0, timeouts = 0;
	pb_obs_day day;
	pb_tz *tz = NULL;
	int64_t first;
	pb_obs_grid g;

	setenv("PB_TEST_NEO4J_PW", PW, 1);
	snprintf(staging, sizeof(staging),
		 "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\", \"validation\": {\"kind\": \"neo4j\","
		 " \"url\": \"%s\", \"user\": \"neo4j\", \"password_env\": \"PB_TEST_NEO4J_PW\", \"timeout_ms\": 1000}}",
		 url_of(&f, url, sizeof(url)));
	th_setup_ex(&H, "{\"observation_days\": 7}",
		    "\"monitoring\": {\"interval_s\": 60, \"deadline_ms\": 1000, \"timezone\": \"UTC\"},", staging);
	H.svc.system_sink = &H.sink;
	cr_assert_eq(pb_monitor_new(H.cfg, &MON, NULL), 0);
	cr_assert_eq(pb_store_promotion_get(H.store, th_walk_to(&H, "neo4j", PB_ST_OBSERVING), &p, NULL), 0);

	pb_fake_clock_advance(&H.clock, -60 * 1000);   /* the first checks() lands on observing_since */
	checks(96);
	kill(f.pid, SIGUSR1);
	checks(4);
	kill(f.pid, SIGSTOP);
	checks(3);
	kill(f.pid, SIGCONT);

	cr_assert_eq(pb_store_samples_range(H.store, p.id, 0, INT64_MAX, &samples, &n, NULL), 0);
	/* the first sweep found the slot at observing_since already past: nobody ran it, recorded UNKNOWN */
	checked = samples;
	if (n && samples[0].cls == PB_CHK_NOT_RUN) {
		cr_assert_eq(samples[0].slot, p.observing_since);
		cr_assert_eq(samples[0].state, PB_SAMPLE_UNKNOWN);
		checked++;
		n--;
	}
	cr_assert_eq(n, 103);
	for (size_t i = 0; i < n; i++) {
		if (checked[i].state == PB_SAMPLE_UP)
			lat[nlat++] = checked[i].latency_us;
		else
			timeouts += checked[i].state == PB_SAMPLE_DOWN && checked[i].cls == PB_CHK_TIMEOUT;
		if (i < 96)
			cr_assert_lt(checked[i].latency_us / 1000.0, FAST_MAX_MS, "check %zu: %d µs", i, checked[i].latency_us);
		else if (i < 100)
			cr_assert(checked[i].latency_us / 1000.0 >= SLOW_MS &&
				  checked[i].latency_us / 1000.0 < SLOW_MS + SLOW_TOL_MS, "slowed check %zu: %d µs", i,
				  checked[i].latency_us);
	}
	cr_assert_eq(nlat, 100);
	cr_assert_eq(timeouts, 3, "the stopped fake's checks are timeouts");
	qsort(lat, nlat, sizeof(lat[0]), cmp_i32);

	/* the day's figures as the report computes them */
	cr_assert_eq(pb_tz_load("UTC", &tz, NULL), 0);
	first = pb_tz_day_of(tz, p.observing_since);
	g = (pb_obs_grid){ .first_slot = p.observing_since, .interval_s = 60, .until = th_now(&H) + 1 };
	cr_assert_eq(pb_obs_day_compute(tz, first, first, &g, checked, n, &day), 0);
	cr_expect_eq(day.probes_ok, 100);
	cr_expect_eq(day.timeouts, 3);
	cr_expect_eq(day.p50_ms, ref_rank_ms(lat, nlat, 50));
	cr_expect_eq(day.p95_ms, ref_rank_ms(lat, nlat, 95));
	cr_expect_eq(day.p99_ms, ref_rank_ms(lat, nlat, 99));
	cr_expect_lt(day.p50_ms, FAST_MAX_MS, "p50 %.1f", day.p50_ms);
	cr_expect_lt(day.p95_ms, FAST_MAX_MS, "4 %% slow is beyond p95: %.1f", day.p95_ms);
	cr_expect(day.p99_ms >= SLOW_MS && day.p99_ms < SLOW_MS + SLOW_TOL_MS, "p99 is a slowed probe: %.1f",
		  day.p99_ms);

	/* and the report says so */
	cr_assert_eq(th_run(&H, "bob", "report neo4j"), 0, "%s", th_out(&H));
	cr_expect(strstr(th_out(&H), "**Timeouts**: 3 (not in the percentiles)"), "%s", th_out(&H));
	{
		const char *perf = strstr(th_out(&H), "**Performance**: p50: ");
		double p99 = 0;

		cr_assert_not_null(perf, "%s", th_out(&H));
		cr_assert_eq(sscanf(strstr(perf, "p99: "), "p99: %lfms", &p99), 1, "%s", perf);
		cr_expect(p99 >= SLOW_MS && p99 < SLOW_MS + SLOW_TOL_MS, "%s", perf);
	}
	free(samples);
	pb_tz_free(tz);
	pb_monitor_free(MON);
	th_teardown(&H);
	fake_stop(&f);
}

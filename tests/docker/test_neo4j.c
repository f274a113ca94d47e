/* test_neo4j.c — Neo4j client and post-deploy health checks against the Neo4j fake run on the host. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health.h"
#include "neo4j.h"
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

/*
 * test_peer_input.c — regressions for what fuzzing the readers of peer replies turned up: numbers out of
 * range, negative, fractional or of the wrong type in Docker Engine and Neo4j answers are refused with an
 * error naming the field (never cast), and years past 9999 in engine timestamps are not a time.
 * Each input is the minimized one; the same files seed the fuzz corpora (tests/fuzz/corpus/<harness>/regress-*).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "docker_priv.h"
#include "neo4j_priv.h"

static int list(const char *json, pb_docker_container **out, size_t *n, pb_err *err)
{
	pb_err_init(err);
	return dk_containers_parse(json, strlen(json), out, n, NULL, NULL, err);
}

Test(peer_docker, port_outside_int_is_refused_not_cast)
{
	/* the engine answers a fuzzing reviewer found: UBSan "outside the range of representable values of type int" */
	const char *docs[] = {
		"[{\"Id\":\"c1\",\"Ports\":[{\"PrivatePort\":7.65556e+97,\"Type\":\"tcp\"}]}]",
		"[{\"Id\":\"c1\",\"Ports\":[{\"PrivatePort\":7474,\"PublicPort\":4.243e+12,\"Type\":\"tcp\"}]}]",
	};
	const char *field[] = { "PrivatePort: 7.65556", "PublicPort: 4243000000000 " };

	for (size_t i = 0; i < 2; i++) {
		pb_docker_container *c = NULL;
		size_t n = 7;
		pb_err err;

		cr_assert_eq(list(docs[i], &c, &n, &err), PB_E_INVALID, "%s", docs[i]);
		cr_expect_null(c);
		cr_expect_eq(n, 0);
		cr_expect(strstr(pb_err_text(&err), "container 0: Ports[0]: "), "%s", pb_err_text(&err));
		cr_expect(strstr(pb_err_text(&err), field[i]), "%s", pb_err_text(&err));
		cr_expect(strstr(pb_err_text(&err), "is not an integer in [0, 65535]"), "%s", pb_err_text(&err));
	}
}

Test(peer_docker, negative_fractional_and_string_ports_are_refused)
{
	const char *docs[] = {
		"[{\"Ports\":[{\"PrivatePort\":-1}]}]", "[{\"Ports\":[{\"PrivatePort\":7474.5}]}]",
		"[{\"Ports\":[{\"PrivatePort\":\"7474\"}]}]", "[{\"Ports\":[{\"PrivatePort\":65536}]}]",
		"[{\"Ports\":[{\"PrivatePort\":1e400}]}]", "{\"not\":\"an array\"}",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		pb_docker_container *c = NULL;
		size_t n = 0;
		pb_err err;

		cr_expect_eq(list(docs[i], &c, &n, &err), PB_E_INVALID, "%s", docs[i]);
		cr_expect(err.set);
		free(c);
	}
}

Test(peer_docker, good_ports_and_missing_public_port_read)
{
	pb_docker_container *c = NULL;
	size_t n = 0;
	pb_err err;

	cr_assert_eq(list("[{\"Id\":\"c1\",\"Names\":[\"/neo\"],\"HostConfig\":{\"NetworkMode\":\"host\"},\"Ports\":["
			  "{\"IP\":\"127.0.0.1\",\"PrivatePort\":7474,\"PublicPort\":7476,\"Type\":\"tcp\"},"
			  "{\"PrivatePort\":7687,\"Type\":\"tcp\"}]}]", &c, &n, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(n, 1);
	cr_expect_str_eq(c[0].name, "neo");
	cr_expect_str_eq(c[0].network_mode, "host");
	cr_assert_eq(c[0].nports, 2);
	cr_expect_eq(c[0].ports[0].private_port, 7474);
	cr_expect_eq(c[0].ports[0].public_port, 7476);
	cr_expect_eq(c[0].ports[1].public_port, 0, "not published");
	free(c);
}

static int inspect(const char *json, pb_docker_state *st, pb_err *err)
{
	cJSON *j = cJSON_Parse(json);
	int r;

	cr_assert_not_null(j);
	memset(st, 0, sizeof(*st));
	pb_err_init(err);
	r = dk_state_parse(j, st, err);
	cJSON_Delete(j);
	return r;
}

Test(peer_docker, inspect_numbers_are_bounded)
{
	pb_docker_state st;
	pb_err err;

	/* docker.c around line 995 cast RestartCount, ExitCode and Pid with (int) */
	cr_assert_eq(inspect("{\"RestartCount\":4.243e+12,\"State\":{\"Status\":\"running\"}}", &st, &err), PB_E_INVALID);
	cr_expect(strstr(pb_err_text(&err), "RestartCount: 4243000000000 is not an integer"), "%s", pb_err_text(&err));
	cr_assert_eq(inspect("{\"State\":{\"Pid\":7.65556e+97}}", &st, &err), PB_E_INVALID);
	cr_expect(strstr(pb_err_text(&err), "Pid: "), "%s", pb_err_text(&err));
	cr_assert_eq(inspect("{\"State\":{\"ExitCode\":1.5}}", &st, &err), PB_E_INVALID);
	cr_assert_eq(inspect("{\"RestartCount\":-1}", &st, &err), PB_E_INVALID);
	/* what engines really send: podman's -1 exit code, a missing count */
	cr_assert_eq(inspect("{\"Name\":\"/c1\",\"State\":{\"Status\":\"exited\",\"ExitCode\":-1,\"Pid\":0,"
			     "\"OOMKilled\":true}}", &st, &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(st.exit_code, -1);
	cr_expect_eq(st.restart_count, 0);
	cr_expect(st.oom_killed);
	cr_expect_str_eq(st.name, "c1");
}

Test(peer_docker, absurd_healthcheck_durations_are_not_overdue)
{
	pb_docker_state st = { .running = true };
	const char *json = "{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1e300,\"Timeout\":-5}},"
			   "\"State\":{\"Health\":{\"Status\":\"starting\"},\"StartedAt\":\"2026-11-25T09:00:00Z\"}}";
	cJSON *j = cJSON_Parse(json);

	strcpy(st.health, "starting");
	strcpy(st.started_at, "2026-11-25T09:00:00Z");
	cr_expect_not(dk_health_overdue(j, &st, 1795597200000LL + 86400000LL));
	cJSON_Delete(j);
	/* sane values: overdue after interval + timeout without a result */
	j = cJSON_Parse("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000,"
			"\"Timeout\":1000000000}}}");
	cr_expect(dk_health_overdue(j, &st, 1795597200000LL + 2000));
	cr_expect_not(dk_health_overdue(j, &st, 1795597200000LL + 1999));
	cJSON_Delete(j);
}

Test(peer_docker, stats_counters_out_of_range_are_refused)
{
	const char *bad[] = {
		"{\"memory_stats\":{\"usage\":1e30,\"limit\":1000}}",
		"{\"memory_stats\":{\"usage\":100,\"limit\":-1}}",
		"{\"memory_stats\":{\"usage\":100.5}}",
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":-3}}}",
		"{\"cpu_stats\":{\"online_cpus\":4.243e+12}}",
		"{\"cpu_stats\":{\"system_cpu_usage\":\"2000\"}}",
	};
	pb_docker_stats st;
	pb_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_err_init(&err);
		cr_expect_eq(pb_docker_stats_parse_err(bad[i], strlen(bad[i]), &st, &err), PB_E_INVALID, "%s", bad[i]);
		cr_expect(err.set, "%s", bad[i]);
	}
	pb_err_init(&err);
	cr_assert_eq(pb_docker_stats_parse_err(bad[0], strlen(bad[0]), &st, &err), PB_E_INVALID);
	cr_expect_str_eq(pb_err_text(&err), "usage: 1e+30 is not a whole counter in [0, 2^64)");
}

Test(peer_docker, unlimited_cgroup_v1_limit_still_reads)
{
	/* cgroup v1 without a limit reports 2^63 - 4096: a counter below 2^64, not an error */
	const char *j = "{\"memory_stats\":{\"usage\":4096,\"limit\":9223372036854771712}}";
	pb_docker_stats st;

	cr_assert_eq(pb_docker_stats_parse(j, strlen(j), &st), 0);
	cr_expect_eq(st.mem_used, 4096);
	cr_expect_eq(st.mem_limit, 9223372036854771712ULL);
}

Test(peer_docker, log_timestamps_past_year_9999_are_not_times)
{
	int64_t ms = 0;
	size_t prefix = 0;
	const char *far = "2147483647-01-01T00:00:00Z boom";
	const char *ok = "2026-11-25T10:20:19.857768126Z line";

	cr_expect_not(pb_docker_log_line_time(far, strlen(far), &ms, &prefix));
	cr_assert(pb_docker_log_line_time(ok, strlen(ok), &ms, &prefix));
	cr_expect_eq(ms, 1795602019857LL);
	cr_expect_eq(prefix, 31);
}

Test(peer_docker, api_version_header_is_bounded)
{
	/* strtol saturates at LONG_MAX: the old major * 1000 overflowed (signed overflow, UB) */
	cr_expect_eq(dk_api_num("99999999999999999999.1"), -1);
	cr_expect_eq(dk_api_num("1000.1"), -1);
	cr_expect_eq(dk_api_num("1.99999999999999999999"), -1);
	cr_expect_eq(dk_api_num("1.-2"), -1);
	cr_expect_eq(dk_api_num("1.43x"), -1);
	cr_expect_eq(dk_api_num("1.43"), 1043);
	cr_expect_eq(dk_api_num("1.41"), 1041);
}

static int neo_reply(const char *body, pb_neo4j_result *res, pb_err *err)
{
	pb_err_init(err);
	return neo4j_reply_read(200, body, strlen(body), "http://127.0.0.1:7474", "http://127.0.0.1:7474/db/neo4j/tx/commit",
				res, err);
}

Test(peer_neo4j, stats_counts_are_bounded)
{
	pb_neo4j_result res;
	pb_err err;

	cr_assert_eq(neo_reply("{\"results\":[{\"columns\":[],\"data\":[],\"stats\":{\"nodes_created\":7.65556e+97}}],"
			       "\"errors\":[]}", &res, &err), PB_E_FAILED);
	cr_expect_null(res.root);
	cr_expect(strstr(pb_err_text(&err), "results[0].stats: nodes_created: 7.65556"), "%s", pb_err_text(&err));
	cr_assert_eq(neo_reply("{\"results\":[{\"stats\":{\"nodes_deleted\":-1}}],\"errors\":[]}", &res, &err),
		     PB_E_FAILED);
	cr_assert_eq(neo_reply("{\"results\":[{\"columns\":[\"n.id\"],\"data\":[{\"row\":[\"p\"]}],"
			       "\"stats\":{\"nodes_created\":1}}],\"errors\":[]}", &res, &err), 0, "%s", pb_err_text(&err));
	cr_expect_eq(res.nodes_created, 1);
	cr_expect_eq(res.nodes_deleted, 0, "absent counts read as 0");
	cr_expect_eq(pb_neo4j_rows(&res), 1);
	pb_neo4j_result_deinit(&res);
}

Test(peer_neo4j, errors_and_discovery)
{
	pb_neo4j_result res;
	pb_neo4j_info info;
	pb_err err;
	const char *d = "{\"transaction\":\"http://localhost:7474/db/{databaseName}/tx\",\"neo4j_version\":5}";

	cr_assert_eq(neo_reply("{\"results\":[],\"errors\":[{\"code\":\"Neo.ClientError.Statement.SyntaxError\","
			       "\"message\":\"Invalid input\"}]}", &res, &err), PB_E_FAILED);
	cr_expect_str_eq(pb_err_text(&err), "Neo.ClientError.Statement.SyntaxError: Invalid input");
	cr_assert_eq(neo_reply("not json", &res, &err), PB_E_FAILED);
	cr_expect_eq(neo4j_discovery_read(d, strlen(d), &info), PB_E_INVALID, "a numeric version is no version");
}

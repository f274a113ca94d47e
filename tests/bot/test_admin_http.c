/* test_admin_http.c — /healthz and /metrics over real HTTP, checked by promtool and scraped by a real Prometheus. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin_http.h"
#include "pb_clock.h"
#include "pb_metrics.h"

/* ---- a loop thread serving one admin vhost ---- */

typedef struct server {
	struct lws_context *ctx;
	pb_admin *admin;
	pb_metrics *metrics;
	pb_metrics_promobot fam;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool healthy;
	char reason[128];     /* written before `healthy` flips, read after */
	atomic_int health_calls;
} server;

static int health_cb(void *ud, char *reason, size_t size)
{
	server *s = ud;

	atomic_fetch_add(&s->health_calls, 1);
	if (atomic_load(&s->healthy))
		return 0;
	snprintf(reason, size, "%s", s->reason);
	return 1;
}

static void *loop_main(void *arg)
{
	server *s = arg;

	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

static struct lws_context *explicit_ctx(void)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.port = CONTEXT_PORT_NO_LISTEN;
	ctx = lws_create_context(&info);
	cr_assert_not_null(ctx);
	return ctx;
}

static void server_start(server *s)
{
	pb_admin_cfg cfg = { .iface = "127.0.0.1", .port = 0, .health = health_cb };
	pb_err err;

	memset(s, 0, sizeof(*s));
	atomic_init(&s->healthy, true);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->ctx = explicit_ctx();
	cr_assert_eq(pb_metrics_new(PB_METRICS_PROCESS, &s->metrics), 0);
	pb_err_init(&err);
	cr_assert_eq(pb_metrics_promobot_register(s->metrics, &s->fam, &err), 0, "%s", pb_err_text(&err));
	cfg.metrics = s->metrics;
	cfg.health_ud = s;
	cr_assert_eq(pb_admin_new(s->ctx, &cfg, &s->admin, &err), 0, "%s", pb_err_text(&err));
	cr_assert_gt(pb_admin_port(s->admin), 0);
	cr_assert_eq(pthread_create(&s->thread, NULL, loop_main, s), 0);
}

static void server_stop(server *s)
{
	atomic_store(&s->stop, true);
	lws_cancel_service(s->ctx);
	pthread_join(s->thread, NULL);
	pb_admin_free(s->admin);
	lws_context_destroy(s->ctx);
	pb_metrics_free(s->metrics);
	curl_global_cleanup();
}

/* ---- a libcurl client ---- */

typedef struct reply {
	long status;
	char ctype[128];
	char allow[64];
	pb_buf body;
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	pb_buf_append(ud, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	reply *r = ud;

	if (size * n > 6 && !strncasecmp(data, "allow:", 6))
		snprintf(r->allow, sizeof(r->allow), "%.*s", (int)(size * n - 6), data + 6);
	return size * n;
}

/* One request on `h` (reused, so keep-alive is exercised); body NULL for none. */
static void request(CURL *h, const char *url, const char *method, const char *body, reply *r)
{
	char *ct = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	pb_buf_init(&r->body);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(h);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
}

static void get(server *s, const char *path, reply *r)
{
	CURL *h = curl_easy_init();
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", pb_admin_port(s->admin), path);
	request(h, url, "GET", NULL, r);
	curl_easy_cleanup(h);
}

static cJSON *json_of(const reply *r)
{
	cJSON *j = cJSON_Parse(pb_buf_str(&r->body));

	cr_assert_not_null(j, "not JSON: %s", pb_buf_str(&r->body));
	return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, key));

	return v ? v : "(missing)";
}

/* ---- routes ---- */

Test(admin_http, healthz_follows_the_health_callback)
{
	server s;
	reply r;
	cJSON *j;

	server_start(&s);
	get(&s, "/healthz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.ctype, "application/json");
	j = json_of(&r);
	cr_assert_str_eq(jstr(j, "status"), "ok");
	cJSON_Delete(j);
	pb_buf_deinit(&r.body);

	snprintf(s.reason, sizeof(s.reason), "storage: no write within 2000 ms (\"db\" read-only)");
	atomic_store(&s.healthy, false);
	get(&s, "/healthz", &r);
	cr_assert_eq(r.status, 503);
	j = json_of(&r);
	cr_assert_str_eq(jstr(j, "status"), "unavailable");
	cr_assert_str_eq(jstr(j, "reason"), "storage: no write within 2000 ms (\"db\" read-only)");
	cJSON_Delete(j);
	pb_buf_deinit(&r.body);

	atomic_store(&s.healthy, true);
	get(&s, "/healthz", &r);
	cr_assert_eq(r.status, 200);
	pb_buf_deinit(&r.body);
	cr_assert_eq(atomic_load(&s.health_calls), 3);
	server_stop(&s);
}

Test(admin_http, metrics_exposition_with_promobot_families)
{
	server s;
	reply r;
	const char *t;

	server_start(&s);
	pb_metric_inc(s.fam.commands, PB_LV("status", "ok"));
	pb_metric_observe(s.fam.ack_latency, NULL, 0.002);
	pb_metric_set(s.fam.queue_depth, PB_LV("interactive"), 3);
	get(&s, "/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	t = pb_buf_str(&r.body);
	const char *want[] = {
		"promobot_commands_total{verb=\"status\",result=\"ok\"} 1\n",
		"promobot_ack_latency_seconds_bucket{le=\"0.0025\"} 1\n",
		"promobot_ack_latency_seconds_count 1\n",
		"promobot_queue_depth{pool=\"interactive\"} 3\n",
		"# TYPE promobot_jobs_dropped_total counter\n",
		"promobot_slack_reconnects_total 0\n",
		"# TYPE promobot_slack_posts_total counter\n",
		"promobot_slack_rate_limited_total 0\n",
		"# TYPE promobot_storage_transaction_seconds histogram\n",
		"\nprocess_resident_memory_bytes ",
		"\nprocess_open_fds ",
		"\nprocess_start_time_seconds ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(t, want[i]), "missing %s in:\n%s", want[i], t);
	pb_buf_deinit(&r.body);
	server_stop(&s);
}

Test(admin_http, large_exposition_arrives_whole)
{
	server s;
	reply r;
	pb_buf want;

	server_start(&s);
	/* ~500 series: far more than one write chunk and one socket buffer's worth. */
	for (int i = 0; i < 500; i++) {
		char verb[48];

		snprintf(verb, sizeof(verb), "verb-%03d-with-a-long-name-to-pad-the-line", i);
		pb_metric_add(s.fam.commands, PB_LV(verb, "ok"), i);
	}
	get(&s, "/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body.len, 40000);
	pb_buf_init(&want);
	cr_assert_eq(pb_metrics_render(s.metrics, &want), 0);
	/* Everything up to the process metrics (which move between renders) is identical. */
	const char *cut = strstr(pb_buf_str(&r.body), "# HELP process_");
	cr_assert_not_null(cut);
	size_t n = (size_t)(cut - pb_buf_str(&r.body));
	cr_assert_eq(strncmp(pb_buf_str(&r.body), pb_buf_str(&want), n), 0);
	cr_assert(strstr(pb_buf_str(&r.body), "verb=\"verb-499-with-a-long-name-to-pad-the-line\",result=\"ok\"} 499\n"));
	pb_buf_deinit(&want);
	pb_buf_deinit(&r.body);
	server_stop(&s);
}

Test(admin_http, unknown_paths_are_404)
{
	const char *paths[] = { "/", "/nope", "/metrics/x", "/healthz2" };
	server s;
	reply r;

	server_start(&s);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(&s, paths[i], &r);
		cr_assert_eq(r.status, 404, "%s: %ld", paths[i], r.status);
		cJSON *j = json_of(&r);
		cr_assert_str_eq(jstr(j, "status"), "not found");
		cJSON_Delete(j);
		pb_buf_deinit(&r.body);
	}
	server_stop(&s);
}

Test(admin_http, other_methods_are_405_and_the_connection_stays_usable)
{
	static const struct {
		const char *method, *path, *body;
	} cases[] = {
		{ "POST", "/metrics", "{\"x\": 1}" },
		{ "PUT", "/healthz", "payload" },
		{ "DELETE", "/healthz", NULL },
		{ "POST", "/nope", NULL },  /* no Content-Length: answered, then closed */
		{ "POST", "/healthz", "" }, /* Content-Length: 0 */
	};
	server s;
	reply r;
	char url[128];
	CURL *h;

	server_start(&s);
	h = curl_easy_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", pb_admin_port(s.admin), cases[i].path);
		request(h, url, cases[i].method, cases[i].body, &r);
		cr_assert_eq(r.status, 405, "%s %s: %ld", cases[i].method, cases[i].path, r.status);
		cr_assert(strstr(r.allow, "GET"), "%s: Allow header is \"%s\"", cases[i].method, r.allow);
		pb_buf_deinit(&r.body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
		/* The same connection answers the next request correctly. */
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", pb_admin_port(s.admin));
		request(h, url, "GET", NULL, &r);
		cr_assert_eq(r.status, 200, "after %s: %ld", cases[i].method, r.status);
		pb_buf_deinit(&r.body);
	}
	curl_easy_cleanup(h);
	server_stop(&s);
}

Test(admin_http, bad_config_and_taken_port_are_refused)
{
	server s;
	struct lws_context *ctx2;
	pb_admin *a = (pb_admin *)&s;
	pb_admin_cfg cfg = { .iface = "127.0.0.1" };
	pb_err err;

	server_start(&s);
	/* A second context, serviced by nobody: creating vhosts on it from here is safe. */
	ctx2 = explicit_ctx();
	cfg.port = pb_admin_port(s.admin);
	pb_err_init(&err);
	cr_assert_eq(pb_admin_new(ctx2, &cfg, &a, &err), PB_E_UNAVAILABLE);
	cr_assert_null(a);
	cr_assert(strstr(pb_err_text(&err), "cannot listen"), "%s", pb_err_text(&err));
	cfg.port = 70000;
	pb_err_init(&err);
	cr_assert_eq(pb_admin_new(ctx2, &cfg, &a, &err), PB_E_INVALID);
	cfg = (pb_admin_cfg){ .iface = NULL };
	cr_assert_eq(pb_admin_new(ctx2, &cfg, &a, &err), PB_E_INVALID);
	/* No metrics registry: /metrics is simply not there. */
	cfg = (pb_admin_cfg){ .iface = "127.0.0.1" };
	cr_assert_eq(pb_admin_new(ctx2, &cfg, &a, &err), 0);
	pb_admin_free(a);
	pb_admin_free(NULL);
	lws_context_destroy(ctx2);
	server_stop(&s);
}

/* ---- external tools: promtool and a Prometheus server ---- */

/* Runs argv with `input` on stdin, stdout+stderr into out; the exit status, -1 if it could not be run. */
static int run_tool(char *const argv[], const char *input, pb_buf *out)
{
	int in[2], outp[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(outp, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* promtool reads everything before it reports, so writing first cannot deadlock. */
	for (size_t off = 0, len = strlen(input); off < len; off += (size_t)n) {
		n = write(in[1], input + off, len - off);
		if (n <= 0)
			break;
	}
	close(in[1]);
	while ((n = read(outp[0], buf, sizeof(buf))) > 0)
		pb_buf_append(out, buf, (size_t)n);
	close(outp[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(admin_http, metrics_pass_promtool_check, .timeout = 60)
{
	char *argv[] = { "promtool", "check", "metrics", NULL };
	server s;
	reply r;
	pb_buf out;
	int rc;

	server_start(&s);
	/* Label values that need escaping and non-ASCII text, every family populated. */
	pb_metric_inc(s.fam.commands, PB_LV("dé\"ploy\\", "fail\ned"));
	pb_metric_inc(s.fam.commands, PB_LV("status", "ok"));
	pb_metric_observe(s.fam.ack_latency, NULL, 0.0004);
	pb_metric_observe(s.fam.ack_latency, NULL, 42);
	pb_metric_set(s.fam.queue_depth, PB_LV("background"), 2);
	pb_metric_inc(s.fam.jobs_dropped, PB_LV("background"));
	pb_metric_inc(s.fam.slack_reconnects, NULL);
	pb_metric_inc(s.fam.slack_posts, PB_LV("ok"));
	pb_metric_inc(s.fam.slack_rate_limited, NULL);
	pb_metric_observe(s.fam.storage_tx, NULL, 0.003);
	get(&s, "/metrics", &r);
	cr_assert_eq(r.status, 200);

	pb_buf_init(&out);
	rc = run_tool(argv, pb_buf_str(&r.body), &out);
	cr_assert_neq(rc, -1, "promtool not found on PATH: install the Debian package prometheus "
			      "(scripts/deps.sh test)");
	cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s\n--- input ---\n%s", rc, pb_buf_str(&out),
		     pb_buf_str(&r.body));
	pb_buf_deinit(&out);
	pb_buf_deinit(&r.body);
	server_stop(&s);
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

static void print_log(const char *path)
{
	char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return;
	fseek(fp, -(long)sizeof(buf) + 1, SEEK_END);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_log_error("prometheus log (tail):\n%s", buf);
}

/* GET the Prometheus API; 0 and the parsed JSON when it answered 200. */
static cJSON *prom_get(int port, const char *path_query)
{
	CURL *h = curl_easy_init();
	pb_buf body;
	char url[512];
	long status = 0;
	cJSON *j = NULL;

	pb_buf_init(&body);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path_query);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
		j = cJSON_Parse(pb_buf_str(&body));
	curl_easy_cleanup(h);
	pb_buf_deinit(&body);
	return j;
}

/* The value of the first result of an instant query as a string, or NULL. */
static const char *query_value(cJSON *j)
{
	cJSON *res = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "result");
	cJSON *val = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, 0), "value");

	return cJSON_GetStringValue(cJSON_GetArrayItem(val, 1));
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

Test(admin_http, real_prometheus_scrapes_it, .timeout = 120)
{
	char dir[] = "/tmp/pb-prom-XXXXXX", cfg_path[64], tsdb[64], log_path[64], listen[64], yml[512];
	char cfg_flag[96], tsdb_flag[96];
	server s;
	int prom_port, status, fd;
	pid_t pid;
	bool up = false, exited = false;
	int64_t deadline;

	server_start(&s);
	pb_metric_inc(s.fam.slack_reconnects, NULL);
	pb_metric_inc(s.fam.slack_reconnects, NULL);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/prometheus.yml", dir);
	snprintf(tsdb, sizeof(tsdb), "%s/tsdb", dir);
	snprintf(log_path, sizeof(log_path), "%s/prometheus.log", dir);
	snprintf(yml, sizeof(yml),
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		 "scrape_configs:\n  - job_name: promobot\n    static_configs:\n"
		 "      - targets: ['127.0.0.1:%d']\n", pb_admin_port(s.admin));
	write_file(cfg_path, yml);
	prom_port = free_port();
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", prom_port);
	snprintf(cfg_flag, sizeof(cfg_flag), "--config.file=%s", cfg_path);
	snprintf(tsdb_flag, sizeof(tsdb_flag), "--storage.tsdb.path=%s", tsdb);
	char *argv[] = { "prometheus", cfg_flag, tsdb_flag, listen, "--log.level=warn", NULL };

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	/* Bounded polling of an external process: Prometheus offers no event to wait for. */
	deadline = pb_clock_mono_ms(NULL) + 60000;
	while (!up && pb_clock_mono_ms(NULL) < deadline) {
		cJSON *j = prom_get(prom_port, "/api/v1/query?query=up%7Bjob%3D%22promobot%22%7D");
		const char *v = query_value(j);

		up = v && !strcmp(v, "1");
		cJSON_Delete(j);
		if (!up && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		if (!up)
			nap_ms(100);
	}
	if (exited && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		cr_assert_fail("prometheus not found on PATH: install the Debian package prometheus (scripts/deps.sh test)");
	if (!up)
		print_log(log_path);
	cr_expect(!exited, "prometheus exited early (status %d)", status);
	cr_expect(up, "Prometheus never reported up{job=\"promobot\"} == 1");

	if (up) {
		/* The scrape stored our samples, and the target shows no scrape error. */
		cJSON *j = prom_get(prom_port, "/api/v1/query?query=promobot_slack_reconnects_total");
		const char *v = query_value(j);

		cr_expect(v && !strcmp(v, "2"), "promobot_slack_reconnects_total = %s", v ? v : "(none)");
		cJSON_Delete(j);
		j = prom_get(prom_port, "/api/v1/targets?state=active");
		cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(j, "data"), "activeTargets"), 0);
		cr_expect_str_eq(jstr(t, "health"), "up");
		cr_expect_str_eq(jstr(t, "lastError"), "");
		cJSON_Delete(j);
	}
	if (!exited) {
		kill(pid, SIGTERM);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "prometheus did not stop cleanly");
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	server_stop(&s);
}

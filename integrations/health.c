/* health.c — post-deploy validation: Neo4j (discovery, RETURN 1, probe node, timings), http GET, tcp. */
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "neo4j.h"
#include "pb_lane.h"
#include "pb_clock.h"
#include "pb_http.h"
#include "pb_json.h"
#include "pb_str.h"

#define HEALTH_RETRY_MS 200
#define HEALTH_MAX_QUERIES 1000

static void step(pb_health_report *rep, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void step(pb_health_report *rep, const char *name, bool ok, const char *fmt, ...)
{
	pb_health_step *s;
	va_list ap;

	if (rep->nsteps >= PB_HEALTH_MAX_STEPS)
		return;
	s = &rep->steps[rep->nsteps++];
	pb_strlcpy(s->name, name, sizeof(s->name));
	s->ok = ok;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

/* Records the failing step and returns PB_E_FAILED with err = "<step>: <why>". */
static int fail(pb_health_report *rep, pb_err *err, const char *name, const char *why)
{
	step(rep, name, false, "%s", why);
	snprintf(rep->cause, sizeof(rep->cause), "%s: %s", name, why);
	rep->ok = false;
	return pb_err_set(err, PB_E_FAILED, "validation failed at %s: %s", name, why);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double pb_health_percentile(double *v, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* Nearest rank = ceil(p/100 × n), without libm. */
	rank = (size_t)(p / 100.0 * (double)n);
	if ((double)rank < p / 100.0 * (double)n)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* ---- neo4j ---- */

/* A probe id nobody else uses: pid, wall clock ns and a process-wide counter. */
static void probe_id(char *out, size_t size)
{
	static atomic_uint counter;

	/* Unique per process and call; the time part only keeps ids apart across restarts. */
	snprintf(out, size, "promobot-probe-%ld-%lld-%u", (long)getpid(), (long long)pb_clock_wall_ms(NULL),
		 atomic_fetch_add(&counter, 1));
}

static int neo4j_discover_wait(pb_neo4j *n, long wait_ms, pb_neo4j_info *info, pb_err *err)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + (wait_ms > 0 ? wait_ms : 0);
	pb_err e;
	int r;

	for (;;) {
		pb_err_init(&e);
		r = pb_neo4j_discover(n, info, &e);
		/* Only "not reachable yet" is worth waiting for; a wrong answer is final. */
		if (r != PB_E_UNAVAILABLE || pb_clock_mono_ms(NULL) + HEALTH_RETRY_MS > deadline)
			break;
		pb_lane_leave();
		poll(NULL, 0, HEALTH_RETRY_MS);
		pb_lane_enter();
	}
	if (r)
		pb_err_set(err, r, "%s", pb_err_text(&e));
	return r;
}

static bool value_is_str(const cJSON *v, const char *s)
{
	return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

static int neo4j_probe(pb_neo4j *n, pb_health_report *rep, pb_err *err)
{
	char id[96], why[400];
	cJSON *params = cJSON_CreateObject();
	pb_neo4j_result res;
	pb_err e;
	int r, created = 0;

	probe_id(id, sizeof(id));
	if (!params || !cJSON_AddStringToObject(params, "id", id)) {
		cJSON_Delete(params);
		return -ENOMEM;
	}
	pb_err_init(&e);
	r = pb_neo4j_query(n, "CREATE (n:PromobotProbe {id: $id}) RETURN n.id", params, &res, &e);
	if (r == 0 && (res.nodes_created != 1 || !value_is_str(pb_neo4j_value(&res, 0, 0), id))) {
		snprintf(why, sizeof(why), "expected nodes_created=1 and the id back, got nodes_created=%d",
			 res.nodes_created);
		r = PB_E_FAILED;
	} else if (r) {
		snprintf(why, sizeof(why), "%s", pb_err_text(&e));
	}
	created = r == 0 || res.nodes_created > 0;
	pb_neo4j_result_deinit(&res);
	if (r) {
		r = fail(rep, err, "probe write", why);
		goto out;
	}
	step(rep, "probe write", true, "created PromobotProbe {id: %s} (nodes_created=1)", id);

	pb_err_init(&e);
	r = pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) RETURN n.id", params, &res, &e);
	if (r == 0 && (pb_neo4j_rows(&res) != 1 || !value_is_str(pb_neo4j_value(&res, 0, 0), id))) {
		snprintf(why, sizeof(why), "expected exactly the probe back, got %d row(s)", pb_neo4j_rows(&res));
		r = PB_E_FAILED;
	} else if (r) {
		snprintf(why, sizeof(why), "%s", pb_err_text(&e));
	}
	pb_neo4j_result_deinit(&res);
	if (r) {
		r = fail(rep, err, "probe read", why);
		goto out;
	}
	step(rep, "probe read", true, "read the probe back by id");

	pb_err_init(&e);
	r = pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) DETACH DELETE n", params, &res, &e);
	if (r == 0 && res.nodes_deleted != 1) {
		snprintf(why, sizeof(why), "expected nodes_deleted=1, got %d", res.nodes_deleted);
		r = PB_E_FAILED;
	} else if (r) {
		snprintf(why, sizeof(why), "%s", pb_err_text(&e));
	}
	pb_neo4j_result_deinit(&res);
	created = 0;
	if (r) {
		r = fail(rep, err, "probe delete", why);
		goto out;
	}
	step(rep, "probe delete", true, "deleted the probe (nodes_deleted=1)");
out:
	if (created) {
		/* Best effort: do not leave test data behind when a later step failed. */
		pb_err_init(&e);
		if (pb_neo4j_query(n, "MATCH (n:PromobotProbe {id: $id}) DETACH DELETE n", params, &res, &e) == 0)
			pb_neo4j_result_deinit(&res);
	}
	cJSON_Delete(params);
	return r;
}

static int neo4j_timings(pb_neo4j *n, int count, pb_health_report *rep, pb_err *err)
{
	double *ms;
	pb_neo4j_result res;
	pb_err e;
	int i, r = 0;

	if (count <= 0)
		count = 20;
	if (count > HEALTH_MAX_QUERIES)
		count = HEALTH_MAX_QUERIES;
	ms = calloc((size_t)count, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		pb_err_init(&e);
		r = pb_neo4j_query(n, "RETURN 1", NULL, &res, &e);
		ms[i] = res.ms;
		pb_neo4j_result_deinit(&res);
		if (r) {
			char why[450];

			snprintf(why, sizeof(why), "query %d of %d: %s", i + 1, count, pb_err_text(&e));
			r = fail(rep, err, "timed queries", why);
			goto out;
		}
	}
	rep->queries = count;
	rep->p50_ms = pb_health_percentile(ms, (size_t)count, 50);
	rep->p95_ms = pb_health_percentile(ms, (size_t)count, 95);
	rep->max_ms = ms[count - 1];
	step(rep, "response times", true, "%d × RETURN 1: p50 %.1f ms, p95 %.1f ms, max %.1f ms", count,
	     rep->p50_ms, rep->p95_ms, rep->max_ms);
out:
	free(ms);
	return r;
}

static int run_neo4j(const pb_health_cfg *cfg, long wait_ms, pb_health_report *rep, pb_err *err)
{
	pb_neo4j *n = NULL;
	pb_neo4j_info info;
	pb_neo4j_result res;
	char *password = NULL;
	const cJSON *v;
	int64_t one;
	double ms;
	pb_err e;
	int r;

	if (!cfg->url)
		return pb_err_set(err, PB_E_INVALID, "neo4j validation needs a url");
	if (cfg->password_env || cfg->password_file) {
		pb_err_init(&e);
		password = pb_secret_read(cfg->password_env, cfg->password_file, &e);
		if (!password)
			return fail(rep, err, "credentials", pb_err_text(&e));
	}
	r = pb_neo4j_new(cfg->url, cfg->user, password, cfg->database, cfg->timeout_ms, &n);
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	if (r)
		return r < 0 ? r : pb_err_set(err, r, "neo4j client for %s", cfg->url);

	pb_err_init(&e);
	r = neo4j_discover_wait(n, wait_ms, &info, &e);
	if (r) {
		r = fail(rep, err, "discovery", pb_err_text(&e));
		goto out;
	}
	pb_strlcpy(rep->version, info.version, sizeof(rep->version));
	step(rep, "discovery", true, "Neo4j %s %s at %s", info.version, info.edition, cfg->url);

	pb_err_init(&e);
	r = pb_neo4j_query(n, "RETURN 1", NULL, &res, &e);
	v = r ? NULL : pb_neo4j_value(&res, 0, 0);
	ms = res.ms;
	if (r == 0 && pb_json_int_item(v, 1, 1, &one) != 0) {
		pb_neo4j_result_deinit(&res);
		r = fail(rep, err, "RETURN 1", "the reply did not contain 1");
		goto out;
	}
	pb_neo4j_result_deinit(&res);
	if (r) {
		r = fail(rep, err, "RETURN 1", pb_err_text(&e));
		goto out;
	}
	step(rep, "RETURN 1", true, "1 (%.1f ms)", ms);

	pb_err_init(&e);
	r = pb_neo4j_query(n, "CALL dbms.components()", NULL, &res, &e);
	if (r) {
		r = fail(rep, err, "version", pb_err_text(&e));
		goto out;
	}
	v = cJSON_GetArrayItem(pb_neo4j_value(&res, 0, 1), 0);
	step(rep, "version", true, "%s %s", cJSON_IsString(pb_neo4j_value(&res, 0, 0)) ?
	     pb_neo4j_value(&res, 0, 0)->valuestring : "Neo4j", cJSON_IsString(v) ? v->valuestring : "?");
	pb_neo4j_result_deinit(&res);

	r = neo4j_probe(n, rep, err);
	if (r)
		goto out;
	r = neo4j_timings(n, cfg->queries, rep, err);
out:
	pb_neo4j_free(n);
	return r;
}

/* ---- http ---- */

static int run_http(const pb_health_cfg *cfg, long wait_ms, pb_health_report *rep, pb_err *err)
{
	pb_http_req q = { .method = "GET", .url = cfg->url, .max_body = 1 << 20 };
	int expect = cfg->expect_status ? cfg->expect_status : 200;
	int64_t deadline = pb_clock_mono_ms(NULL) + (wait_ms > 0 ? wait_ms : 0);
	pb_http_resp resp;
	pb_http *h = NULL;
	char why[600];
	pb_err e;
	int r;

	if (!cfg->url)
		return pb_err_set(err, PB_E_INVALID, "http validation needs a url");
	q.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	r = pb_http_new(&h);
	if (r)
		return r < 0 ? r : pb_err_set(err, r, "http client");
	pb_http_resp_init(&resp);
	for (;;) {
		pb_err_init(&e);
		r = pb_http_do(h, &q, &resp, &e);
		if (r != PB_E_UNAVAILABLE || pb_clock_mono_ms(NULL) + HEALTH_RETRY_MS > deadline)
			break;
		pb_lane_leave();
		poll(NULL, 0, HEALTH_RETRY_MS);
		pb_lane_enter();
	}
	if (r) {
		r = fail(rep, err, "http GET", pb_err_text(&e));
	} else if (resp.status != expect) {
		snprintf(why, sizeof(why), "GET %s answered HTTP %ld, expected %d", cfg->url, resp.status, expect);
		r = fail(rep, err, "http GET", why);
	} else {
		step(rep, "http GET", true, "GET %s → %ld in %.1f ms", cfg->url, resp.status, resp.total_ms);
	}
	pb_http_resp_deinit(&resp);
	pb_http_free(h);
	return r;
}

/* ---- tcp ---- */

int pb_health_tcp_connect(const char *host, int port, int timeout_ms, char *why, size_t wsize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	char ps[16];
	int r, fd = -1, ok = 0;

	snprintf(ps, sizeof(ps), "%d", port);
	r = getaddrinfo(host, ps, &hints, &ai);
	if (r) {
		snprintf(why, wsize, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	snprintf(why, wsize, "connect %s:%d: no address", host, port);
	for (a = ai; a && !ok; a = a->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		r = connect(fd, a->ai_addr, a->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			pb_lane_leave();
			r = poll(&p, 1, timeout_ms);
			pb_lane_enter();
			if (r == 0) {
				snprintf(why, wsize, "connect %s:%d: timed out after %d ms", host, port, timeout_ms);
				close(fd);
				continue;
			}
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			r = soerr ? -1 : 0;
			errno = soerr;
		}
		if (r == 0)
			ok = 1;
		else
			snprintf(why, wsize, "connect %s:%d: %s", host, port, strerror(errno));
		close(fd);
	}
	freeaddrinfo(ai);
	return ok ? 0 : -1;
}

static int run_tcp(const pb_health_cfg *cfg, long wait_ms, pb_health_report *rep, pb_err *err)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + (wait_ms > 0 ? wait_ms : 0);
	int timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	const char *host = cfg->host ? cfg->host : "127.0.0.1";
	char why[300];
	int64_t t0;

	if (cfg->port <= 0 || cfg->port > 65535)
		return pb_err_set(err, PB_E_INVALID, "tcp validation needs a port");
	for (;;) {
		t0 = pb_clock_mono_ms(NULL);
		if (pb_health_tcp_connect(host, cfg->port, timeout, why, sizeof(why)) == 0) {
			step(rep, "tcp connect", true, "%s:%d accepted a connection in %lld ms", host, cfg->port,
			     (long long)(pb_clock_mono_ms(NULL) - t0));
			return 0;
		}
		if (pb_clock_mono_ms(NULL) + HEALTH_RETRY_MS > deadline)
			break;
		pb_lane_leave();
		poll(NULL, 0, HEALTH_RETRY_MS);
		pb_lane_enter();
	}
	return fail(rep, err, "tcp connect", why);
}

int pb_health_run(const pb_health_cfg *cfg, long wait_ms, pb_health_report *rep, pb_err *err)
{
	int r;

	memset(rep, 0, sizeof(*rep));
	switch (cfg->kind) {
	case PB_HEALTH_NONE:
		step(rep, "validation", true, "no post-deployment validation configured");
		r = 0;
		break;
	case PB_HEALTH_NEO4J:
		r = run_neo4j(cfg, wait_ms, rep, err);
		break;
	case PB_HEALTH_HTTP:
		r = run_http(cfg, wait_ms, rep, err);
		break;
	case PB_HEALTH_TCP:
		r = run_tcp(cfg, wait_ms, rep, err);
		break;
	default:
		r = pb_err_set(err, PB_E_INVALID, "unknown validation kind %d", (int)cfg->kind);
		break;
	}
	rep->ok = r == 0;
	if (r && !rep->cause[0])
		snprintf(rep->cause, sizeof(rep->cause), "%s", pb_err_text(err));
	return r;
}

/* probe.c — liveness probes for observation: neo4j RETURN 1 on a reused connection, http GET, tcp connect. */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "neo4j.h"
#include "pb_clock.h"
#include "pb_http.h"
#include "pb_json.h"
#include "pb_str.h"

struct pb_probe {
	pb_health_kind kind;
	int deadline_ms;
	char *url;
	char *host;
	int port;
	int expect;
	pb_neo4j *neo4j;   /* owns its curl handle: the connection stays open between checks */
	pb_http *http;
};

void pb_probe_free(pb_probe *p)
{
	if (!p)
		return;
	pb_neo4j_free(p->neo4j);
	pb_http_free(p->http);
	free(p->url);
	free(p->host);
	free(p);
}

static int probe_neo4j_new(pb_probe *p, const pb_health_cfg *cfg, pb_err *err)
{
	char *password = NULL;
	int r;

	if (cfg->password_env || cfg->password_file) {
		password = pb_secret_read(cfg->password_env, cfg->password_file, err);
		if (!password)
			return PB_E_INVALID;
	}
	r = pb_neo4j_new(cfg->url, cfg->user, password, cfg->database, p->deadline_ms, &p->neo4j);
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	return r ? pb_err_set(err, r < 0 ? r : PB_E_INVALID, "neo4j probe for %s", cfg->url) : 0;
}

int pb_probe_new(const pb_health_cfg *cfg, int deadline_ms, pb_probe **out, pb_err *err)
{
	pb_probe *p = calloc(1, sizeof(*p));
	int r = 0;

	*out = NULL;
	if (!p)
		return pb_err_set(err, -ENOMEM, "out of memory");
	p->kind = cfg->kind;
	p->deadline_ms = deadline_ms > 0 ? deadline_ms : 5000;
	p->expect = cfg->expect_status ? cfg->expect_status : 200;
	p->port = cfg->port;
	p->url = pb_strdup0(cfg->url);
	p->host = pb_strdup0(cfg->host ? cfg->host : "127.0.0.1");
	if ((cfg->url && !p->url) || !p->host)
		r = pb_err_set(err, -ENOMEM, "out of memory");
	else if ((p->kind == PB_HEALTH_NEO4J || p->kind == PB_HEALTH_HTTP) && !p->url)
		r = pb_err_set(err, PB_E_INVALID, "the probe needs a url");
	else if (p->kind == PB_HEALTH_TCP && (p->port <= 0 || p->port > 65535))
		r = pb_err_set(err, PB_E_INVALID, "the tcp probe needs a port");
	else if (p->kind == PB_HEALTH_NEO4J)
		r = probe_neo4j_new(p, cfg, err);
	else if (p->kind == PB_HEALTH_HTTP && pb_http_new(&p->http))
		r = pb_err_set(err, -ENOMEM, "http client");
	if (r) {
		pb_probe_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* A failure that took (nearly) the whole deadline is a timeout, whatever the transport said. */
static pb_probe_result timed_out_or(const pb_probe *p, int64_t t0, pb_probe_result other)
{
	return pb_clock_mono_ms(NULL) - t0 >= p->deadline_ms - p->deadline_ms / 20 ? PB_PROBE_TIMEOUT : other;
}

static int32_t elapsed_us(double ms)
{
	double us = ms * 1000.0;

	return us < 0 ? 0 : us > 2e9 ? 2000000000 : (int32_t)us;
}

static pb_probe_result run_neo4j(pb_probe *p, int32_t *lat, char *detail, size_t size)
{
	int64_t t0 = pb_clock_mono_ms(NULL), one = 0;
	pb_neo4j_result res;
	pb_probe_result out;
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_neo4j_query(p->neo4j, "RETURN 1", NULL, &res, &e);
	if (r == PB_E_REFUSED) {
		snprintf(detail, size, "%s", pb_err_text(&e));
		return PB_PROBE_AUTH;
	}
	if (r) {
		snprintf(detail, size, "%s", pb_err_text(&e));
		return timed_out_or(p, t0, PB_PROBE_ERROR);
	}
	if (pb_json_int_item(pb_neo4j_value(&res, 0, 0), 1, 1, &one) == 0) {
		*lat = elapsed_us(res.ms);
		out = PB_PROBE_UP;
	} else {
		snprintf(detail, size, "RETURN 1 did not answer 1");
		out = PB_PROBE_ERROR;
	}
	pb_neo4j_result_deinit(&res);
	return out;
}

static pb_probe_result run_http(pb_probe *p, int32_t *lat, char *detail, size_t size)
{
	pb_http_req q = { .method = "GET", .url = p->url, .max_body = 1 << 16, .timeout_ms = p->deadline_ms,
			  .connect_timeout_ms = p->deadline_ms };
	int64_t t0 = pb_clock_mono_ms(NULL);
	pb_probe_result out = PB_PROBE_UP;
	pb_http_resp resp;
	pb_err e;

	pb_err_init(&e);
	pb_http_resp_init(&resp);
	if (pb_http_do(p->http, &q, &resp, &e)) {
		snprintf(detail, size, "%s", pb_err_text(&e));
		out = timed_out_or(p, t0, PB_PROBE_ERROR);
	} else if (resp.status == 401 || resp.status == 403) {
		snprintf(detail, size, "GET %s answered HTTP %ld", p->url, resp.status);
		out = PB_PROBE_AUTH;
	} else if (resp.status != p->expect) {
		snprintf(detail, size, "GET %s answered HTTP %ld, expected %d", p->url, resp.status, p->expect);
		out = PB_PROBE_ERROR;
	} else {
		*lat = elapsed_us(resp.total_ms);
	}
	pb_http_resp_deinit(&resp);
	return out;
}

static pb_probe_result run_tcp(pb_probe *p, int32_t *lat, char *detail, size_t size)
{
	int64_t t0 = pb_clock_mono_ms(NULL);
	char why[300];

	if (pb_health_tcp_connect(p->host, p->port, p->deadline_ms, why, sizeof(why))) {
		snprintf(detail, size, "%s", why);
		return timed_out_or(p, t0, PB_PROBE_ERROR);
	}
	*lat = elapsed_us((double)(pb_clock_mono_ms(NULL) - t0));
	return PB_PROBE_UP;
}

pb_probe_result pb_probe_run(pb_probe *p, int32_t *latency_us, char *detail, size_t size)
{
	*latency_us = -1;
	if (size)
		detail[0] = 0;
	switch (p->kind) {
	case PB_HEALTH_NEO4J:
		return run_neo4j(p, latency_us, detail, size);
	case PB_HEALTH_HTTP:
		return run_http(p, latency_us, detail, size);
	case PB_HEALTH_TCP:
		return run_tcp(p, latency_us, detail, size);
	case PB_HEALTH_NONE:
	default:
		return PB_PROBE_NONE;
	}
}

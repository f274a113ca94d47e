/* admin_http.c — /healthz and /metrics served by one lws vhost on the loop thread. */
#include "admin_http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pb_log.h"
#include "pb_str.h"

#define ADMIN_PROTOCOL "promobot-admin"
#define REASON_MAX 256
#define BODY_DISCARD_MAX (64 * 1024) /* request bodies are never used: refuse big ones */
#define WRITE_CHUNK (16 * 1024)

#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct pb_admin {
	struct lws_vhost *vh;
	struct admin_vh *priv;
	pb_metrics *metrics;
	pb_admin_health_fn health;
	void *health_ud;
	const char *(*role)(void *health_ud);
	int port;
};

/*
 * Per-vhost storage owned by lws (freed with the vhost, which lws 4.1 may do
 * only when the context goes). Callbacks reach the admin through it, and
 * pb_admin_free clears the pointer first, so a late callback never touches a
 * freed pb_admin.
 */
typedef struct admin_vh {
	pb_admin *admin;
} admin_vh;

/* Per connection: the response being written. Everything WRITEABLE needs is here. */
typedef struct admin_pss {
	pb_buf resp;          /* LWS_PRE bytes of headroom, then the body */
	size_t sent;          /* body bytes written so far */
	unsigned status;
	const char *ctype;
	bool ready;           /* a response is prepared */
	bool wait_body;       /* answer after the request body has been read (and dropped) */
	bool headers_sent;
	bool allow_header;
	bool close_after;     /* the request's end is unknown: drop the connection after answering */
	size_t body_seen;
} admin_pss;

static int admin_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols admin_protocols[] = {
	{ ADMIN_PROTOCOL, admin_cb, sizeof(admin_pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- responses ---- */

static void pss_reset(admin_pss *p)
{
	pb_buf_deinit(&p->resp);
	memset(p, 0, sizeof(*p));
}

/* Starts the response buffer with lws's headroom so the body can be written in place. */
static void resp_begin(admin_pss *p, unsigned status, const char *ctype)
{
	static const char pad[LWS_PRE];

	pss_reset(p);
	pb_buf_append(&p->resp, pad, sizeof(pad));
	p->status = status;
	p->ctype = ctype;
	p->ready = true;
}

/* A JSON body: {"status": status_word[, "reason": reason][, "role": role][, "version": …]}. */
static void resp_json(admin_pss *p, unsigned status, const char *word, const char *reason, const char *role,
		      bool version)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	resp_begin(p, status, CT_JSON);
	if (o && cJSON_AddStringToObject(o, "status", word) &&
	    (!reason || cJSON_AddStringToObject(o, "reason", reason)) &&
	    (!role || cJSON_AddStringToObject(o, "role", role)) &&
	    (!version || cJSON_AddStringToObject(o, "version", PROMOBOT_VERSION)))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		p->resp.oom = 1;
		return;
	}
	pb_buf_puts(&p->resp, text);
	pb_buf_puts(&p->resp, "\n");
	free(text);
}

static void serve_healthz(pb_admin *a, admin_pss *p)
{
	char reason[REASON_MAX] = "";
	const char *role = a->role ? a->role(a->health_ud) : NULL;

	if (!a->health || a->health(a->health_ud, reason, sizeof(reason)) == 0) {
		resp_json(p, HTTP_STATUS_OK, "ok", NULL, role, true);
		return;
	}
	reason[sizeof(reason) - 1] = '\0';
	/* JSON must be UTF-8: a callback's mangled text must not break the body. */
	if (!reason[0] || !pb_utf8_valid(reason, strlen(reason)))
		pb_strlcpy(reason, "unhealthy (no readable reason given)", sizeof(reason));
	resp_json(p, HTTP_STATUS_SERVICE_UNAVAILABLE, "unavailable", reason, role, false);
}

static void serve_metrics(pb_admin *a, admin_pss *p)
{
	resp_begin(p, HTTP_STATUS_OK, CT_METRICS);
	if (pb_metrics_render(a->metrics, &p->resp) < 0)
		p->resp.oom = 1;
}

/* Routes one request; the response is written when the connection turns writeable. */
static void route(pb_admin *a, struct lws *wsi, admin_pss *p, const char *path)
{
	char *uri = NULL, cl[24] = "";
	int uri_len = 0, method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);

	if (method != LWSHUMETH_GET) {
		resp_json(p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed", NULL, NULL, false);
		p->allow_header = true;
		/*
		 * Keep-alive stays in step only if a declared body is read (and
		 * dropped) first. A POST/PUT/PATCH without Content-Length makes lws
		 * take everything that follows as its body: answer and close.
		 */
		if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
			p->wait_body = strcmp(cl, "0") != 0;
		else if (method == LWSHUMETH_POST || method == LWSHUMETH_PUT || method == LWSHUMETH_PATCH)
			p->close_after = true;
	} else if (!strcmp(path, "/healthz")) {
		serve_healthz(a, p);
	} else if (!strcmp(path, "/metrics") && a->metrics) {
		serve_metrics(a, p);
	} else {
		resp_json(p, HTTP_STATUS_NOT_FOUND, "not found", NULL, NULL, false);
	}
	if (p->resp.oom) {
		bool wait_body = p->wait_body, close_after = p->close_after;

		resp_json(p, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory", NULL, NULL, false);
		p->wait_body = wait_body;
		p->close_after = close_after;
	}
}

static int write_headers(struct lws *wsi, admin_pss *p)
{
	unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *q = start, *end = &buf[sizeof(buf) - 1];
	size_t body = p->resp.len - LWS_PRE;

	if (lws_add_http_common_headers(wsi, p->status, p->ctype, body, &q, end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &q, end))
		return -1;
	if (p->close_after &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:", (const unsigned char *)"close",
					5, &q, end))
		return -1;
	if (p->allow_header &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:", (const unsigned char *)"GET", 3,
					&q, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &q, end))
		return -1;
	p->headers_sent = true;
	return 0;
}

/* Headers in one WRITEABLE, then the body in chunks; the last one ends the transaction. */
static int write_some(struct lws *wsi, admin_pss *p)
{
	size_t body, n;
	bool last;

	if (!p->ready || p->wait_body)
		return 0;
	if (p->resp.oom || p->resp.len < LWS_PRE)
		return -1;  /* even the 500 did not fit: drop the connection */
	body = p->resp.len - LWS_PRE;
	if (!p->headers_sent) {
		if (write_headers(wsi, p))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	n = body - p->sent > WRITE_CHUNK ? WRITE_CHUNK : body - p->sent;
	last = p->sent + n == body;
	/* The bytes before this chunk were already handed to lws: they serve as its headroom. */
	if (lws_write(wsi, (unsigned char *)p->resp.data + LWS_PRE + p->sent, n,
		      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
		return -1;
	p->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (p->close_after)
		return -1;
	pss_reset(p);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static pb_admin *admin_of(struct lws *wsi)
{
	admin_vh *v = lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));

	return v ? v->admin : NULL;
}

static int admin_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	admin_pss *p = user;
	pb_admin *a;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!(a = admin_of(wsi)) || !p)
			return -1;  /* being freed: close */
		route(a, wsi, p, in ? in : "");
		if (!p->wait_body)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (p && (p->body_seen += len) > BODY_DISCARD_MAX)
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (p && p->ready) {
			p->wait_body = false;
			lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return p ? write_some(wsi, p) : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (p)
			pss_reset(p);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- lifecycle ---- */

int pb_admin_new(struct lws_context *ctx, const pb_admin_cfg *cfg, pb_admin **out, pb_err *err)
{
	struct lws_context_creation_info info;
	const struct lws_protocols *prot;
	pb_admin *a;

	*out = NULL;
	if (!ctx || !cfg || !cfg->iface || !*cfg->iface || cfg->port < 0 || cfg->port > 65535)
		return pb_err_set(err, PB_E_INVALID, "admin http: need an interface and a port in 0..65535");
	if (!(a = calloc(1, sizeof(*a))))
		return pb_err_set(err, -ENOMEM, "admin http: out of memory");
	a->metrics = cfg->metrics;
	a->health = cfg->health;
	a->health_ud = cfg->health_ud;
	a->role = cfg->role;

	memset(&info, 0, sizeof(info));
	info.vhost_name = cfg->vhost_name ? cfg->vhost_name : ADMIN_PROTOCOL;
	info.iface = cfg->iface;
	info.port = cfg->port;
	info.protocols = admin_protocols;
	info.keepalive_timeout = 30;  /* Prometheus keeps its scrape connection between scrapes */
	a->vh = lws_create_vhost(ctx, &info);
	if (!a->vh) {
		free(a);
		return pb_err_set(err, PB_E_UNAVAILABLE, "admin http: cannot listen on %s:%d", cfg->iface,
				  cfg->port);
	}
	prot = lws_vhost_name_to_protocol(a->vh, ADMIN_PROTOCOL);
	a->priv = prot ? lws_protocol_vh_priv_zalloc(a->vh, prot, sizeof(*a->priv)) : NULL;
	a->port = lws_get_vhost_listen_port(a->vh);
	if (!a->priv || a->port <= 0) {
		int rc = a->priv ? PB_E_UNAVAILABLE : -ENOMEM;

		pb_admin_free(a);
		return pb_err_set(err, rc, "admin http: cannot listen on %s:%d", cfg->iface, cfg->port);
	}
	a->priv->admin = a;
	pb_info("admin", "serving /healthz and /metrics on http://%s:%d", cfg->iface, a->port);
	*out = a;
	return 0;
}

int pb_admin_port(const pb_admin *a)
{
	return a ? a->port : 0;
}

void pb_admin_free(pb_admin *a)
{
	if (!a)
		return;
	if (a->priv)
		a->priv->admin = NULL;
	if (a->vh)
		lws_vhost_destroy(a->vh);
	free(a);
}

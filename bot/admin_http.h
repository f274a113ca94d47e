/* admin_http.h — the admin HTTP listener (/healthz, /metrics) as one vhost on the bot's lws context. */
#ifndef PB_ADMIN_HTTP_H
#define PB_ADMIN_HTTP_H

#include <stddef.h>

#include "pb_err.h"
#include "pb_metrics.h"

struct lws_context;

/*
 * Reports whether the bot is healthy: 0 healthy, non-zero unavailable with a
 * short human reason (UTF-8, NUL-terminated) written into `reason`.
 *
 * It runs on the loop thread for every GET /healthz, so it MUST be cheap and
 * never block: no storage call, no HTTP, no lock a worker may hold for long.
 * Feed it from results the bot caches (a probe job on a worker pool writes
 * them, the callback reads them under a short mutex or atomically).
 */
typedef int (*pb_admin_health_fn)(void *ud, char *reason, size_t size);

typedef struct pb_admin_cfg {
	const char *iface;        /* "127.0.0.1" (an address or interface name), required */
	int port;                 /* 0 picks a free port: read it with pb_admin_port */
	const char *vhost_name;   /* NULL: "promobot-admin" */
	pb_metrics *metrics;      /* rendered at /metrics, not owned; NULL: /metrics is 404 */
	pb_admin_health_fn health; /* NULL: always healthy */
	void *health_ud;
	/* "leader" | "follower": the /healthz body's "role" (same rules as health; NULL: no role). */
	const char *(*role)(void *health_ud);
} pb_admin_cfg;

typedef struct pb_admin pb_admin;

/*
 * Creates the listening vhost on `ctx`, which the caller created with
 * LWS_SERVER_OPTION_EXPLICIT_VHOSTS and services on its loop thread. Routes:
 *   GET /healthz  200 {"status":"ok","role":"leader",...} or 503 {"status":"unavailable","reason":"…",…}
 *   GET /metrics  200 text/plain; version=0.0.4 (pb_metrics_render of cfg->metrics)
 *   other paths   404;  other methods  405 with "Allow: GET"
 * Call it on the loop thread or before the loop runs. cfg's strings are used
 * during the call only; metrics and health_ud must outlive the admin.
 * 0 ok; PB_E_INVALID (bad cfg), PB_E_UNAVAILABLE (cannot listen there: port
 * taken, no such interface), -ENOMEM; text in err.
 */
int pb_admin_new(struct lws_context *ctx, const pb_admin_cfg *cfg, pb_admin **out, pb_err *err);
/* The bound TCP port (the ephemeral one when cfg->port was 0). */
int pb_admin_port(const pb_admin *a);
/*
 * Stops serving and destroys the vhost. Call it on the loop thread (or while
 * no thread services the context) and before lws_context_destroy. Requests
 * that arrive while lws finishes closing the vhost get their connection
 * closed. NULL-safe.
 */
void pb_admin_free(pb_admin *a);

#endif

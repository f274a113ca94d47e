/* pb_http.h — small libcurl wrapper shared by Slack, GitHub, Docker and Neo4j clients. */
#ifndef PB_HTTP_H
#define PB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_err.h"
#include "pb_str.h"

/*
 * One pb_http per thread (it owns a CURL easy handle: connections are reused).
 * Requests are synchronous with a total timeout; response bodies are capped
 * (max_body) so a hostile peer cannot exhaust memory.
 */
typedef struct pb_http pb_http;

typedef struct pb_http_header { const char *name; const char *value; } pb_http_header;

typedef struct pb_http_req {
	const char *method;          /* "GET", "POST", "DELETE", "PUT", "PATCH" */
	const char *url;
	const char *unix_socket;     /* optional: talk HTTP over this socket */
	const pb_http_header *headers;
	size_t nheaders;
	const void *body;            /* NULL = no body; for POST sends a zero-length body */
	size_t body_len;
	long timeout_ms;             /* total; default 30000 */
	long connect_timeout_ms;     /* default 5000 */
	size_t max_body;             /* default 8 MiB; larger → error PB_E_UNAVAILABLE */
	const char *ca_file;         /* optional CA bundle; default system store */
	/* Optional streaming: called for each chunk as it arrives instead of buffering
	 * (resp.body stays empty). Return non-zero to abort the transfer. */
	int (*on_data)(void *ud, const char *data, size_t len);
	void *on_data_ud;
} pb_http_req;

typedef struct pb_http_resp {
	long status;
	pb_buf body;
	pb_buf headers;              /* raw header block, lines "Name: value\r\n" */
	double total_ms;
	/* After a failure: true when request bytes went out, so the peer may have acted on it
	 * (a timeout or reset after sending); false when it provably never left (DNS, connect, TLS). */
	bool maybe_sent;
} pb_http_resp;

/* Initialises libcurl once per process (thread-safe, pthread_once); pb_http_new calls it.
 * 0 ok, PB_E_UNAVAILABLE when curl_global_init failed. */
int pb_http_global_init(void);
int pb_http_new(pb_http **out);
void pb_http_free(pb_http *h);
void pb_http_resp_init(pb_http_resp *r);
void pb_http_resp_deinit(pb_http_resp *r);

/*
 * Performs the request. 0 when an HTTP response arrived (any status: check
 * resp->status), PB_E_UNAVAILABLE with err set when the peer could not be
 * reached, timed out, or sent more than max_body. <0 on allocation failure.
 */
int pb_http_do(pb_http *h, const pb_http_req *req, pb_http_resp *resp, pb_err *err);
/* Case-insensitive header lookup in resp->headers; copies the value into out. 0 ok, PB_E_NOTFOUND. */
int pb_http_resp_header(const pb_http_resp *resp, const char *name, char *out, size_t size);
/* Percent-encodes s for a path segment or query value (malloc'd). */
char *pb_http_escape(const char *s);

#endif

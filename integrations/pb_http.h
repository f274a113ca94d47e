/* pb_http.h — small libcurl wrapper shared by Slack, GitHub, Docker and Neo4j clients. */
#ifndef PB_HTTP_H
#define PB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_clock.h"

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
	bool follow_redirects;       /* follow 301/302/307/308 (at most 5; Authorization is not sent to another host) */
	/*
	 * Never sent twice by libcurl: it silently resends a request whose reused
	 * keep-alive connection died before any answer — for a POST that creates
	 * something, a duplicate nobody sees. With this set the body is handed to
	 * libcurl by a read callback that cannot rewind, so that resend fails
	 * instead (CURLE_SEND_FAIL_REWIND: the call fails with maybe_sent set) and
	 * keep-alive still serves every request that goes through; a request
	 * without a body goes on a new connection. Set it for every request that
	 * must not be repeated behind the caller's back.
	 */
	bool no_resend;
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
/*
 * The URL of the `link` header's rel="next" (RFC 8288, as GitHub paginates)
 * copied into out. 0 ok, PB_E_NOTFOUND when there is no next page,
 * PB_E_INVALID when it does not fit in out.
 */
int pb_http_link_next(const pb_http_resp *resp, char *out, size_t size);

/*
 * Retry policy around pb_http_do. A transport error is retried when the
 * request is idempotent or provably never left (!maybe_sent); a response is
 * handed to classify, which answers PB_HTTP_DONE (return it), a wait in ms
 * (> 0: the peer refused for now, e.g. a rate limit — always safe to repeat)
 * or PB_HTTP_RETRY (transient, e.g. 5xx: repeated only when idempotent, with
 * exponential backoff and jitter). Without classify, 5xx is PB_HTTP_RETRY.
 * Waits go through clock (tests use a pb_fake_clock: no real sleeping).
 */
#define PB_HTTP_DONE 0
#define PB_HTTP_RETRY (-1)

typedef struct pb_http_policy {
	int attempts;                /* tries in total, default 1 */
	bool idempotent;
	int64_t backoff_ms;          /* first backoff, doubled per retry; default 500 */
	int64_t backoff_max_ms;      /* default 30000 */
	int64_t max_wait_ms;         /* a classify wait longer than this is not waited; default 1 h */
	const pb_clock *clock;       /* NULL = system clock */
	uint64_t *rng;               /* jitter state (xorshift64, non-zero); NULL = no jitter */
	int64_t (*classify)(void *ud, const pb_http_resp *resp, int attempt);
	void *classify_ud;
	/*
	 * Asked right before every try (after any wait): false sends nothing more and
	 * returns PB_E_UNAVAILABLE (a caller that may no longer act, e.g. a replica
	 * that lost its leader lease while it waited). NULL = always send.
	 */
	bool (*may_send)(void *ud);
	void *may_send_ud;
	/* out */
	int tries;                   /* requests made */
	int64_t waited_ms;           /* time spent waiting between them */
} pb_http_policy;

/*
 * Like pb_http_do under pol. Returns what the last try returned; after
 * a non-idempotent failure resp->maybe_sent says whether it may have acted
 * (a 5xx answer counts as maybe sent). When a classify wait is over
 * max_wait_ms it returns 0 with that response and sets *resp as is.
 */
int pb_http_do_policy(pb_http *h, const pb_http_req *req, pb_http_policy *pol, pb_http_resp *resp,
		      pb_err *err);
/* Exponential backoff with "equal jitter" for retry n (0-based): [d/2, d], d = min(base·2^n, max). */
int64_t pb_http_backoff_ms(int64_t base_ms, int64_t max_ms, int n, uint64_t *rng);

/* Percent-encodes s for a path segment or query value (malloc'd). */
char *pb_http_escape(const char *s);

#endif

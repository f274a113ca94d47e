/* http.c — libcurl easy-handle wrapper: bounded bodies, unix sockets, streaming, safe errors. */
#include "pb_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "pb_lane.h"

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_CONNECT_MS 5000L
#define HTTP_DEFAULT_MAX_BODY ((size_t)8 << 20)

struct pb_http {
	CURL *curl;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pb_http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_rc == CURLE_OK ? 0 : PB_E_UNAVAILABLE;
}

int pb_http_new(pb_http **out)
{
	pb_http *h;

	*out = NULL;
	if (pb_http_global_init() != 0)
		return PB_E_UNAVAILABLE;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void pb_http_free(pb_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void pb_http_resp_init(pb_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	pb_buf_init(&r->body);
	pb_buf_init(&r->headers);
}

void pb_http_resp_deinit(pb_http_resp *r)
{
	if (!r)
		return;
	pb_buf_deinit(&r->body);
	pb_buf_deinit(&r->headers);
}

/* Per-request state shared with the curl callbacks. */
typedef struct http_xfer {
	const pb_http_req *req;
	pb_http_resp *resp;
	size_t body_off;    /* no_resend: how much of the body libcurl has read */
	size_t max_body;
	int over_cap;       /* the body exceeded max_body */
	int receiver_abort; /* on_data asked to stop */
	int oom;
} http_xfer;

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	http_xfer *x = ud;
	size_t len = size * nmemb;

	if (x->req->on_data) {
		if (x->req->on_data(x->req->on_data_ud, data, len) != 0) {
			x->receiver_abort = 1;
			return 0;
		}
		return len;
	}
	/* Abort before buffering so a hostile peer cannot make us allocate. */
	if (len > x->max_body - x->resp->body.len) {
		x->over_cap = 1;
		return 0;
	}
	if (pb_buf_append(&x->resp->body, data, len) < 0) {
		x->oom = 1;
		return 0;
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	http_xfer *x = ud;
	size_t len = size * nmemb;

	/* A new status line starts a new header block (e.g. after "100 Continue"). */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		pb_buf_reset(&x->resp->headers);
	if (x->resp->headers.len + len > 256 * 1024)
		return len; /* keep the first 256 KiB of headers, ignore the rest */
	if (pb_buf_append(&x->resp->headers, data, len) < 0) {
		x->oom = 1;
		return 0;
	}
	return len;
}

/* A header value with CR/LF would inject extra headers: refuse it. */
static int header_ok(const pb_http_header *hd)
{
	return hd->name && hd->value && !strpbrk(hd->name, "\r\n:") && !strpbrk(hd->value, "\r\n");
}

static int build_headers(const pb_http_req *req, struct curl_slist **out, pb_err *err)
{
	struct curl_slist *list = NULL, *n;
	pb_buf line;
	size_t i;

	pb_buf_init(&line);
	/* Without this libcurl waits for "100 Continue" on larger POST bodies. */
	n = curl_slist_append(list, "Expect:");
	if (!n)
		goto oom;
	list = n;
	for (i = 0; i < req->nheaders; i++) {
		if (!header_ok(&req->headers[i])) {
			curl_slist_free_all(list);
			pb_buf_deinit(&line);
			return pb_err_set(err, PB_E_INVALID, "%s %s: invalid request header",
					  req->method, req->url);
		}
		pb_buf_reset(&line);
		pb_buf_printf(&line, "%s: %s", req->headers[i].name, req->headers[i].value);
		if (line.oom)
			goto oom;
		n = curl_slist_append(list, pb_buf_str(&line));
		if (!n)
			goto oom;
		list = n;
	}
	pb_buf_deinit(&line);
	*out = list;
	return 0;
oom:
	curl_slist_free_all(list);
	pb_buf_deinit(&line);
	return -ENOMEM;
}

/* no_resend's body reader; no seek callback, so libcurl cannot rewind it for a silent resend. */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	http_xfer *x = ud;
	size_t left = x->req->body_len - x->body_off, n = size * nmemb;

	if (n > left)
		n = left;
	memcpy(buf, (const char *)x->req->body + x->body_off, n);
	x->body_off += n;
	return n;
}

static void set_method(CURL *c, const pb_http_req *req, http_xfer *x)
{
	const char *m = req->method ? req->method : "GET";
	const void *body = req->body ? req->body : "";
	curl_off_t len = req->body ? (curl_off_t)req->body_len : 0;

	if (strcmp(m, "GET") == 0 && !req->body) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		return;
	}
	if (strcmp(m, "POST") == 0 || req->body) {
		/* An explicit size (0 for no body) keeps libcurl from chunking:
		 * Docker rejects chunked empty POSTs on start/stop. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, len);
		if (req->no_resend && len > 0) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, x);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		}
	}
	if (strcmp(m, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
}

int pb_http_do(pb_http *h, const pb_http_req *req, pb_http_resp *resp, pb_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	http_xfer x;
	CURL *c;
	CURLcode rc;
	const char *method;
	double secs = 0;
	long sent = 0;
	int r;

	if (!h || !req || !req->url || !resp)
		return pb_err_set(err, PB_E_INVALID, "http: missing request");
	method = req->method ? req->method : "GET";
	c = h->curl;
	/* Reset keeps live connections, so keep-alive reuse still works. */
	curl_easy_reset(c);
	pb_buf_reset(&resp->body);
	pb_buf_reset(&resp->headers);
	resp->status = 0;
	resp->total_ms = 0;
	resp->maybe_sent = false;

	r = build_headers(req, &hdrs, err);
	if (r != 0)
		return r;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	x.max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	errbuf[0] = '\0';

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	if (req->unix_socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	set_method(c, req, &x);
	if (req->no_resend && !(req->body && req->body_len))
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L); /* nothing to refuse a rewind of */
	if (req->follow_redirects) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}

	pb_lane_leave(); /* the peer's answer is a wait, not our CPU work: a command pool's lane serves others */
	rc = curl_easy_perform(c);
	pb_lane_enter();
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
	resp->total_ms = secs * 1000.0;
	/* the resend libcurl wanted after the connection died: the request had gone out on it */
	resp->maybe_sent = sent > 0 || rc == CURLE_SEND_FAIL_REWIND;
	/* Drop the pointers into this call's stack before returning. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);

	if (x.oom || resp->body.oom || resp->headers.oom)
		return pb_err_set(err, -ENOMEM, "%s %s: out of memory", method, req->url);
	if (x.over_cap)
		return pb_err_set(err, PB_E_UNAVAILABLE, "%s %s: response larger than %zu bytes",
				  method, req->url, x.max_body);
	if (x.receiver_abort)
		return pb_err_set(err, PB_E_UNAVAILABLE, "%s %s: transfer stopped by the receiver",
				  method, req->url);
	if (rc != CURLE_OK) {
		/* The URL and curl's text never contain header values (Authorization). */
		if (errbuf[0] && strcmp(errbuf, curl_easy_strerror(rc)) != 0)
			return pb_err_set(err, PB_E_UNAVAILABLE, "%s %s: %s (%s)", method, req->url,
					  curl_easy_strerror(rc), errbuf);
		return pb_err_set(err, PB_E_UNAVAILABLE, "%s %s: %s", method, req->url,
				  curl_easy_strerror(rc));
	}
	return 0;
}

int pb_http_resp_header(const pb_http_resp *resp, const char *name, char *out, size_t size)
{
	const char *p = pb_buf_str(&resp->headers);
	size_t nlen = strlen(name);

	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);

		if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			size_t len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && isspace((unsigned char)end[-1]))
				end--;
			len = (size_t)(end - v);
			if (size) {
				if (len >= size)
					len = size - 1;
				memcpy(out, v, len);
				out[len] = '\0';
			}
			return 0;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	if (size)
		out[0] = '\0';
	return PB_E_NOTFOUND;
}

int pb_http_link_next(const pb_http_resp *resp, char *out, size_t size)
{
	char link[8192];
	const char *p;

	if (size)
		out[0] = '\0';
	if (pb_http_resp_header(resp, "link", link, sizeof(link)) != 0)
		return PB_E_NOTFOUND;
	/* <url>; rel="next", <url>; rel="last" — parameters may come in any order. */
	for (p = link; (p = strchr(p, '<')) != NULL;) {
		const char *end = strchr(p, '>'), *params, *next;
		size_t len;

		if (!end)
			break;
		params = end + 1;
		next = strchr(params, '<');
		len = next ? (size_t)(next - params) : strlen(params);
		for (const char *q = params; q + 10 <= params + len; q++) {
			if (strncasecmp(q, "rel=\"next\"", 10) == 0 || strncasecmp(q, "rel=next", 8) == 0) {
				size_t ulen = (size_t)(end - p - 1);

				if (ulen + 1 > size)
					return PB_E_INVALID;
				memcpy(out, p + 1, ulen);
				out[ulen] = '\0';
				return 0;
			}
		}
		p = end + 1;
	}
	return PB_E_NOTFOUND;
}

int64_t pb_http_backoff_ms(int64_t base_ms, int64_t max_ms, int n, uint64_t *rng)
{
	int64_t d = base_ms > 0 ? base_ms : 500;

	if (max_ms <= 0)
		max_ms = 30000;
	while (n-- > 0 && d < max_ms)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (rng && *rng) {
		uint64_t x = *rng;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*rng = x;
		return d / 2 + (int64_t)(x % (uint64_t)(d / 2 + 1));
	}
	return d;
}

static int64_t default_classify(const pb_http_resp *resp)
{
	return resp->status >= 500 ? PB_HTTP_RETRY : PB_HTTP_DONE;
}

int pb_http_do_policy(pb_http *h, const pb_http_req *req, pb_http_policy *pol, pb_http_resp *resp,
		      pb_err *err)
{
	int attempts = pol->attempts > 0 ? pol->attempts : 1;
	int64_t max_wait = pol->max_wait_ms > 0 ? pol->max_wait_ms : 3600 * 1000;
	int backoffs = 0;
	int r = 0;

	pol->tries = 0;
	pol->waited_ms = 0;
	for (;;) {
		pb_err scratch;
		int64_t verdict, wait;

		pb_err_init(&scratch);
		if (pol->may_send && !pol->may_send(pol->may_send_ud)) {
			/* resp keeps what the last try left (maybe_sent false before the first) */
			return pb_err_set(err, PB_E_UNAVAILABLE, "%s %s not sent: this process may no longer send it",
					  req->method ? req->method : "GET", req->url);
		}
		r = pb_http_do(h, req, resp, &scratch);
		pol->tries++;
		if (r < 0)
			return pb_err_pass(err, r, &scratch);
		if (r != 0) {
			/* A request that never left can always be repeated. */
			if (pol->tries >= attempts || (!pol->idempotent && resp->maybe_sent))
				return pb_err_pass(err, r, &scratch);
			wait = pb_http_backoff_ms(pol->backoff_ms, pol->backoff_max_ms, backoffs++, pol->rng);
		} else {
			verdict = pol->classify ? pol->classify(pol->classify_ud, resp, pol->tries)
						: default_classify(resp);
			if (verdict == PB_HTTP_DONE)
				return 0;
			if (verdict == PB_HTTP_RETRY) {
				resp->maybe_sent = true;
				if (!pol->idempotent || pol->tries >= attempts)
					return 0;
				wait = pb_http_backoff_ms(pol->backoff_ms, pol->backoff_max_ms, backoffs++,
							  pol->rng);
			} else {
				/* Refused for now: the peer did not act on it. */
				resp->maybe_sent = false;
				if (pol->tries >= attempts || verdict > max_wait)
					return 0;
				wait = verdict;
			}
		}
		pb_clock_sleep_ms(pol->clock, wait);
		pol->waited_ms += wait;
	}
}

char *pb_http_escape(const char *s)
{
	char *e, *copy;

	if (!s)
		return NULL;
	if (pb_http_global_init() != 0)
		return NULL;
	e = curl_easy_escape(NULL, s, (int)strlen(s));
	if (!e)
		return NULL;
	/* Callers free() the result: hand back a malloc'd copy, not curl's memory. */
	copy = strdup(e);
	curl_free(e);
	return copy;
}

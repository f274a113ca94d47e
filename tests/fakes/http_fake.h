/* http_fake.h — a small reusable HTTP/1.1 server core for fakes: keep-alive, thread per connection, hang/drop. */
#ifndef HTTP_FAKE_H
#define HTTP_FAKE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Listens on 127.0.0.1:0; each connection gets a thread that reads requests
 * (Content-Length bodies up to HTTP_FAKE_BODY_MAX, else 413) and hands them to
 * the handler one at a time. The handler fills a response, or asks to hang
 * (no answer until the client goes away or the server stops) or to drop the
 * connection without a reply (the work is done, the outcome is unknown to the
 * client). Fakes for any HTTP service build on this instead of their own server.
 */
#define HTTP_FAKE_BODY_MAX (1u << 20)
#define HTTP_FAKE_MAX_HEADERS 64

typedef struct http_fake http_fake;

typedef struct http_fake_req {
	char method[16];
	char *target;            /* "/path?query" as sent */
	char *path;              /* the path part, percent-decoded */
	char *query;             /* the raw query after '?', "" when none */
	struct { char *name; char *value; } headers[HTTP_FAKE_MAX_HEADERS];
	size_t nheaders;
	char *body;              /* NUL-terminated copy */
	size_t body_len;
} http_fake_req;

typedef enum { HTTP_FAKE_REPLY, HTTP_FAKE_HANG, HTTP_FAKE_DROP } http_fake_action;

typedef struct http_fake_resp {
	int status;
	char *headers;           /* extra header lines "Name: v\r\n…", malloc'd */
	size_t headers_len;
	char *body;              /* malloc'd */
	size_t body_len;
	http_fake_action action;
} http_fake_resp;

typedef void (*http_fake_handler)(void *ud, const http_fake_req *req, http_fake_resp *resp);

/* Starts listening; 0 ok, -1 on failure. */
int http_fake_start(http_fake_handler handler, void *ud, http_fake **out);
int http_fake_port(const http_fake *f);
/* Stops accepting, wakes hung handlers, closes every connection and joins the threads. */
void http_fake_free(http_fake *f);

/* Case-insensitive request header, NULL when absent. */
const char *http_fake_header(const http_fake_req *req, const char *name);
/* Value of a query parameter (percent-decoded into out); false when absent. */
bool http_fake_query(const http_fake_req *req, const char *name, char *out, size_t size);
/* Adds a response header line. */
void http_fake_resp_header(http_fake_resp *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets status, Content-Type and a copy of the body. */
void http_fake_resp_set(http_fake_resp *resp, int status, const char *content_type, const char *body,
			size_t len);

#endif

/* http_fake.c — the reusable HTTP/1.1 server core of the test fakes (plain sockets, one thread per connection). */
#include "http_fake.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define MAX_CONNS 64

typedef struct fconn {
	http_fake *f;
	int fd;
	pthread_t th;
	bool used;
	bool done;
} fconn;

struct http_fake {
	http_fake_handler handler;
	void *ud;
	int lfd;
	int port;
	int stop[2];
	pthread_t th;
	pthread_mutex_t lock;
	fconn conns[MAX_CONNS];
};

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Reads more bytes into buf; false on EOF, error or stop. */
static bool fill(fconn *c, char *buf, size_t *len, size_t cap)
{
	struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->f->stop[0], POLLIN, 0 } };

	for (;;) {
		ssize_t r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (p[1].revents)
			return false;
		r = read(c->fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		*len += (size_t)r;
		return true;
	}
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static void pct_decode(char *s, bool plus_space)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else if (plus_space && *s == '+') {
			*o++ = ' ';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static void req_free(http_fake_req *r)
{
	free(r->target);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Parses the head (request line + headers, NUL-terminated, without the blank line). */
static bool parse_head(char *head, http_fake_req *r)
{
	char *save = NULL, *line = strtok_r(head, "\r\n", &save);
	char *sp1, *sp2, *q;

	if (!line || !(sp1 = strchr(line, ' ')) || !(sp2 = strchr(sp1 + 1, ' ')))
		return false;
	*sp1 = *sp2 = '\0';
	snprintf(r->method, sizeof(r->method), "%s", line);
	r->target = strdup(sp1 + 1);
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = '\0';
	r->path = strdup(sp1 + 1);
	r->query = strdup(q ? q + 1 : "");
	if (!r->target || !r->path || !r->query)
		return false;
	pct_decode(r->path, false);
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL && r->nheaders < HTTP_FAKE_MAX_HEADERS) {
		char *colon = strchr(line, ':'), *v;

		if (!colon)
			return false;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		r->headers[r->nheaders].name = strdup(line);
		r->headers[r->nheaders].value = strdup(v);
		r->nheaders++;
	}
	return true;
}

const char *http_fake_header(const http_fake_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

bool http_fake_query(const http_fake_req *req, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = req->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = len - nlen - 1;

			if (vlen >= size)
				vlen = size - 1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			pct_decode(out, true);
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

void http_fake_resp_header(http_fake_resp *resp, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;
	char *nb;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	memcpy(line + n, "\r\n", 3);
	nb = realloc(resp->headers, resp->headers_len + (size_t)n + 3);
	if (!nb)
		return;
	resp->headers = nb;
	memcpy(resp->headers + resp->headers_len, line, (size_t)n + 3);
	resp->headers_len += (size_t)n + 2;
}

void http_fake_resp_set(http_fake_resp *resp, int status, const char *content_type, const char *body,
			size_t len)
{
	resp->status = status;
	free(resp->body);
	resp->body = malloc(len + 1);
	resp->body_len = resp->body ? len : 0;
	if (resp->body) {
		memcpy(resp->body, body, len);
		resp->body[len] = '\0';
	}
	if (content_type)
		http_fake_resp_header(resp, "Content-Type: %s", content_type);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void send_resp(int fd, const http_fake_resp *resp, bool head_only)
{
	char head[256];
	bool no_body = resp->status == 204 || resp->status == 304;
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n", resp->status,
			 reason(resp->status), no_body ? 0 : resp->body_len);

	write_all(fd, head, (size_t)n);
	if (resp->headers)
		write_all(fd, resp->headers, resp->headers_len);
	write_all(fd, "\r\n", 2);
	if (!no_body && !head_only && resp->body)
		write_all(fd, resp->body, resp->body_len);
}

static void hang(fconn *c)
{
	struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->f->stop[0], POLLIN, 0 } };
	char b[512];

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			return;
		if (p[0].revents && read(c->fd, b, sizeof(b)) <= 0)
			return;
	}
}

static void *conn_main(void *arg)
{
	fconn *c = arg;
	char *buf = malloc(HEAD_MAX + 1);
	size_t len = 0;

	while (buf) {
		http_fake_req req;
		http_fake_resp resp;
		char *eoh;
		size_t head_len, need = 0;
		const char *cl;
		bool ok;

		memset(&req, 0, sizeof(req));
		memset(&resp, 0, sizeof(resp));
		buf[len] = '\0';
		while (!(eoh = strstr(buf, "\r\n\r\n"))) {
			if (len >= HEAD_MAX || !fill(c, buf, &len, HEAD_MAX))
				goto out;
			buf[len] = '\0';
		}
		*eoh = '\0';
		head_len = (size_t)(eoh - buf) + 4;
		ok = parse_head(buf, &req);
		cl = ok ? http_fake_header(&req, "Content-Length") : NULL;
		if (cl)
			need = strtoul(cl, NULL, 10);
		if (!ok || need > HTTP_FAKE_BODY_MAX || http_fake_header(&req, "Transfer-Encoding")) {
			resp.status = !ok ? 400 : need > HTTP_FAKE_BODY_MAX ? 413 : 411;
			http_fake_resp_header(&resp, "Connection: close");
			send_resp(c->fd, &resp, false);
			free(resp.headers);
			req_free(&req);
			goto out;
		}
		req.body = malloc(need + 1);
		if (!req.body) {
			req_free(&req);
			goto out;
		}
		/* Bytes after the head already read belong to the body (and maybe the next request). */
		{
			size_t have = len - head_len;
			size_t take = have < need ? have : need;

			memcpy(req.body, buf + head_len, take);
			req.body_len = take;
			memmove(buf, buf + head_len + take, have - take);
			len = have - take;
		}
		while (req.body_len < need) {
			size_t l = req.body_len;

			if (!fill(c, req.body, &l, need)) {
				req_free(&req);
				goto out;
			}
			req.body_len = l;
		}
		req.body[req.body_len] = '\0';
		resp.status = 500;
		c->f->handler(c->f->ud, &req, &resp);
		if (resp.action == HTTP_FAKE_REPLY)
			send_resp(c->fd, &resp, strcmp(req.method, "HEAD") == 0);
		else if (resp.action == HTTP_FAKE_HANG)
			hang(c);
		free(resp.headers);
		free(resp.body);
		req_free(&req);
		if (resp.action != HTTP_FAKE_REPLY)
			break;
	}
out:
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_lock(&c->f->lock);
	c->done = true;
	pthread_mutex_unlock(&c->f->lock);
	return NULL;
}

/* Joins finished connection threads so slots come back. Called with the lock held. */
static void reap(http_fake *f, bool all)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		fconn *c = &f->conns[i];

		if (c->used && (c->done || all)) {
			pthread_mutex_unlock(&f->lock);
			pthread_join(c->th, NULL);
			pthread_mutex_lock(&f->lock);
			close(c->fd);
			c->used = false;
			c->done = false;
		}
	}
}

static void *accept_main(void *arg)
{
	http_fake *f = arg;
	struct pollfd p[2] = { { f->lfd, POLLIN, 0 }, { f->stop[0], POLLIN, 0 } };

	for (;;) {
		int fd, slot = -1;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&f->lock);
		reap(f, false);
		for (int i = 0; i < MAX_CONNS && slot < 0; i++)
			if (!f->conns[i].used)
				slot = i;
		if (slot < 0) {
			pthread_mutex_unlock(&f->lock);
			close(fd);
			continue;
		}
		f->conns[slot] = (fconn){ .f = f, .fd = fd, .used = true };
		if (pthread_create(&f->conns[slot].th, NULL, conn_main, &f->conns[slot]) != 0) {
			f->conns[slot].used = false;
			close(fd);
		}
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

int http_fake_start(http_fake_handler handler, void *ud, http_fake **out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	http_fake *f = calloc(1, sizeof(*f));
	int one = 1;

	*out = NULL;
	if (!f)
		return -1;
	f->handler = handler;
	f->ud = ud;
	f->stop[0] = f->stop[1] = -1;
	pthread_mutex_init(&f->lock, NULL);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		goto fail;
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->lfd, 64) != 0 ||
	    getsockname(f->lfd, (struct sockaddr *)&a, &alen) != 0 || pipe(f->stop) != 0)
		goto fail;
	f->port = ntohs(a.sin_port);
	if (pthread_create(&f->th, NULL, accept_main, f) != 0)
		goto fail;
	*out = f;
	return 0;
fail:
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->stop[0] >= 0) {
		close(f->stop[0]);
		close(f->stop[1]);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
	return -1;
}

int http_fake_port(const http_fake *f)
{
	return f->port;
}

void http_fake_free(http_fake *f)
{
	if (!f)
		return;
	/* The pipe stays readable: every poller (accept, fill, hang) sees the stop. */
	if (write(f->stop[1], "x", 1) < 0)
		perror("http_fake stop");
	pthread_join(f->th, NULL);
	pthread_mutex_lock(&f->lock);
	reap(f, true);
	pthread_mutex_unlock(&f->lock);
	close(f->lfd);
	close(f->stop[0]);
	close(f->stop[1]);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

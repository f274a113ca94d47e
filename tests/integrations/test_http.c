/* test_http.c — pb_http against a tiny in-test HTTP server on 127.0.0.1:0 and a unix socket. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pb_http.h"

/* ---- the tiny server: one request per connection, "Connection: close" ---- */
typedef struct srv {
	int lfd;
	int stop[2];
	pthread_t th;
	int port;
	char sock_path[108];
	char dir[64];
} srv;

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, len, extra_headers ? extra_headers : "");
	write_all(fd, head, (size_t)n);
	write_all(fd, body, len);
}

/* Waits until the client goes away or the server is stopped: a peer that never answers. */
static void hang(srv *s, int fd)
{
	struct pollfd p[2] = { { fd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };
	char b[256];

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			return;
		if (p[0].revents && read(fd, b, sizeof(b)) <= 0)
			return;
	}
}

static void handle(srv *s, int fd)
{
	char req[16384];
	size_t len = 0;
	char *eoh = NULL, *cl;
	long body_len = 0;
	char path[256] = "";

	while (len < sizeof(req) - 1) {
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		if (!eoh && (eoh = strstr(req, "\r\n\r\n")) != NULL) {
			cl = strcasestr(req, "\r\nContent-Length:");
			if (cl)
				body_len = strtol(cl + 17, NULL, 10);
		}
		if (eoh && (size_t)(eoh + 4 - req) + (size_t)body_len <= len)
			break;
	}
	if (!eoh)
		return;
	sscanf(req, "%*s %255s", path);
	if (strcmp(path, "/hello") == 0) {
		reply(fd, 200, "X-Test: yes\r\nAPI-Version:  1.43 \r\n", "hello", 5);
	} else if (strncmp(path, "/status/", 8) == 0) {
		const char *msg = "{\"message\":\"No such container: x\"}";
		reply(fd, atoi(path + 8), "Content-Type: application/json\r\n", msg, strlen(msg));
	} else if (strcmp(path, "/echo") == 0) {
		reply(fd, 200, NULL, req, len);
	} else if (strcmp(path, "/big") == 0) {
		static char big[100000];
		memset(big, 'x', sizeof(big));
		reply(fd, 200, NULL, big, sizeof(big));
	} else if (strcmp(path, "/hang") == 0) {
		hang(s, fd);
	} else {
		reply(fd, 404, NULL, "", 0);
	}
}

static void *srv_main(void *ud)
{
	srv *s = ud;
	struct pollfd p[2] = { { s->lfd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		handle(s, fd);
		close(fd);
	}
	return NULL;
}

static void srv_start_tcp(srv *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s->lfd >= 0);
	cr_assert(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(s->lfd, 16) == 0);
	cr_assert(getsockname(s->lfd, (struct sockaddr *)&a, &al) == 0);
	s->port = ntohs(a.sin_port);
	cr_assert(pipe(s->stop) == 0);
	cr_assert(pthread_create(&s->th, NULL, srv_main, s) == 0);
}

static void srv_start_unix(srv *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/pbhttpXXXXXX");
	cr_assert(mkdtemp(s->dir) != NULL);
	snprintf(s->sock_path, sizeof(s->sock_path), "%s/s.sock", s->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->sock_path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(s->lfd >= 0);
	cr_assert(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(s->lfd, 16) == 0);
	cr_assert(pipe(s->stop) == 0);
	cr_assert(pthread_create(&s->th, NULL, srv_main, s) == 0);
}

static void srv_stop(srv *s)
{
	write_all(s->stop[1], "x", 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	if (s->sock_path[0]) {
		unlink(s->sock_path);
		rmdir(s->dir);
	}
}

static srv S;
static pb_http *H;
static pb_http_resp R;
static pb_err E;
static char url[256];

static void setup(void)
{
	srv_start_tcp(&S);
	cr_assert_eq(pb_http_new(&H), 0);
	pb_http_resp_init(&R);
	pb_err_init(&E);
}

static void teardown(void)
{
	pb_http_resp_deinit(&R);
	pb_http_free(H);
	srv_stop(&S);
}

static const char *u(const char *path)
{
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", S.port, path);
	return url;
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);

Test(http, get_status_body_and_headers)
{
	pb_http_req q = { .method = "GET", .url = u("/hello") };
	char v[64];

	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(R.status, 200);
	cr_assert_str_eq(pb_buf_str(&R.body), "hello");
	cr_assert_eq(pb_http_resp_header(&R, "api-version", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "1.43");
	cr_assert_eq(pb_http_resp_header(&R, "x-test", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "yes");
	cr_assert_eq(pb_http_resp_header(&R, "X-Missing", v, sizeof(v)), PB_E_NOTFOUND);
	cr_assert(R.total_ms >= 0);
}

Test(http, error_status_is_not_a_transport_error)
{
	pb_http_req q = { .method = "GET", .url = u("/status/404") };

	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0);
	cr_assert_eq(R.status, 404);
	cr_assert(strstr(pb_buf_str(&R.body), "No such container"));
	cr_assert_eq(E.set, 0);
}

Test(http, handle_is_reused_across_requests)
{
	pb_http_req q = { .method = "GET", .url = u("/hello") };
	int i;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(pb_http_do(H, &q, &R, &E), 0);
		cr_assert_str_eq(pb_buf_str(&R.body), "hello");
	}
}

Test(http, empty_post_sends_zero_length_not_chunked)
{
	pb_http_req q = { .method = "POST", .url = u("/echo") };
	const char *b;

	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0, "%s", pb_err_text(&E));
	b = pb_buf_str(&R.body);
	cr_assert(strncmp(b, "POST /echo ", 11) == 0, "%s", b);
	cr_assert(strcasestr(b, "Content-Length: 0\r\n"), "%s", b);
	cr_assert_null(strcasestr(b, "Transfer-Encoding"), "%s", b);
	cr_assert_null(strcasestr(b, "Expect:"), "%s", b);
}

Test(http, post_body_and_headers_sent)
{
	static char body[4096];
	pb_http_header hd[] = { { "Content-Type", "application/json" }, { "X-Registry-Auth", "e30=" } };
	pb_http_req q = { .method = "POST", .url = u("/echo"), .headers = hd, .nheaders = 2 };
	const char *b;

	/* Large enough that libcurl would otherwise send "Expect: 100-continue". */
	memset(body, 'a', sizeof(body) - 1);
	body[0] = '{';
	q.body = body;
	q.body_len = sizeof(body) - 1;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0, "%s", pb_err_text(&E));
	b = pb_buf_str(&R.body);
	cr_assert(strcasestr(b, "Content-Type: application/json\r\n"));
	cr_assert(strcasestr(b, "X-Registry-Auth: e30=\r\n"));
	cr_assert(strcasestr(b, "Content-Length: 4095\r\n"));
	cr_assert_null(strcasestr(b, "Expect:"));
	cr_assert(strstr(b, "\r\n\r\n{aaaa"));
}

Test(http, other_methods)
{
	pb_http_req q = { .method = "DELETE", .url = u("/echo") };

	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0);
	cr_assert(strncmp(pb_buf_str(&R.body), "DELETE /echo ", 13) == 0);
	q.method = "PUT";
	q.body = "xyz";
	q.body_len = 3;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0);
	cr_assert(strncmp(pb_buf_str(&R.body), "PUT /echo ", 10) == 0);
	cr_assert(strstr(pb_buf_str(&R.body), "\r\n\r\nxyz"));
}

Test(http, response_cap_aborts)
{
	pb_http_req q = { .method = "GET", .url = u("/big"), .max_body = 1000 };

	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&E), "response larger than 1000 bytes"), "%s", pb_err_text(&E));
	cr_assert(R.body.len <= 1000);
	/* Under the cap the same body arrives whole. */
	pb_err_init(&E);
	q.max_body = 200000;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0);
	cr_assert_eq(R.body.len, 100000);
}

Test(http, timeout_when_peer_never_answers)
{
	pb_http_req q = { .method = "GET", .url = u("/hang"), .timeout_ms = 300 };

	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&E), "GET http://127.0.0.1:"), "%s", pb_err_text(&E));
	cr_assert(strstr(pb_err_text(&E), "Timeout was reached"), "%s", pb_err_text(&E));
}

Test(http, connection_refused_names_request_but_not_secrets)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	pb_http_header hd[] = { { "Authorization", "Bearer xoxb-very-secret-token" } };
	pb_http_req q = { .method = "GET", .headers = hd, .nheaders = 1 };
	char expect[128];
	/* Bound but not listening: connecting is refused, and nobody else can take the port. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	q.url = url;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_UNAVAILABLE);
	snprintf(expect, sizeof(expect), "GET %s: Couldn't connect to server", url);
	cr_assert(strncmp(pb_err_text(&E), expect, strlen(expect)) == 0, "%s", pb_err_text(&E));
	cr_assert_null(strstr(pb_err_text(&E), "very-secret"));
	close(fd);
}

Test(http, header_injection_refused)
{
	pb_http_header hd[] = { { "X-A", "v\r\nX-Evil: 1" } };
	pb_http_req q = { .method = "GET", .url = u("/echo"), .headers = hd, .nheaders = 1 };

	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_INVALID);
}

typedef struct chunks { pb_buf all; int calls; int stop_after; } chunks;

static int collect(void *ud, const char *data, size_t len)
{
	chunks *c = ud;

	c->calls++;
	pb_buf_append(&c->all, data, len);
	return c->stop_after && c->calls >= c->stop_after;
}

Test(http, streaming_delivers_chunks_and_can_abort)
{
	chunks c = { .stop_after = 0 };
	pb_http_req q = { .method = "GET", .url = u("/big"), .max_body = 10, .on_data = collect };

	pb_buf_init(&c.all);
	q.on_data_ud = &c;
	/* Streaming is not buffered, so the cap does not apply to it. */
	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(c.all.len, 100000);
	cr_assert_eq(R.body.len, 0);
	pb_buf_reset(&c.all);
	c.calls = 0;
	c.stop_after = 1;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&E), "stopped by the receiver"));
	pb_buf_deinit(&c.all);
}

Test(http, unix_socket)
{
	srv us;
	pb_http_req q = { .method = "GET", .url = "http://localhost/hello" };
	char v[32];

	srv_start_unix(&us);
	q.unix_socket = us.sock_path;
	cr_assert_eq(pb_http_do(H, &q, &R, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(R.status, 200);
	cr_assert_str_eq(pb_buf_str(&R.body), "hello");
	cr_assert_eq(pb_http_resp_header(&R, "API-Version", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "1.43");
	srv_stop(&us);
	/* Gone socket: a transport error, not a crash. */
	pb_err_init(&E);
	cr_assert_eq(pb_http_do(H, &q, &R, &E), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&E), "GET http://localhost/hello: Couldn't connect to server"),
		  "%s", pb_err_text(&E));
}

Test(http_escape, escapes_reserved)
{
	char *e = pb_http_escape("a b/c{\"x\":1}&=");

	cr_assert_str_eq(e, "a%20b%2Fc%7B%22x%22%3A1%7D%26%3D");
	free(e);
	e = pb_http_escape("plain-Text_1.2~");
	cr_assert_str_eq(e, "plain-Text_1.2~");
	free(e);
	cr_assert_null(pb_http_escape(NULL));
}

/* ---- no_resend over keep-alive: a server that keeps connections open and can drop a request unanswered ---- */

typedef struct ka_srv {
	int lfd, stop[2], port;
	pthread_t th;
	pthread_mutex_t lock;
	int connections;     /* accepted so far */
	int requests;        /* requests read in full, answered or not */
	int drop_next;       /* read the next request, then close without a byte of answer */
	char bodies[8][64];  /* the first bodies seen, in order */
} ka_srv;

/* Reads one request (headers and Content-Length body) into buf; false when the peer or the server stops. */
static bool ka_read(ka_srv *s, int fd, char *buf, size_t size, size_t *body_at, long *body_len)
{
	struct pollfd p[2] = { { fd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };
	size_t len = 0;
	char *eoh = NULL;

	*body_len = 0;
	while (len < size - 1) {
		ssize_t r;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return false;
		r = read(fd, buf + len, size - 1 - len);
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
		if (!eoh && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			*body_len = cl ? strtol(cl + 17, NULL, 10) : 0;
			*body_at = (size_t)(eoh + 4 - buf);
		}
		if (eoh && *body_at + (size_t)*body_len <= len)
			return true;
	}
	return false;
}

static void ka_conn(ka_srv *s, int fd)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char req[8192];
	size_t at = 0;
	long blen;

	while (ka_read(s, fd, req, sizeof(req), &at, &blen)) {
		bool drop;

		pthread_mutex_lock(&s->lock);
		if (s->requests < 8)
			snprintf(s->bodies[s->requests], sizeof(s->bodies[0]), "%.*s", (int)blen, req + at);
		s->requests++;
		drop = s->drop_next;
		s->drop_next = 0;
		pthread_mutex_unlock(&s->lock);
		if (drop)
			return; /* the caller closes: the connection dies before any answer */
		write_all(fd, ok, sizeof(ok) - 1);
	}
}

static void *ka_main(void *ud)
{
	ka_srv *s = ud;
	struct pollfd p[2] = { { s->lfd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents || (fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
		ka_conn(s, fd);
		close(fd);
	}
	return NULL;
}

static ka_srv KA;

static void ka_setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(&KA, 0, sizeof(KA));
	pthread_mutex_init(&KA.lock, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	KA.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(KA.lfd >= 0);
	cr_assert(bind(KA.lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(KA.lfd, 16) == 0);
	cr_assert(getsockname(KA.lfd, (struct sockaddr *)&a, &al) == 0);
	KA.port = ntohs(a.sin_port);
	cr_assert(pipe(KA.stop) == 0);
	cr_assert(pthread_create(&KA.th, NULL, ka_main, &KA) == 0);
	cr_assert_eq(pb_http_new(&H), 0);
	pb_http_resp_init(&R);
	pb_err_init(&E);
}

static void ka_teardown(void)
{
	pb_http_resp_deinit(&R);
	pb_http_free(H);
	write_all(KA.stop[1], "x", 1);
	pthread_join(KA.th, NULL);
	close(KA.lfd);
	close(KA.stop[0]);
	close(KA.stop[1]);
	pthread_mutex_destroy(&KA.lock);
}

static int ka_post(const char *body, bool no_resend)
{
	pb_http_req req = { 0 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/chat.postMessage", KA.port);
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = 10000;
	req.no_resend = no_resend;
	pb_err_init(&E);
	return pb_http_do(H, &req, &R, &E);
}

TestSuite(http_keepalive, .init = ka_setup, .fini = ka_teardown, .timeout = 30);

Test(http_keepalive, no_resend_posts_share_one_connection_and_arrive_whole)
{
	cr_assert_eq(ka_post("{\"text\":\"one\"}", true), 0, "%s", pb_err_text(&E));
	cr_assert_eq(ka_post("{\"text\":\"two\"}", true), 0, "%s", pb_err_text(&E));
	cr_assert_eq(ka_post("{\"text\":\"three\"}", true), 0, "%s", pb_err_text(&E));
	cr_expect_eq(R.status, 200);
	cr_expect_eq(KA.requests, 3);
	cr_expect_eq(KA.connections, 1, "keep-alive serves no_resend posts too");
	cr_expect_str_eq(KA.bodies[0], "{\"text\":\"one\"}");
	cr_expect_str_eq(KA.bodies[2], "{\"text\":\"three\"}");
}

Test(http_keepalive, a_no_resend_post_whose_reused_connection_dies_unanswered_is_sent_once_and_maybe_sent)
{
	cr_assert_eq(ka_post("{\"text\":\"warm-up\"}", true), 0, "%s", pb_err_text(&E));
	KA.drop_next = 1;
	cr_assert_neq(ka_post("{\"text\":\"exactly-once\"}", true), 0, "the dropped post must fail, not be resent");
	cr_expect(R.maybe_sent, "it went out on the dead connection: outcome unknown");
	cr_expect_eq(KA.requests, 2, "libcurl did not resend it");
	cr_expect_str_eq(KA.bodies[1], "{\"text\":\"exactly-once\"}");
	/* the handle still works: the next post goes on a new connection */
	cr_assert_eq(ka_post("{\"text\":\"after\"}", true), 0, "%s", pb_err_text(&E));
	cr_expect_eq(KA.requests, 3);
	cr_expect_geq(KA.connections, 2);
}

/* What no_resend guards against: without it libcurl resends the same post on a new connection. */
Test(http_keepalive, without_no_resend_libcurl_resends_a_post_behind_the_callers_back)
{
	cr_assert_eq(ka_post("{\"text\":\"warm-up\"}", false), 0, "%s", pb_err_text(&E));
	KA.drop_next = 1;
	cr_assert_eq(ka_post("{\"text\":\"twice\"}", false), 0, "%s", pb_err_text(&E));
	cr_expect_eq(KA.requests, 3, "sent, dropped, silently sent again");
	cr_expect_str_eq(KA.bodies[1], "{\"text\":\"twice\"}");
	cr_expect_str_eq(KA.bodies[2], "{\"text\":\"twice\"}");
}

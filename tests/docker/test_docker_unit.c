/* test_docker_unit.c — Docker client pieces without an engine: log demuxer, stats maths, refs, in-band errors. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "health.h"

/* ---- demuxer ---- */

typedef struct collected { pb_buf out; pb_buf err; int calls; } collected;

static void on_frame(void *ud, int stream, const char *data, size_t len)
{
	collected *c = ud;

	c->calls++;
	pb_buf_append(stream == 2 ? &c->err : &c->out, data, len);
}

static size_t frame(unsigned char *dst, int stream, const char *payload)
{
	size_t n = strlen(payload);

	dst[0] = (unsigned char)stream;
	dst[1] = dst[2] = dst[3] = 0;
	dst[4] = (unsigned char)(n >> 24);
	dst[5] = (unsigned char)(n >> 16);
	dst[6] = (unsigned char)(n >> 8);
	dst[7] = (unsigned char)n;
	memcpy(dst + 8, payload, n);
	return n + 8;
}

static size_t sample_stream(unsigned char *buf)
{
	size_t n = 0;

	n += frame(buf + n, 1, "hello ");
	n += frame(buf + n, 2, "warning: disk\n");
	n += frame(buf + n, 1, "world\n");
	n += frame(buf + n, 1, "");
	n += frame(buf + n, 2, "bye\n");
	return n;
}

Test(demux, whole_buffer)
{
	unsigned char buf[256];
	size_t n = sample_stream(buf);
	pb_docker_demux m;
	collected c = { 0 };

	pb_docker_demux_init(&m);
	cr_assert_eq(pb_docker_demux_feed(&m, (const char *)buf, n, on_frame, &c), 0);
	cr_assert_str_eq(pb_buf_str(&c.out), "hello world\n");
	cr_assert_str_eq(pb_buf_str(&c.err), "warning: disk\nbye\n");
	pb_buf_deinit(&c.out);
	pb_buf_deinit(&c.err);
}

/* Every split point, and byte-by-byte: headers and payloads cut anywhere. */
Test(demux, split_at_every_offset)
{
	unsigned char buf[256];
	size_t n = sample_stream(buf), cut, i;

	for (cut = 0; cut <= n; cut++) {
		pb_docker_demux m;
		collected c = { 0 };

		pb_docker_demux_init(&m);
		cr_assert_eq(pb_docker_demux_feed(&m, (const char *)buf, cut, on_frame, &c), 0);
		cr_assert_eq(pb_docker_demux_feed(&m, (const char *)buf + cut, n - cut, on_frame, &c), 0);
		cr_assert_str_eq(pb_buf_str(&c.out), "hello world\n", "cut at %zu", cut);
		cr_assert_str_eq(pb_buf_str(&c.err), "warning: disk\nbye\n", "cut at %zu", cut);
		pb_buf_deinit(&c.out);
		pb_buf_deinit(&c.err);
	}
	{
		pb_docker_demux m;
		collected c = { 0 };

		pb_docker_demux_init(&m);
		for (i = 0; i < n; i++)
			cr_assert_eq(pb_docker_demux_feed(&m, (const char *)buf + i, 1, on_frame, &c), 0);
		cr_assert_str_eq(pb_buf_str(&c.out), "hello world\n");
		cr_assert_str_eq(pb_buf_str(&c.err), "warning: disk\nbye\n");
		cr_assert_eq(m.hdr_len, 0);
		cr_assert_eq(m.remaining, 0);
		pb_buf_deinit(&c.out);
		pb_buf_deinit(&c.err);
	}
}

Test(demux, rejects_unknown_stream)
{
	unsigned char buf[64];
	size_t n = frame(buf, 7, "x");
	pb_docker_demux m;

	pb_docker_demux_init(&m);
	cr_assert_eq(pb_docker_demux_feed(&m, (const char *)buf, n, NULL, NULL), PB_E_INVALID);
}

/* ---- stats ---- */

Test(stats, cgroup_v2_like_the_cli)
{
	const char *j = "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":400000000},\"system_cpu_usage\":20000000000,"
			"\"online_cpus\":4},\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":200000000},"
			"\"system_cpu_usage\":18000000000},\"memory_stats\":{\"usage\":104857600,\"limit\":1073741824,"
			"\"stats\":{\"inactive_file\":4857600}}}";
	pb_docker_stats s;

	cr_assert_eq(pb_docker_stats_parse(j, strlen(j), &s), 0);
	/* (0.2e9 / 2e9) * 4 * 100 = 40 % */
	cr_assert_float_eq(s.cpu_percent, 40.0, 1e-9);
	cr_assert_eq(s.mem_used, 100000000ull);
	cr_assert_eq(s.mem_limit, 1073741824ull);
	cr_assert_float_eq(s.mem_percent, 100000000.0 / 1073741824.0 * 100.0, 1e-9);
}

Test(stats, cgroup_v1_and_percpu_fallback)
{
	const char *j = "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":300,\"percpu_usage\":[1,2]},"
			"\"system_cpu_usage\":2000},\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":100},"
			"\"system_cpu_usage\":1000},\"memory_stats\":{\"usage\":5000,\"limit\":10000,"
			"\"stats\":{\"total_inactive_file\":1000,\"inactive_file\":3000}}}";
	pb_docker_stats s;

	cr_assert_eq(pb_docker_stats_parse(j, strlen(j), &s), 0);
	/* (200/1000) * 2 cpus * 100 = 40 %; v1 key wins over v2's. */
	cr_assert_float_eq(s.cpu_percent, 40.0, 1e-9);
	cr_assert_eq(s.mem_used, 4000ull);
	cr_assert_float_eq(s.mem_percent, 40.0, 1e-9);
}

Test(stats, first_sample_has_no_cpu_delta)
{
	const char *j = "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":300},\"system_cpu_usage\":2000,"
			"\"online_cpus\":2},\"precpu_stats\":{},\"memory_stats\":{}}";
	pb_docker_stats s;

	cr_assert_eq(pb_docker_stats_parse(j, strlen(j), &s), 0);
	cr_assert(s.cpu_percent > 0); /* precpu zero: delta is the whole counter, like the CLI */
	cr_assert_eq(s.mem_limit, 0);
	cr_assert_float_eq(s.mem_percent, 0.0, 1e-9);
	cr_assert_eq(pb_docker_stats_parse("nope", 4, &s), PB_E_INVALID);
}

/* ---- references ---- */

Test(refs, split)
{
	char repo[256], tag[128];

	cr_assert_eq(pb_docker_ref_split("neo4j:5.13", repo, sizeof(repo), tag, sizeof(tag)), 0);
	cr_assert_str_eq(repo, "neo4j");
	cr_assert_str_eq(tag, "5.13");
	cr_assert_eq(pb_docker_ref_split("neo4j", repo, sizeof(repo), tag, sizeof(tag)), 0);
	cr_assert_str_eq(tag, "latest");
	cr_assert_eq(pb_docker_ref_split("127.0.0.1:5000/team/neo4j", repo, sizeof(repo), tag, sizeof(tag)), 0);
	cr_assert_str_eq(repo, "127.0.0.1:5000/team/neo4j");
	cr_assert_str_eq(tag, "latest");
	cr_assert_eq(pb_docker_ref_split("127.0.0.1:5000/team/neo4j:5", repo, sizeof(repo), tag, sizeof(tag)), 0);
	cr_assert_str_eq(repo, "127.0.0.1:5000/team/neo4j");
	cr_assert_str_eq(tag, "5");
	cr_assert_eq(pb_docker_ref_split("neo4j@sha256:abc", repo, sizeof(repo), tag, sizeof(tag)), 0);
	cr_assert_str_eq(repo, "neo4j");
	cr_assert_str_eq(tag, "sha256:abc");
	cr_assert_eq(pb_docker_ref_split("neo4j:5 && rm", repo, sizeof(repo), tag, sizeof(tag)), PB_E_INVALID);
	cr_assert_eq(pb_docker_ref_split(":5", repo, sizeof(repo), tag, sizeof(tag)), PB_E_INVALID);
}

Test(health, percentiles_nearest_rank)
{
	double v[] = { 9, 1, 8, 2, 7, 3, 6, 4, 5, 10 };

	cr_assert_float_eq(pb_health_percentile(v, 10, 50), 5, 1e-9);
	cr_assert_float_eq(pb_health_percentile(v, 10, 95), 10, 1e-9);
	cr_assert_float_eq(pb_health_percentile(v, 10, 10), 1, 1e-9);
	cr_assert_float_eq(pb_health_percentile(v, 0, 50), 0, 1e-9);
}

/* ---- a fake engine on a unix socket: canned replies, to check in-band stream errors ---- */

typedef struct fake_engine {
	int lfd;
	int stop[2];
	pthread_t th;
	char dir[64];
	char path[108];
	const char *body;      /* reply for /images/create */
	char last_request[4096];
	int port;              /* tcp variant */
} fake_engine;

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

static void *fake_main(void *ud)
{
	fake_engine *f = ud;
	struct pollfd p[2] = { { f->lfd, POLLIN, 0 }, { f->stop[0], POLLIN, 0 } };

	for (;;) {
		char req[4096], head[256];
		ssize_t n;
		size_t len = 0;
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		while (len < sizeof(req) - 1 && (n = read(fd, req + len, sizeof(req) - 1 - len)) > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[len] = '\0';
		if (strncmp(req, "GET /_ping", 10) == 0) {
			const char *r = "HTTP/1.1 200 OK\r\nAPI-Version: 1.43\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK";
			write_all(fd, r, strlen(r));
		} else {
			snprintf(f->last_request, sizeof(f->last_request), "%s", req);
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(f->body));
			write_all(fd, head, strlen(head));
			write_all(fd, f->body, strlen(f->body));
		}
		close(fd);
	}
	return NULL;
}

static void fake_start(fake_engine *f, const char *body)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->body = body;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pbdkXXXXXX");
	cr_assert(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/docker.sock", f->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(f->lfd, 8) == 0);
	cr_assert(pipe(f->stop) == 0);
	cr_assert(pthread_create(&f->th, NULL, fake_main, f) == 0);
}

static void fake_start_tcp(fake_engine *f, const char *body)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->body = body;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(f->lfd, 8) == 0);
	cr_assert(getsockname(f->lfd, (struct sockaddr *)&a, &al) == 0);
	f->port = ntohs(a.sin_port);
	cr_assert(pipe(f->stop) == 0);
	cr_assert(pthread_create(&f->th, NULL, fake_main, f) == 0);
}

static void fake_stop(fake_engine *f)
{
	write_all(f->stop[1], "x", 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	close(f->stop[0]);
	close(f->stop[1]);
	if (f->path[0]) {
		unlink(f->path);
		rmdir(f->dir);
	}
}

Test(stream, pull_error_mid_stream_with_http_200)
{
	const char *body =
		"{\"status\":\"Pulling from library/neo4j\",\"id\":\"5.13\"}\n"
		"{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a1b2c3\"}\n"
		"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10,\"total\":100},\"id\":\"a1b2c3\"}\n"
		"{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\n";
	char host[200];
	fake_engine f;
	pb_docker *d = NULL;
	pb_docker_pull_stats st;
	pb_err e;

	fake_start(&f, body);
	snprintf(host, sizeof(host), "unix://%s", f.path);
	setenv("DOCKER_HOST", host, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_image_pull(d, "neo4j:5.13", &st, NULL, NULL, &e), PB_E_FAILED);
	cr_assert(strstr(pb_err_text(&e), "pull neo4j:5.13: unexpected EOF"), "%s", pb_err_text(&e));
	cr_assert(strstr(pb_err_text(&e), "HTTP 200"), "%s", pb_err_text(&e));
	cr_assert_eq(st.lines, 4);
	cr_assert_eq(st.layers, 1);
	/* Negotiated down to ours, and a tag is always sent. */
	cr_assert_str_eq(pb_docker_api_version(d), "1.41");
	cr_assert(strstr(f.last_request, "POST /v1.41/images/create?fromImage=neo4j&tag=5.13 "), "%s", f.last_request);
	pb_docker_free(d);
	fake_stop(&f);
}

Test(stream, pull_success_summarised)
{
	const char *body =
		"{\"status\":\"Pulling from team/app\",\"id\":\"1\"}\n"
		"{\"status\":\"Pulling fs layer\",\"id\":\"l1\"}\n{\"status\":\"Pulling fs layer\",\"id\":\"l2\"}\n"
		"{\"status\":\"Pull complete\",\"id\":\"l1\"}\n{\"status\":\"Already exists\",\"id\":\"l2\"}\n"
		"{\"status\":\"Digest: sha256:0123\"}\n"
		"{\"status\":\"Status: Downloaded newer image for team/app:1\"}";  /* no final newline */
	char host[200];
	fake_engine f;
	pb_docker *d = NULL;
	pb_docker_pull_stats st;
	pb_err e;

	fake_start(&f, body);
	snprintf(host, sizeof(host), "unix://%s", f.path);
	setenv("DOCKER_HOST", host, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_image_pull(d, "team/app:1", &st, NULL, NULL, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(st.layers, 2);
	cr_assert_eq(st.layers_done, 2);
	cr_assert_str_eq(st.digest, "sha256:0123");
	cr_assert_str_eq(st.last_status, "Downloaded newer image for team/app:1");
	pb_docker_free(d);
	fake_stop(&f);
}

Test(stream, label_filters_are_url_encoded_json)
{
	char host[200];
	fake_engine f;
	pb_docker *d = NULL;
	pb_docker_container *list = NULL;
	const char *labels[] = { "promobot.component=neo4j", "x=\"q\"&y" };
	size_t n = 9;
	pb_err e;

	fake_start(&f, "[]");
	snprintf(host, sizeof(host), "unix://%s", f.path);
	setenv("DOCKER_HOST", host, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_container_list(d, true, labels, 2, &list, &n, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(n, 0);
	free(list);
	cr_assert(strstr(f.last_request, "GET /v1.41/containers/json?all=true&filters="
			 "%7B%22label%22%3A%5B%22promobot.component%3Dneo4j%22%2C%22x%3D%5C%22q%5C%22%26y%22%5D%7D "),
		  "%s", f.last_request);
	pb_docker_free(d);
	fake_stop(&f);
}

Test(stream, tcp_host_and_version_negotiation)
{
	char host[64], v[32];
	fake_engine f;
	pb_docker *d = NULL;
	pb_err e;

	fake_start_tcp(&f, "{\"Version\":\"24.0.7\"}");
	snprintf(host, sizeof(host), "tcp://127.0.0.1:%d", f.port);
	unsetenv("DOCKER_HOST");
	pb_err_init(&e);
	/* Config host used when DOCKER_HOST is absent. */
	cr_assert_eq(pb_docker_new(host, 5000, &d, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(pb_docker_host(d), host);
	cr_assert_eq(pb_docker_version(d, v, sizeof(v), &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(v, "24.0.7");
	/* The engine speaks 1.43; we never go above 1.41. */
	cr_assert_str_eq(pb_docker_api_version(d), "1.41");
	cr_assert(strstr(f.last_request, "GET /v1.41/version HTTP/1.1"), "%s", f.last_request);
	pb_docker_free(d);
	fake_stop(&f);
	/* DOCKER_HOST overrides the config. */
	setenv("DOCKER_HOST", "unix:///run/other.sock", 1);
	cr_assert_eq(pb_docker_new(host, 5000, &d, &e), 0);
	cr_assert_str_eq(pb_docker_host(d), "unix:///run/other.sock");
	pb_docker_free(d);
	cr_assert_eq(pb_docker_new("tcp://h:1/path", 5000, &d, &e), 0); /* env still wins */
	pb_docker_free(d);
	unsetenv("DOCKER_HOST");
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new("tcp://h:1/path", 5000, &d, &e), PB_E_INVALID);
	cr_assert_eq(pb_docker_new("/var/run/docker.sock", 5000, &d, &e), PB_E_INVALID);
}

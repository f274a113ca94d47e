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
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "health.h"
#include "pb_clock.h"

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
	int status;            /* of every reply but /_ping; 0 = 200 */
	char lines[4096];      /* request lines received (not /_ping), one per line */
	bool podman;           /* answer /_ping the way podman's compat API does */
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
			const char *r = f->podman ? "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n"
						    "Content-Length: 2\r\nConnection: close\r\n\r\nOK"
						  : "HTTP/1.1 200 OK\r\nAPI-Version: 1.43\r\nContent-Length: 2\r\n"
						    "Connection: close\r\n\r\nOK";
			write_all(fd, r, strlen(r));
		} else {
			snprintf(f->last_request, sizeof(f->last_request), "%s", req);
			{
				size_t used = strlen(f->lines), eol = strcspn(req, "\r\n");

				if (used + eol + 2 < sizeof(f->lines)) {
					memcpy(f->lines + used, req, eol);
					f->lines[used + eol] = '\n';
					f->lines[used + eol + 1] = '\0';
				}
			}
			snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n", f->status ? f->status : 200,
				 strlen(f->body));
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

/* ---- podman's compat API: the same operations, its own reply shapes ---- */

static pb_docker *podman_client(fake_engine *f, const char *body, int status)
{
	char host[200];
	pb_docker *d = NULL;
	pb_err e;

	fake_start(f, body);
	f->podman = true;
	f->status = status;
	snprintf(host, sizeof(host), "unix://%s", f->path);
	setenv("DOCKER_HOST", host, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_ping(d, &e), 0, "%s", pb_err_text(&e));
	cr_assert(pb_docker_is_podman(d));
	return d;
}

/* podman ends each layer with "Download complete" (sometimes twice) and sends no "Status:" line. */
Test(podman, pull_without_final_status_is_summarised)
{
	const char *body =
		"{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"e5a5030cb337\"}\n"
		"{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"ebac37e513e1\"}\n"
		"{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"ebac37e513e1\"}\n"
		"{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"ebac37e513e1\"}\n";
	fake_engine f;
	pb_docker *d = podman_client(&f, body, 200);
	pb_docker_pull_stats st;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_image_pull(d, "team/app:1", &st, NULL, NULL, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(st.lines, 4);
	cr_assert_eq(st.layers, 2);
	cr_assert_eq(st.layers_done, 2);
	cr_assert_str_eq(st.last_status, "2 layer(s) done, 1 already present (the engine sent no final status line)");
	pb_docker_free(d);
	fake_stop(&f);
}

Test(podman, missing_container_reads_like_docker_and_keeps_podmans_text)
{
	fake_engine f;
	pb_docker *d = podman_client(&f, "{\"cause\":\"no such container\",\"message\":\"no container with name or ID "
				     "\\\"pb-x\\\" found: no such container\",\"response\":404}", 404);
	pb_docker_state st;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_inspect(d, "pb-x", &st, &e), PB_E_NOTFOUND);
	cr_assert_str_eq(pb_err_text(&e), "inspect container pb-x: No such container: pb-x (HTTP 404), engine said: "
			 "no container with name or ID \"pb-x\" found: no such container");
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_stop(d, "pb-x", 1, &e), PB_E_NOTFOUND);
	cr_assert(strstr(pb_err_text(&e), "No such container: pb-x (HTTP 404)"), "%s", pb_err_text(&e));
	pb_docker_free(d);
	fake_stop(&f);
}

Test(podman, taken_name_is_a_conflict_with_the_real_status)
{
	fake_engine f;
	pb_docker *d = podman_client(&f, "{\"cause\":\"that name is already in use\",\"message\":\"container create: "
				     "creating container storage: the container name \\\"web\\\" is already in use by 9bf6. "
				     "You have to remove that container to be able to reuse that name: that name is already "
				     "in use\",\"response\":500}", 500);
	pb_docker_create spec = { .name = "web", .image = "team/app:1" };
	char id[80];
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_create(d, &spec, id, sizeof(id), &e), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&e), "is already in use by 9bf6"), "%s", pb_err_text(&e));
	cr_assert(strstr(pb_err_text(&e), "(HTTP 500)"), "%s", pb_err_text(&e));
	pb_docker_free(d);
	fake_stop(&f);
}

/* The tag goes into repo as well: podman 4.x ignores the tag parameter of an import. */
Test(podman, import_names_repo_and_tag)
{
	fake_engine f;
	pb_docker *d = podman_client(&f, "{\"status\":\"sha256:9e10\",\"progress\":\"\",\"progressDetail\":{},"
				     "\"id\":\"sha256:9e10\"}\n", 200);
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_image_import(d, "tar", 3, "promobot-test/x", "t1", &e), 0, "%s", pb_err_text(&e));
	cr_assert(strstr(f.last_request, "POST /v1.41/images/create?fromSrc=-&repo=promobot-test%2Fx%3At1&tag=t1 "),
		  "%s", f.last_request);
	pb_docker_free(d);
	fake_stop(&f);
}

Test(podman, dockerd_is_not_podman)
{
	fake_engine f;
	char host[200];
	pb_docker *d = NULL;
	pb_err e;

	fake_start(&f, "{}");
	snprintf(host, sizeof(host), "unix://%s", f.path);
	setenv("DOCKER_HOST", host, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_ping(d, &e), 0, "%s", pb_err_text(&e));
	cr_assert_not(pb_docker_is_podman(d));
	pb_docker_free(d);
	fake_stop(&f);
}

/* A running container with a healthcheck every interval_s whose last result ended at `end` (NULL: none yet). */
static void health_doc(char *out, size_t size, const char *end, int interval_s)
{
	char log[200] = "null";

	if (end)
		snprintf(log, sizeof(log), "[{\"Start\":\"%s\",\"End\":\"%s\",\"ExitCode\":0,\"Output\":\"ok\"}]", end, end);
	snprintf(out, size,
		 "{\"Id\":\"c1\",\"Name\":\"/c1\",\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":42,"
		 "\"StartedAt\":\"2020-01-01T00:00:00.5Z\",\"Health\":{\"Status\":\"%s\",\"FailingStreak\":0,\"Log\":%s}},"
		 "\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":%d000000000,"
		 "\"Timeout\":1000000000,\"Retries\":1}}}",
		 end ? "healthy" : "starting", log, interval_s);
}

/* podman without systemd never runs healthchecks: an overdue one is run through libpod's endpoint. */
Test(podman, overdue_healthcheck_is_run_once)
{
	char doc[1024];
	fake_engine f;
	pb_docker *d;
	pb_docker_state st;
	pb_err e;

	health_doc(doc, sizeof(doc), NULL, 1);
	d = podman_client(&f, doc, 200);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_inspect(d, "c1", &st, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(f.lines, "GET /v1.41/containers/c1/json HTTP/1.1\n"
				  "GET /v4.3.1/libpod/containers/c1/healthcheck HTTP/1.1\n"
				  "GET /v1.41/containers/c1/json HTTP/1.1\n");
	cr_assert_str_eq(st.health, "starting");
	pb_docker_free(d);
	fake_stop(&f);
}

/* A scheduler that works (fresh result) is left alone, and dockerd is never asked. */
Test(podman, fresh_healthcheck_or_dockerd_is_left_alone)
{
	char doc[1024], now[64], host[200];
	time_t t = time(NULL);
	struct tm tm;
	fake_engine f;
	pb_docker *d = NULL;
	pb_docker_state st;
	pb_err e;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S.000000001Z", gmtime_r(&t, &tm));
	/* An hour's interval: "fresh" does not depend on how fast this test runs. */
	health_doc(doc, sizeof(doc), now, 3600);
	d = podman_client(&f, doc, 200);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_container_inspect(d, "c1", &st, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(f.lines, "GET /v1.41/containers/c1/json HTTP/1.1\n");
	cr_assert_str_eq(st.health, "healthy");
	cr_assert_str_eq(st.health_output, "ok");
	pb_docker_free(d);
	fake_stop(&f);

	health_doc(doc, sizeof(doc), NULL, 1);
	fake_start(&f, doc);
	snprintf(host, sizeof(host), "unix://%s", f.path);
	setenv("DOCKER_HOST", host, 1);
	cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	cr_assert_eq(pb_docker_container_inspect(d, "c1", &st, &e), 0, "%s", pb_err_text(&e));
	cr_assert_str_eq(f.lines, "GET /v1.41/containers/c1/json HTTP/1.1\n");
	pb_docker_free(d);
	fake_stop(&f);
}

/* ---- engine events: the parser, the line reader, the bounded window ---- */

/* Recorded from dockerd 20.10 (API 1.41) and podman 4.3.1's compat API on this machine. */
#define EV_ID "4561824a3fbebdaa5d2fe9942055f9725bb05c03352b38d1e48eb2ed9e6efc36"
#define EV_DOCKER_DIE                                                                                              \
	"{\"status\":\"die\",\"id\":\"" EV_ID "\",\"from\":\"obsd/bb:t\",\"Type\":\"container\",\"Action\":\"die\","  \
	"\"Actor\":{\"ID\":\"" EV_ID "\",\"Attributes\":{\"exitCode\":\"137\",\"image\":\"obsd/bb:t\",\"name\":\"obsdt\"}}," \
	"\"scope\":\"local\",\"time\":1796586056,\"timeNano\":1796586056425419235}"
#define EV_DOCKER_UNHEALTHY                                                                                        \
	"{\"status\":\"health_status: unhealthy\",\"id\":\"" EV_ID "\",\"from\":\"obsd/bb:t\",\"Type\":\"container\","  \
	"\"Action\":\"health_status: unhealthy\",\"Actor\":{\"ID\":\"" EV_ID "\",\"Attributes\":{\"image\":\"obsd/bb:t\"," \
	"\"name\":\"obsdt\"}},\"scope\":\"local\",\"time\":1796586056,\"timeNano\":1796586056230819580}"
#define EV_DOCKER_EXEC                                                                                             \
	"{\"status\":\"exec_start: /bin/test -f /tmp/ok\",\"id\":\"" EV_ID "\",\"Type\":\"container\","                 \
	"\"Action\":\"exec_start: /bin/test -f /tmp/ok\",\"Actor\":{\"ID\":\"" EV_ID "\",\"Attributes\":{"             \
	"\"execID\":\"94af\",\"name\":\"obsdt\"}},\"scope\":\"local\",\"time\":1796586056,\"timeNano\":1796586056032453431}"
#define EV_PODMAN_HEALTH                                                                                           \
	"{\"status\":\"health_status\",\"id\":\"670df919\",\"from\":\"docker.io/obsd/bb:latest\",\"Type\":\"container\"," \
	"\"Action\":\"health_status\",\"Actor\":{\"ID\":\"670df919\",\"Attributes\":{\"containerExitCode\":\"0\","      \
	"\"image\":\"docker.io/obsd/bb:latest\",\"name\":\"obsdt\",\"podId\":\"\"}},\"scope\":\"local\","              \
	"\"time\":1796586158,\"timeNano\":1796586158175102200}"

Test(events, recorded_lines_of_both_engines_parse)
{
	pb_docker_event ev;

	cr_assert_eq(pb_docker_event_parse(EV_DOCKER_DIE, strlen(EV_DOCKER_DIE), &ev), 0);
	cr_expect_str_eq(ev.type, "container");
	cr_expect_str_eq(ev.action, "die");
	cr_expect_str_eq(ev.id, EV_ID);
	cr_expect_str_eq(ev.name, "obsdt");
	cr_expect_eq(ev.exit_code, 137);
	cr_expect_eq(ev.time_ns, 1796586056425419235LL);
	cr_assert_eq(pb_docker_event_parse(EV_DOCKER_UNHEALTHY, strlen(EV_DOCKER_UNHEALTHY), &ev), 0);
	cr_expect_str_eq(ev.action, "health_status");
	cr_expect_str_eq(ev.health, "unhealthy");
	cr_expect_eq(ev.exit_code, -1);
	cr_assert_eq(pb_docker_event_parse(EV_DOCKER_EXEC, strlen(EV_DOCKER_EXEC), &ev), 0);
	cr_expect_str_eq(ev.action, "exec_start", "the command after the colon is not part of the action");
	cr_expect_str_eq(ev.health, "");
	cr_assert_eq(pb_docker_event_parse(EV_PODMAN_HEALTH, strlen(EV_PODMAN_HEALTH), &ev), 0);
	cr_expect_str_eq(ev.action, "health_status");
	cr_expect_str_eq(ev.health, "", "podman does not say which health: the caller asks inspect");
}

Test(events, numbers_are_bounded_and_required_keys_checked)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"}}",                          /* no time */
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":7.65556e+97}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056.5}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":-1}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056,\"timeNano\":\"1\"}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"timeNano\":1e30}",
		"{\"Type\":\"container\",\"Action\":\"\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056}",
		/* fuzz_docker_events: an action that is only its ":detail" part (regress-action-colon) */
		"{\"Type\":\"container\",\"Action\":\":ealth_status: unhealthy\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056}",
		"{\"Type\":\"container\",\"Action\":\":\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{},\"time\":1796586056}",
		"{\"Type\":7,\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},\"time\":1796586056",  /* cut */
	};
	pb_docker_event ev;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(pb_docker_event_parse(bad[i], strlen(bad[i]), &ev), PB_E_INVALID, "case %zu: %s", i, bad[i]);
	/* time alone (seconds) is enough; an exit code out of range is dropped, not trusted */
	const char *ok = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\",\"Attributes\":"
			 "{\"exitCode\":\"99999999999\"}},\"time\":1796586056}";
	cr_assert_eq(pb_docker_event_parse(ok, strlen(ok), &ev), 0);
	cr_expect_eq(ev.time_ns, 1796586056000000000LL);
	cr_expect_eq(ev.exit_code, -1);
	ok = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\",\"Attributes\":{\"exitCode\":1e300}},"
	     "\"time\":1796586056}";
	cr_assert_eq(pb_docker_event_parse(ok, strlen(ok), &ev), 0);
	cr_expect_eq(ev.exit_code, -1);
	/* an attribute spelling "timeNano" (a huge one first) is not the event's time */
	ok = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\",\"Attributes\":{\"timeNano\":"
	     "9999999999999999999,\"y\":{\"timeNano\":1796586056000000001}}},\"timeNano\":1796586056425419235}";
	cr_assert_eq(pb_docker_event_parse(ok, strlen(ok), &ev), 0);
	cr_expect_eq(ev.time_ns, 1796586056425419235LL);
}

typedef struct ev_seen { int n; char actions[16][48]; } ev_seen;

static void ev_collect(void *ud, const pb_docker_event *ev)
{
	ev_seen *s = ud;

	if (s->n < 16)
		snprintf(s->actions[s->n], sizeof(s->actions[0]), "%s", ev->action);
	s->n++;
}

Test(events, a_stream_split_at_every_offset_gives_the_same_events)
{
	const char *stream = EV_DOCKER_EXEC "\n" EV_DOCKER_UNHEALTHY "\r\n\n" EV_DOCKER_DIE "\n";
	size_t len = strlen(stream);

	for (size_t cut = 0; cut <= len; cut++) {
		pb_docker_event_reader r;
		ev_seen s = { 0 };

		pb_docker_event_reader_init(&r, ev_collect, &s);
		cr_assert_eq(pb_docker_event_reader_feed(&r, stream, cut), 0);
		cr_assert_eq(pb_docker_event_reader_feed(&r, stream + cut, len - cut), 0);
		pb_docker_event_reader_finish(&r);
		cr_assert_eq(s.n, 3, "cut at %zu", cut);
		cr_assert_str_eq(s.actions[1], "health_status");
		cr_assert_str_eq(s.actions[2], "die");
		cr_assert_eq(r.malformed + r.oversized, 0);
		pb_docker_event_reader_deinit(&r);
	}
}

Test(events, malformed_and_oversized_lines_are_skipped_and_counted)
{
	pb_docker_event_reader r;
	ev_seen s = { 0 };
	char *big = malloc(PB_DOCKER_EVENT_LINE_MAX + 100);

	cr_assert_not_null(big);
	memset(big, 'x', PB_DOCKER_EVENT_LINE_MAX + 99);
	big[PB_DOCKER_EVENT_LINE_MAX + 99] = '\0';
	pb_docker_event_reader_init(&r, ev_collect, &s);
	cr_assert_eq(pb_docker_event_reader_feed(&r, "{not json}\n", 11), 0);
	/* an oversized line, fed in pieces, then a good one right after its newline */
	cr_assert_eq(pb_docker_event_reader_feed(&r, big, 1000), 0);
	cr_assert_eq(pb_docker_event_reader_feed(&r, big, strlen(big)), 0);
	cr_assert_eq(pb_docker_event_reader_feed(&r, "\n" EV_DOCKER_DIE "\n", strlen(EV_DOCKER_DIE) + 2), 0);
	/* a last line without its newline still counts at the end */
	cr_assert_eq(pb_docker_event_reader_feed(&r, EV_DOCKER_UNHEALTHY, strlen(EV_DOCKER_UNHEALTHY)), 0);
	pb_docker_event_reader_finish(&r);
	cr_expect_eq(r.malformed, 1);
	cr_expect_eq(r.oversized, 1);
	cr_expect_eq(s.n, 2);
	cr_expect_str_eq(s.actions[0], "die");
	cr_expect_str_eq(s.actions[1], "health_status");
	pb_docker_event_reader_deinit(&r);
	free(big);
}

/* A window of canned events around the wall clock: before the cursor, inside (one repeated), after its end. */
static void events_body(char *out, size_t size, int64_t now_s)
{
	snprintf(out, size,
		 "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"c1\"},\"timeNano\":%lld000000000}\n"
		 "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"exitCode\":\"1\"}},"
		 "\"timeNano\":%lld000000001}\n"
		 "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"exitCode\":\"1\"}},"
		 "\"timeNano\":%lld000000001}\n"
		 "garbage\n"
		 "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"other\"},\"timeNano\":%lld000000002}\n"
		 "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"c1\"},\"timeNano\":%lld000000003}\n"
		 "{\"Type\":\"container\",\"Action\":\"oom\",\"Actor\":{\"ID\":\"c1\"},\"timeNano\":%lld000000000}\n",
		 (long long)(now_s - 20), (long long)(now_s - 5), (long long)(now_s - 5), (long long)(now_s - 5),
		 (long long)(now_s - 5), (long long)(now_s + 5));
}

static void events_window(bool podman)
{
	int64_t now_s = pb_clock_wall_ms(NULL) / 1000, cursor = (now_s - 10) * 1000000000LL, before;
	char body[2048], host[200], want[128];
	pb_docker_events_window w;
	ev_seen s = { 0 };
	fake_engine f;
	pb_docker *d = NULL;
	pb_err e;

	events_body(body, sizeof(body), now_s);
	pb_err_init(&e);
	if (podman) {
		d = podman_client(&f, body, 200);
	} else {
		fake_start(&f, body);
		snprintf(host, sizeof(host), "unix://%s", f.path);
		setenv("DOCKER_HOST", host, 1);
		cr_assert_eq(pb_docker_new(NULL, 5000, &d, &e), 0);
	}
	before = cursor;
	cr_assert_eq(pb_docker_events_read(d, "c1", &cursor, ev_collect, &s, &w, &e), 0, "%s", pb_err_text(&e));
	cr_expect_eq(s.n, 2, "die and start inside the window; the repeat, the other container, the ones outside not");
	cr_expect_str_eq(s.actions[0], "die");
	cr_expect_str_eq(s.actions[1], "start");
	cr_expect_eq(w.received, 2);
	cr_expect_eq(w.duplicates, 1);
	cr_expect_eq(w.malformed, 1);
	cr_expect_gt(cursor, before + 8 * 1000000000LL, "the cursor moves to the window's end (about 1 s ago)");
	cr_expect_lt(cursor, (now_s + 2) * 1000000000LL);
	snprintf(want, sizeof(want), "GET /v1.41/events?since=%lld&%s", (long long)(now_s - 10),
		 podman ? "stream=false&filters=" : "until=");
	cr_expect(strstr(f.lines, want), "%s (want %s)", f.lines, want);
	cr_expect(strstr(f.lines, "%22container%22%3A%5B%22c1%22%5D"), "filtered by container: %s", f.lines);
	pb_docker_free(d);
	fake_stop(&f);
}

Test(events, dockerd_window_uses_until) { events_window(false); }
Test(events, podman_window_uses_stream_false_and_ends_it_here) { events_window(true); }

Test(events, a_first_read_starts_following_now_and_an_engine_error_keeps_the_cursor)
{
	int64_t cursor = 0, wall = pb_clock_wall_ms(NULL) * 1000000LL, kept;
	fake_engine f;
	pb_docker *d = NULL;
	ev_seen s = { 0 };
	pb_err e;

	d = podman_client(&f, "{\"cause\":\"boom\",\"message\":\"boom\",\"response\":500}", 500);
	pb_err_init(&e);
	cr_assert_eq(pb_docker_events_read(d, "c1", &cursor, ev_collect, &s, NULL, &e), 0);
	cr_expect_eq(s.n, 0);
	cr_expect_gt(cursor, wall - 3000000000LL);
	cursor -= 60 * 1000000000LL;
	kept = cursor;
	cr_expect_eq(pb_docker_events_read(d, "c1", &cursor, ev_collect, &s, NULL, &e), PB_E_FAILED);
	cr_expect(strstr(pb_err_text(&e), "boom"), "%s", pb_err_text(&e));
	cr_expect_eq(cursor, kept, "a failed read is read again next time");
	cr_expect_eq(pb_docker_events_read(d, "../x", &cursor, ev_collect, &s, NULL, &e), PB_E_INVALID);
	pb_docker_free(d);
	fake_stop(&f);
}

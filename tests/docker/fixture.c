/* fixture.c — docker suite setup: engine gate, busybox+fake image via the API, ports, cleanup. */
#include "fixture.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb_clock.h"

#define FX_HOWTO                                                                                  \
	"Provide a Docker engine: run the tests through scripts/docker-env.sh (it starts a private " \
	"dockerd from Debian's docker.io when run as root), or set DOCKER_HOST=unix:///path/to/docker.sock " \
	"(or tcp://host:port, podman's API works too). PROMOBOT_SKIP_DOCKER=1 disables the docker suites."

const char *fx_image(void)
{
	return getenv("PB_FX_IMAGE");
}

const char *fx_prefix(void)
{
	return getenv("PB_FX_PREFIX");
}

const char *fx_registry(void)
{
	const char *r = getenv("PROMOBOT_REGISTRY");

	return r && *r ? r : NULL;
}

pb_docker *fx_docker(void)
{
	pb_docker *d = NULL;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_docker_new(NULL, 60000, &d, &e), 0, "%s", pb_err_text(&e));
	return d;
}

int fx_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

bool fx_wait_port(int port, int timeout_ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + timeout_ms;

	while (!port_accepts(port)) {
		if (pb_clock_mono_ms(NULL) > deadline)
			return false;
		poll(NULL, 0, 50);
	}
	return true;
}

bool fx_port_closed(int port)
{
	return !port_accepts(port);
}

/* Runs argv; stdout appended to out when non-NULL. Returns the exit status or -1. */
cJSON *fx_str_array(const char *const *items)
{
	cJSON *a = cJSON_CreateArray();

	for (int i = 0; items[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
	return a;
}

cJSON *fx_users(bool carol_admin)
{
	cJSON *users = cJSON_CreateObject(), *u;

	u = cJSON_AddObjectToObject(users, "alice");
	cJSON_AddStringToObject(u, "name", "Alice");
	cJSON_AddItemToObject(u, "roles", fx_str_array((const char *[]){ "requester", NULL }));
	u = cJSON_AddObjectToObject(users, "bob");
	cJSON_AddStringToObject(u, "name", "Bob");
	cJSON_AddItemToObject(u, "roles", fx_str_array((const char *[]){ "approver", NULL }));
	u = cJSON_AddObjectToObject(users, "carol");
	cJSON_AddStringToObject(u, "name", "Carol");
	cJSON_AddItemToObject(u, "roles", fx_str_array(carol_admin ? (const char *[]){ "deployer", "admin", NULL }
								  : (const char *[]){ "deployer", NULL }));
	return users;
}

cJSON *fx_neo4j_staging(const char *container_name, int port)
{
	char port_s[16], url[64];
	cJSON *env = cJSON_CreateObject(), *p, *e, *hc, *v, *ports, *envs;

	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cJSON_AddStringToObject(env, "image", fx_image());
	cJSON_AddStringToObject(env, "container_name", container_name);
	cJSON_AddStringToObject(env, "pull", "missing");
	cJSON_AddStringToObject(env, "network_mode", "host");
	cJSON_AddItemToObject(env, "cmd", fx_str_array((const char *[]){ "/bin/neo4j_fake", "--port", port_s, NULL }));
	ports = cJSON_AddArrayToObject(env, "ports");
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "container", port);
	cJSON_AddNumberToObject(p, "host", port);
	cJSON_AddItemToArray(ports, p);
	envs = cJSON_AddArrayToObject(env, "env");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", "NEO4J_AUTH");
	cJSON_AddStringToObject(e, "value_env", "PB_TEST_NEO4J_AUTH");
	cJSON_AddItemToArray(envs, e);
	hc = cJSON_AddObjectToObject(env, "healthcheck");
	cJSON_AddItemToObject(hc, "test", fx_str_array((const char *[]){ "CMD", "/bin/neo4j_fake", "--health", "--port",
									 port_s, NULL }));
	cJSON_AddNumberToObject(hc, "interval_s", 1);
	cJSON_AddNumberToObject(hc, "timeout_s", 3);
	cJSON_AddNumberToObject(hc, "retries", 2);
	v = cJSON_AddObjectToObject(env, "validation");
	cJSON_AddStringToObject(v, "kind", "neo4j");
	cJSON_AddStringToObject(v, "url", url);
	cJSON_AddStringToObject(v, "user", "neo4j");
	cJSON_AddStringToObject(v, "password_env", "PB_TEST_NEO4J_PW");
	cJSON_AddNumberToObject(v, "queries", 5);
	cJSON_AddNumberToObject(v, "timeout_ms", 2000);
	cJSON_AddNumberToObject(env, "healthy_timeout_s", 60);
	return env;
}

static int run(char *const argv[], pb_buf *out)
{
	int pfd[2], status = -1;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(pfd[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(pfd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		if (out)
			pb_buf_append(out, buf, (size_t)n);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char *const argv[] = { "cp", (char *)from, (char *)to, NULL };

	if (run(argv, NULL) != 0)
		return -1;
	return chmod(to, mode);
}

int fx_rootfs_tar(pb_buf *out)
{
	char dir[] = "/tmp/pbfx-rootfs-XXXXXX", path[512], tarpath[600];
	const char *fake = getenv("NEO4J_FAKE");
	const char *busybox = "/usr/bin/busybox";
	pb_buf list;
	char *line, *save = NULL;
	int r = -1;
	FILE *fp;

	if (!fake || !mkdtemp(dir))
		return -1;
	pb_buf_init(&list);
	snprintf(path, sizeof(path), "%s/root", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/root/bin", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/root/tmp", dir);
	mkdir(path, 01777);
	snprintf(path, sizeof(path), "%s/root/etc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/root/bin/busybox", dir);
	if (copy_file(busybox, path, 0755))
		goto out;
	snprintf(path, sizeof(path), "%s/root/bin/neo4j_fake", dir);
	if (copy_file(fake, path, 0755))
		goto out;
	snprintf(path, sizeof(path), "%s/root/etc/passwd", dir);
	fp = fopen(path, "w");
	if (!fp)
		goto out;
	fputs("root:x:0:0:root:/root:/bin/sh\n", fp);
	fclose(fp);
	{
		char *const argv[] = { (char *)busybox, "--list", NULL };

		if (run(argv, &list) != 0)
			goto out;
	}
	/* Applet links so "CMD", "false", "wget" … resolve inside the container. */
	for (line = strtok_r(list.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "busybox") == 0 || strchr(line, '/'))
			continue;
		snprintf(path, sizeof(path), "%s/root/bin/%s", dir, line);
		if (symlink("busybox", path) < 0 && errno != EEXIST)
			goto out;
	}
	snprintf(tarpath, sizeof(tarpath), "%s/rootfs.tar", dir);
	snprintf(path, sizeof(path), "%s/root", dir);
	{
		char *const argv[] = { "tar", "-C", path, "-cf", tarpath, ".", NULL };

		if (run(argv, NULL) != 0)
			goto out;
	}
	{
		char *const argv[] = { "cat", tarpath, NULL };

		if (run(argv, out) != 0 || out->oom)
			goto out;
	}
	r = 0;
out:
	{
		char *const argv[] = { "rm", "-rf", dir, NULL };

		run(argv, NULL);
	}
	pb_buf_deinit(&list);
	return r;
}

/* Removes this run's containers (names start with the prefix) and images. */
static void cleanup(pb_docker *d, const char *prefix, const char *image)
{
	pb_docker_container *list = NULL;
	size_t n = 0, i;
	pb_err e;

	pb_err_init(&e);
	if (pb_docker_container_list(d, true, NULL, 0, &list, &n, &e) == 0) {
		for (i = 0; i < n; i++)
			if (strncmp(list[i].name, prefix, strlen(prefix)) == 0) {
				pb_err_init(&e);
				pb_docker_container_remove(d, list[i].id, &e);
			}
	}
	free(list);
	pb_err_init(&e);
	pb_docker_image_remove(d, image, true, &e);
}

int fx_main(int argc, char **argv, const char *suite)
{
	const char *skip = getenv("PROMOBOT_SKIP_DOCKER");
	const char *host = getenv("DOCKER_HOST");
	struct criterion_test_set *tests;
	char image[256], prefix[64], tag[64];
	pb_docker *d = NULL;
	pb_buf tar;
	pb_err e;
	int result = 0;

	if (skip && strcmp(skip, "1") == 0) {
		printf("%s: docker suite DISABLED by PROMOBOT_SKIP_DOCKER=1 (not run, not counted as passing)\n", suite);
		return 77;
	}
	if (!host || !*host) {
		fprintf(stderr, "%s: FAIL: DOCKER_HOST is not set. %s\n", suite, FX_HOWTO);
		return 1;
	}
	pb_err_init(&e);
	if (pb_docker_new(NULL, 60000, &d, &e) || pb_docker_ping(d, &e)) {
		fprintf(stderr, "%s: FAIL: no Docker engine answers at DOCKER_HOST=%s: %s. %s\n", suite, host,
			pb_err_text(&e), FX_HOWTO);
		pb_docker_free(d);
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "pbt%ld-", (long)getpid());
	snprintf(tag, sizeof(tag), "run%ld", (long)getpid());
	snprintf(image, sizeof(image), "promobot-test/neo4jfake:%s", tag);
	pb_buf_init(&tar);
	if (fx_rootfs_tar(&tar) != 0) {
		fprintf(stderr, "%s: FAIL: cannot build the test rootfs (busybox-static, tar, NEO4J_FAKE=%s)\n", suite,
			getenv("NEO4J_FAKE") ? getenv("NEO4J_FAKE") : "(unset)");
		pb_buf_deinit(&tar);
		pb_docker_free(d);
		return 1;
	}
	if (pb_docker_image_import(d, tar.data, tar.len, "promobot-test/neo4jfake", tag, &e) != 0) {
		fprintf(stderr, "%s: FAIL: importing the test image: %s\n", suite, pb_err_text(&e));
		pb_buf_deinit(&tar);
		pb_docker_free(d);
		return 1;
	}
	pb_buf_deinit(&tar);
	/* Test processes are re-executed by Criterion: hand them the run's names by environment. */
	setenv("PB_FX_IMAGE", image, 1);
	setenv("PB_FX_PREFIX", prefix, 1);
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	cleanup(d, prefix, image);
	pb_docker_free(d);
	return result;
}

/* test_engine.c — Docker Engine client against a real engine: images, containers, logs, stats, errors. */
#include <criterion/criterion.h>

#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "fixture.h"
#include "pb_clock.h"

static pb_docker *D;
static pb_err E;

static void setup(void)
{
	D = fx_docker();
	pb_err_init(&E);
}

static void teardown(void)
{
	pb_docker_free(D);
}

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 120);

/* Creates and starts a host-network container running cmd; returns its id in id. */
static void run_container(const char *suffix, const char *const *cmd, size_t ncmd, char *id, size_t size,
			  const char *label_value)
{
	const char *keys[] = { "promobot.test" };
	const char *vals[] = { label_value };
	char name[128];
	pb_docker_create spec = { 0 };

	snprintf(name, sizeof(name), "%s%s", fx_prefix(), suffix);
	spec.name = name;
	spec.image = fx_image();
	spec.cmd = cmd;
	spec.ncmd = ncmd;
	spec.label_keys = keys;
	spec.label_values = vals;
	spec.nlabels = 1;
	spec.network_mode = "host";
	cr_assert_eq(pb_docker_container_create(D, &spec, id, size, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_container_start(D, id, &E), 0, "%s", pb_err_text(&E));
}

Test(engine, ping_negotiates_version)
{
	char v[64];

	cr_assert_eq(pb_docker_ping(D, &E), 0, "%s", pb_err_text(&E));
	cr_assert_neq(pb_docker_api_version(D)[0], '\0');
	/* Never above what we speak. */
	cr_assert(strcmp(pb_docker_api_version(D), "1.41") <= 0 || strlen(pb_docker_api_version(D)) < 4,
		  "%s", pb_docker_api_version(D));
	cr_assert_eq(pb_docker_version(D, v, sizeof(v), &E), 0, "%s", pb_err_text(&E));
	cr_assert_neq(v[0], '\0');
}

Test(engine, image_inspect_present_and_missing)
{
	char id[128];

	cr_assert_eq(pb_docker_image_inspect(D, fx_image(), id, sizeof(id), &E), 0, "%s", pb_err_text(&E));
	cr_assert(strncmp(id, "sha256:", 7) == 0, "%s", id);
	pb_err_init(&E);
	cr_assert_eq(pb_docker_image_inspect(D, "promobot-test/absent:nope", id, sizeof(id), &E), PB_E_NOTFOUND);
	cr_assert(strstr(pb_err_text(&E), "No such image"), "%s", pb_err_text(&E));
	cr_assert(strstr(pb_err_text(&E), "HTTP 404"), "%s", pb_err_text(&E));
}

Test(engine, container_lifecycle)
{
	const char *cmd[] = { "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 600" };
	char id[80], name[128], newname[160], label[64];
	pb_docker_container *list = NULL;
	pb_docker_state st;
	pb_docker_stats stats;
	const char *filter[1];
	size_t n = 0;
	pb_buf logs;
	int64_t deadline;

	snprintf(label, sizeof(label), "lifecycle-%d", getpid());
	run_container("life", cmd, 3, id, sizeof(id), label);
	snprintf(name, sizeof(name), "%slife", fx_prefix());
	cr_assert_eq(pb_docker_container_inspect(D, name, &st, &E), 0, "%s", pb_err_text(&E));
	cr_assert(st.running);
	cr_assert_str_eq(st.status, "running");
	cr_assert_str_eq(st.id, id);
	cr_assert_str_eq(st.name, name);
	cr_assert_gt(st.pid, 0);
	cr_assert_eq(st.health[0], '\0');

	/* Starting a running container is a 304: success. */
	cr_assert_eq(pb_docker_container_start(D, id, &E), 0, "%s", pb_err_text(&E));

	char lbl[96];
	snprintf(lbl, sizeof(lbl), "promobot.test=%s", label);
	filter[0] = lbl;
	cr_assert_eq(pb_docker_container_list(D, true, filter, 1, &list, &n, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].id, id);
	cr_assert_str_eq(list[0].name, name);
	cr_assert_str_eq(list[0].network_mode, "host");
	free(list);

	/* Logs: both streams, demultiplexed (the echo ran before sleep, poll until they show). */
	pb_buf_init(&logs);
	deadline = pb_clock_mono_ms(NULL) + 10000;
	do {
		pb_buf_reset(&logs);
		cr_assert_eq(pb_docker_container_logs(D, id, st.tty, 10, &logs, &E), 0, "%s", pb_err_text(&E));
	} while (!strstr(pb_buf_str(&logs), "to-stderr") && pb_clock_mono_ms(NULL) < deadline);
	cr_assert(strstr(pb_buf_str(&logs), "to-stdout\n"), "%s", pb_buf_str(&logs));
	cr_assert(strstr(pb_buf_str(&logs), "to-stderr\n"), "%s", pb_buf_str(&logs));
	pb_buf_deinit(&logs);

	cr_assert_eq(pb_docker_container_stats(D, id, &stats, &E), 0, "%s", pb_err_text(&E));
	cr_assert(stats.cpu_percent >= 0);
	cr_assert(stats.mem_percent >= 0 && stats.mem_percent <= 100);

	snprintf(newname, sizeof(newname), "%slife-renamed", fx_prefix());
	cr_assert_eq(pb_docker_container_stop(D, id, 1, &E), 0, "%s", pb_err_text(&E));
	/* Stopping a stopped container is a 304: success. */
	cr_assert_eq(pb_docker_container_stop(D, id, 1, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_container_inspect(D, id, &st, &E), 0);
	cr_assert_not(st.running);
	cr_assert_str_eq(st.status, "exited");
	cr_assert_eq(pb_docker_container_rename(D, id, newname, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_container_inspect(D, newname, &st, &E), 0, "%s", pb_err_text(&E));
	cr_assert_str_eq(st.id, id);
	cr_assert_eq(pb_docker_container_remove(D, id, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_container_inspect(D, id, &st, &E), PB_E_NOTFOUND);
}

/*
 * A spinning container uses about one CPU: the figure must be a recent delta (as `docker stats`
 * shows it), not lifetime-over-uptime (≈0.01 %, what podman's one-shot reply alone gives).
 * 1 % leaves two orders of magnitude for a loaded host.
 */
Test(engine, stats_of_a_busy_container)
{
	const char *cmd[] = { "/bin/sh", "-c", "while :; do :; done" };
	pb_docker_stats stats;
	char id[80];

	run_container("busy", cmd, 3, id, sizeof(id), "busy");
	cr_assert_eq(pb_docker_container_stats(D, id, &stats, &E), 0, "%s", pb_err_text(&E));
	cr_assert_gt(stats.cpu_percent, 1.0, "cpu %.3f %%", stats.cpu_percent);
	cr_assert_gt(stats.mem_used, 0);
	cr_assert_gt(stats.mem_limit, 0);
	cr_assert(stats.mem_percent > 0 && stats.mem_percent <= 100, "%f", stats.mem_percent);
	cr_assert_eq(pb_docker_container_remove(D, id, &E), 0, "%s", pb_err_text(&E));
}

Test(engine, errors_carry_engine_message_and_status)
{
	const char *cmd[] = { "/bin/sleep", "600" };
	char id[80], id2[80];
	pb_docker_state st;
	char name[128];
	pb_docker_create spec = { 0 };

	pb_buf logs;

	pb_buf_init(&logs);
	cr_assert_eq(pb_docker_container_logs(D, "pb-no-such-container", false, 5, &logs, &E), PB_E_NOTFOUND);
	cr_assert(strstr(pb_err_text(&E), "No such container: pb-no-such-container (HTTP 404)"), "%s",
		  pb_err_text(&E));
	pb_buf_deinit(&logs);
	pb_err_init(&E);
	cr_assert_eq(pb_docker_container_inspect(D, "pb-no-such-container", &st, &E), PB_E_NOTFOUND);
	cr_assert(strstr(pb_err_text(&E), "No such container: pb-no-such-container"), "%s", pb_err_text(&E));
	cr_assert(strstr(pb_err_text(&E), "HTTP 404"), "%s", pb_err_text(&E));

	run_container("clash", cmd, 2, id, sizeof(id), "clash");
	snprintf(name, sizeof(name), "%sclash", fx_prefix());
	spec.name = name;
	spec.image = fx_image();
	spec.cmd = cmd;
	spec.ncmd = 2;
	pb_err_init(&E);
	cr_assert_eq(pb_docker_container_create(D, &spec, id2, sizeof(id2), &E), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&E), "is already in use"), "%s", pb_err_text(&E));
	/* The status the engine really sent: dockerd 409, podman 4.x 500 (the client maps both to CONFLICT). */
	cr_assert(strstr(pb_err_text(&E), pb_docker_is_podman(D) ? "HTTP 500" : "HTTP 409"), "%s", pb_err_text(&E));
	pb_err_init(&E);
	cr_assert_eq(pb_docker_container_remove(D, id, &E), 0, "%s", pb_err_text(&E));
}

Test(engine, healthcheck_reports_unhealthy)
{
	char *test[] = { "CMD", "false" };
	pb_container_health_cfg hc = { .test = test, .ntest = 2, .interval_s = 1, .timeout_s = 2, .retries = 1 };
	const char *cmd[] = { "/bin/sleep", "600" };
	pb_docker_create spec = { 0 };
	pb_docker_state st;
	char name[128], id[80];
	int64_t deadline = pb_clock_mono_ms(NULL) + 30000;

	snprintf(name, sizeof(name), "%ssick", fx_prefix());
	spec.name = name;
	spec.image = fx_image();
	spec.cmd = cmd;
	spec.ncmd = 2;
	spec.network_mode = "host";
	spec.health = &hc;
	cr_assert_eq(pb_docker_container_create(D, &spec, id, sizeof(id), &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_container_start(D, id, &E), 0, "%s", pb_err_text(&E));
	do {
		cr_assert_eq(pb_docker_container_inspect(D, id, &st, &E), 0, "%s", pb_err_text(&E));
		if (strcmp(st.health, "unhealthy") == 0)
			break;
		poll(NULL, 0, 200);
	} while (pb_clock_mono_ms(NULL) < deadline);
	cr_assert_str_eq(st.health, "unhealthy");
	cr_assert(st.running);
	cr_assert_eq(pb_docker_container_remove(D, id, &E), 0, "%s", pb_err_text(&E));
}

Test(engine, import_push_pull_and_missing_tag_error)
{
	const char *reg = fx_registry();
	char repo[256], ref[300], missing[300], id[128];
	pb_docker_pull_stats st;
	int r;

	cr_assert(reg, "PROMOBOT_REGISTRY is not set: run through scripts/docker-env.sh, which starts a local "
		       "docker-registry so the pull path runs for real");
	snprintf(repo, sizeof(repo), "%s/promobot-test/neo4jfake", reg);
	snprintf(ref, sizeof(ref), "%s:pushed%d", repo, getpid());
	cr_assert_eq(pb_docker_image_tag(D, fx_image(), repo, strchr(ref + strlen(repo), ':') + 1, &E), 0, "%s",
		     pb_err_text(&E));
	cr_assert_eq(pb_docker_image_push(D, repo, strchr(ref + strlen(repo), ':') + 1, &E), 0, "%s",
		     pb_err_text(&E));
	/* Drop the local tag so the pull really fetches from the registry. */
	cr_assert_eq(pb_docker_image_remove(D, ref, false, &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_image_inspect(D, ref, id, sizeof(id), &E), PB_E_NOTFOUND);
	pb_err_init(&E);
	cr_assert_eq(pb_docker_image_pull(D, ref, &st, NULL, NULL, &E), 0, "%s", pb_err_text(&E));
	cr_assert_gt(st.lines, 0);
	cr_assert_neq(st.last_status[0], '\0');
	cr_assert_eq(pb_docker_image_inspect(D, ref, id, sizeof(id), &E), 0, "%s", pb_err_text(&E));
	cr_assert_eq(pb_docker_image_remove(D, ref, true, &E), 0, "%s", pb_err_text(&E));

	snprintf(missing, sizeof(missing), "%s:missing%d", repo, getpid());
	pb_err_init(&E);
	r = pb_docker_image_pull(D, missing, &st, NULL, NULL, &E);
	/* Engines report this before streaming (404) or in-band with HTTP 200: both must surface. */
	cr_assert(r == PB_E_FAILED || r == PB_E_NOTFOUND, "%d %s", r, pb_err_text(&E));
	cr_assert(strstr(pb_err_text(&E), "manifest unknown") || strstr(pb_err_text(&E), "not found"), "%s",
		  pb_err_text(&E));
}

Test(engine, unreachable_engine_names_the_socket)
{
	pb_docker *d = NULL;

	setenv("DOCKER_HOST", "unix:///tmp/pb-no-engine-here/docker.sock", 1);
	cr_assert_eq(pb_docker_new(NULL, 2000, &d, &E), 0);
	cr_assert_eq(pb_docker_ping(d, &E), PB_E_UNAVAILABLE);
	cr_assert(strstr(pb_err_text(&E), "unix:///tmp/pb-no-engine-here/docker.sock is unreachable"), "%s",
		  pb_err_text(&E));
	pb_docker_free(d);
	setenv("DOCKER_HOST", "ftp://nope", 1);
	pb_err_init(&E);
	cr_assert_eq(pb_docker_new(NULL, 2000, &d, &E), PB_E_INVALID);
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "docker/engine");
}

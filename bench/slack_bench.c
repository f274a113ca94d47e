/* slack_bench.c — drives N "/promote status neo4j" slash commands through the fake Slack into promobot. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_slack.h"

#define APP_TOKEN "xapp-1-A0BENCH-bench-app-token"
#define BOT_TOKEN "xoxb-bench-bot-token-0000"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* VmHWM (peak resident set) of pid in kB, -1 when unreadable. */
static long peak_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static pid_t start_bot(const char *bin, const char *dir, const fake_slack *fake, int workers, int interval)
{
	char cfg[512], log[512];
	FILE *f;
	pid_t pid;

	snprintf(cfg, sizeof(cfg), "%s/promobot.json", dir);
	snprintf(log, sizeof(log), "%s/bot.log", dir);
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f,
		"{\"storage\":{\"path\":\"%s/promobot.db\"},"
		"\"chat\":{\"platform\":\"slack\",\"slack\":{\"api_url\":\"%s\",\"app_token_env\":\"BENCH_SLACK_APP\","
		"\"bot_token_env\":\"BENCH_SLACK_BOT\",\"channel\":\"C0PROMO\",\"min_post_interval_ms\":%d}},"
		"\"workers\":%d,"
		"\"users\":{\"U0ALICE\":{\"name\":\"Alice\",\"roles\":[\"requester\",\"approver\"]}},"
		"\"policy\":{\"required_approvals\":1,\"required_checks\":[\"tests\"]},"
		"\"components\":[{\"id\":\"neo4j\",\"name\":\"Neo4j\",\"group\":\"Core\",\"stage\":\"development\","
		"\"workdir\":\"%s\",\"revision\":{\"value\":\"5.13\"},"
		"\"checks\":[{\"name\":\"unit tests\",\"criterion\":\"tests\",\"argv\":[\"true\"]}],"
		"\"environments\":{\"staging\":{\"image\":\"neo4j:5.13\",\"container_name\":\"neo4j-staging\"}}}]}\n",
		dir, fake_slack_api_url(fake), interval, workers, dir);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setenv("BENCH_SLACK_APP", APP_TOKEN, 1);
		setenv("BENCH_SLACK_BOT", BOT_TOKEN, 1);
		setenv("PROMOBOT_LOG", "error", 1);
		execl(bin, bin, "--config", cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	const char *bin = getenv("PROMOBOT_BIN");
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	int workers = argc > 2 ? atoi(argv[2]) : 4;
	/* In-flight cap below the bot's job queue (256): the bench measures throughput, not "busy". */
	long window = argc > 3 ? strtol(argv[3], NULL, 10) : 200;
	size_t busy = 0;
	char dir[] = "/tmp/pb-slack-bench-XXXXXX";
	fake_slack *fake = NULL;
	int64_t *lat, t0, t_acked, t_done;
	size_t replies;
	long rss;
	pid_t pid;
	int status, rc = 1;

	if (!bin || n <= 0) {
		fprintf(stderr, "usage: PROMOBOT_BIN=…/promobot slack_bench [N=1000] [workers=4] [window=200]\n");
		return 2;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat || !mkdtemp(dir) || fake_slack_start(APP_TOKEN, BOT_TOKEN, &fake)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	pid = start_bot(bin, dir, fake, workers, 0);
	if (pid < 0 || !fake_slack_wait_hellos(fake, 1, 30000)) {
		fprintf(stderr, "promobot did not connect (see %s/bot.log)\n", dir);
		goto out;
	}
	t0 = now_ms();
	for (long i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bench-%ld", i);
		if (i >= window && !fake_slack_wait_calls(fake, "chat.postEphemeral", (size_t)(i - window + 1), 60000)) {
			fprintf(stderr, "replies stalled at %ld\n", i);
			goto out;
		}
		if (fake_slack_send_slash(fake, id, "U0ALICE", "C0PROMO", "/promote status neo4j") < 0) {
			fprintf(stderr, "send failed at %ld\n", i);
			goto out;
		}
	}
	if (!fake_slack_wait_acked_envelopes(fake, (size_t)n, 120000)) {
		fprintf(stderr, "only %zu of %ld acked\n", fake_slack_acked_envelopes(fake), n);
		goto out;
	}
	t_acked = now_ms();
	if (!fake_slack_wait_calls(fake, "chat.postEphemeral", (size_t)n, 120000))
		fprintf(stderr, "timed out waiting for replies\n");
	t_done = now_ms();
	replies = fake_slack_call_count(fake, "chat.postEphemeral", true);
	for (long i = 0; i < n; i++) {
		char id[32];
		fake_slack_ack a;

		snprintf(id, sizeof(id), "bench-%ld", i);
		if (fake_slack_wait_ack(fake, id, 0, &a)) {
			lat[i] = a.acked_ms - a.sent_ms;
			busy += a.payload != NULL;
			free(a.payload);
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	rss = peak_rss_kb(pid);
	printf("commands:           %ld (workers %d, in flight <= %ld, answered busy %zu)\n", n, workers,
	       window, busy);
	printf("ack latency p50:    %lld ms\n", (long long)lat[n / 2]);
	printf("ack latency p99:    %lld ms\n", (long long)lat[(n * 99) / 100 >= n ? n - 1 : (n * 99) / 100]);
	printf("ack latency max:    %lld ms\n", (long long)lat[n - 1]);
	printf("all acked after:    %lld ms\n", (long long)(t_acked - t0));
	printf("replies delivered:  %zu / %ld in %lld ms\n", replies, n, (long long)(t_done - t0));
	printf("commands/s:         %.1f\n", t_done > t0 ? (double)replies * 1000.0 / (double)(t_done - t0) : 0.0);
	printf("bot peak RSS:       %ld kB (VmHWM)\n", rss);
	rc = replies == (size_t)n ? 0 : 1;
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "promobot exit status %d (log kept in %s)\n", status, dir);
			rc = 1;
		}
	}
	fake_slack_free(fake);
	free(lat);
	if (rc == 0) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}

/* slack_bench.c — slash commands through the fake Slack: promobot's ack latency next to a bare acking client's, then throughput with many in flight. */
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_slack.h"

/*
 * usage: PROMOBOT_BIN=…/promobot [FLOOR_BIN=…/floor_client] slack_bench [N=1000] [workers=4] [window=200]
 *   BENCH_MODE=all|seq|flight|replicas   (default all)
 *   BENCH_SEQ_N=2000            sequential commands per client in the seq part
 *   BENCH_SEQ_ROUNDS=5          floor/promobot rounds in the seq part (1..50), alternating so that a drift of
 *                               the machine's load touches both; one table per round, then the median ratio
 *   BENCH_SEQ_DUMP=prefix       writes every seq sample (µs, send order) to prefix.<client>.<round>
 *   BENCH_WORKER_NICE=0..19     worker_nice in promobot's config; BENCH_WORKER_IDLE=1 sets worker_idle: true
 *   BENCH_WORKER_CPUS=0..64     worker_cpus (0: the command pool and the poster without CPU lanes)
 *   BENCH_WORKER_PIN=0          worker_pin: false (the lanes' threads may run on any CPU)
 *   BENCH_SLOW=1                multiplies the seq waits (connect 30 s, ack 10 s, replies 60 s), e.g. under valgrind
 *   TMPDIR                      where the run's store, configs and sockets go (default /tmp)
 * seq:    BENCH_SEQ_N slash commands one at a time (send, wait for the ack, next), first against
 *         floor_client (acks only), then against promobot (acks, then its workers reply), each
 *         with its own fake Slack; latency is taken here in microseconds around send → ack seen.
 *         Against promobot no more than `window` commands stay unreplied (see seq_drive).
 * flight: N commands with up to `window` unanswered, as before (the fake's ms timestamps).
 *   BENCH_REPLICAS=1|2          flight with this many promobot processes sharing one store (one config,
 *                               one SQLite file), each on its own Socket Mode connection; the fake
 *                               hands the envelopes round-robin (as Slack spreads them over an app's
 *                               connections). BENCH_MODE=replicas runs flight with 1, then with 2.
 */

#define APP_TOKEN "xapp-1-A0BENCH-bench-app-token"
#define BOT_TOKEN "xoxb-bench-bot-token-0000"
#define ACK_WAIT_MS 10000
#define CONNECT_WAIT_MS 30000

/* BENCH_SLOW=N multiplies the waits for a connection and an ack (bench/cmd_cost.sh: under valgrind). */
static long slow = 1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at percentile p of n sorted samples (the index rule the bench always used). */
static int64_t pct(const int64_t *sorted, long n, int p)
{
	long i = (n * p) / 100;

	return sorted[i >= n ? n - 1 : i];
}

/* A positive decimal or `def` when s is NULL; -1 when s is not one. */
static long arg_long(const char *s, long def)
{
	char *end;
	long v;

	if (!s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v <= 0 ? -1 : v;
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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf without a shell. */
static int remove_tree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs argv with stdout/stderr to log and env (NAME=value, NULL-terminated) added; dies with us. */
static pid_t spawn(char *const argv[], const char *log, char *const env[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		for (size_t i = 0; env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* SIGTERM, reap; false (and says so) unless it exited with 0. */
static bool stop_child(pid_t pid, const char *what, const char *log)
{
	int status = 0;

	if (pid <= 0)
		return true;
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s exit status %d (log kept in %s)\n", what, status, log);
		return false;
	}
	return true;
}

/* BENCH_WORKER_NICE: the config's worker_nice (-1: not written, the bot's default). */
static long worker_nice = -1;
/* BENCH_WORKER_IDLE=1: the config's worker_idle is true (SCHED_IDLE workers); otherwise not written. */
static bool worker_idle;
/* BENCH_WORKER_CPUS: the config's worker_cpus (0: no CPU lanes; -1: not written, the bot's default). */
static long worker_cpus = -1;
/* BENCH_WORKER_PIN=0: the config's worker_pin is false (lanes not pinned); otherwise not written. */
static bool worker_unpinned;

/* Replica 0 writes dir/promobot.json; every replica runs it (one store) and logs to its own file. */
static pid_t start_replica(const char *bin, const char *dir, const fake_slack *fake, int workers, int interval,
			   int replica)
{
	char cfg[512], log[512], nice[64] = "", cpus[64] = "";
	FILE *f;
	pid_t pid;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/promobot.json", dir);
	if (replica)
		snprintf(log, sizeof(log), "%s/bot%d.log", dir, replica);
	else
		snprintf(log, sizeof(log), "%s/bot.log", dir);
	f = replica ? NULL : fopen(cfg, "w");
	if (replica)
		goto run;
	if (!f)
		return -1;
	if (worker_nice >= 0)
		snprintf(nice, sizeof(nice), "\"worker_nice\":%ld,%s", worker_nice, worker_idle ? "\"worker_idle\":true," : "");
	else if (worker_idle)
		snprintf(nice, sizeof(nice), "\"worker_idle\":true,");
	if (worker_cpus >= 0)
		snprintf(cpus, sizeof(cpus), "\"worker_cpus\":%ld,", worker_cpus);
	if (worker_unpinned)
		snprintf(cpus + strlen(cpus), sizeof(cpus) - strlen(cpus), "\"worker_pin\":false,");
	fprintf(f,
		"{\"storage\":{\"path\":\"%s/promobot.db\"},"
		"\"chat\":{\"platform\":\"slack\",\"slack\":{\"api_url\":\"%s\",\"app_token_env\":\"BENCH_SLACK_APP\","
		"\"bot_token_env\":\"BENCH_SLACK_BOT\",\"channel\":\"C0PROMO\",\"min_post_interval_ms\":%d}},"
		"\"workers\":%d,%s%s"
		"\"users\":{\"U0ALICE\":{\"name\":\"Alice\",\"roles\":[\"requester\",\"approver\"]}},"
		"\"policy\":{\"required_approvals\":1,\"required_checks\":[\"tests\"]},"
		"\"components\":[{\"id\":\"neo4j\",\"name\":\"Neo4j\",\"group\":\"Core\",\"stage\":\"development\","
		"\"workdir\":\"%s\",\"revision\":{\"value\":\"5.13\"},"
		"\"checks\":[{\"name\":\"unit tests\",\"criterion\":\"tests\",\"argv\":[\"true\"]}],"
		"\"environments\":{\"staging\":{\"image\":\"neo4j:5.13\",\"container_name\":\"neo4j-staging\"}}}]}\n",
		dir, fake_slack_api_url(fake), interval, workers, nice, cpus, dir);
	fclose(f);
run:
	{
		char *argv[] = { (char *)bin, "--config", cfg, NULL };
		char *env[] = { "BENCH_SLACK_APP=" APP_TOKEN, "BENCH_SLACK_BOT=" BOT_TOKEN,
				"PROMOBOT_LOG=error", NULL };

		pid = spawn(argv, log, env);
	}
	return pid;
}

static pid_t start_bot(const char *bin, const char *dir, const fake_slack *fake, int workers, int interval)
{
	return start_replica(bin, dir, fake, workers, interval, 0);
}

/* The floor client next to this binary unless FLOOR_BIN names one. */
static bool find_floor(char *out, size_t size)
{
	const char *env = getenv("FLOOR_BIN");
	char self[PATH_MAX];
	ssize_t len;
	char *slash;

	if (env)
		return (size_t)snprintf(out, size, "%s", env) < size;
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return false;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return (size_t)snprintf(out, size, "%s/floor_client", self) < size;
}

typedef struct seq_result {
	int64_t *lat_us;           /* n samples, sorted after the run */
	int64_t *client_us;        /* the client's share of each: envelope on the socket → ack read (the fake's clock) */
	int64_t *in_us;            /* the harness before it: send called → envelope on the socket */
	int64_t *out_us;           /* the harness after it: ack read → ack seen by the sending thread */
	long rss_kb;
	size_t replies;            /* promobot: chat.postEphemeral replies seen */
	size_t busy;               /* acks that carried a payload (promobot's "busy" answer) */
	long waits;                /* times the sender waited for replies before the next send */
} seq_result;

/* BENCH_SEQ_ROUNDS: how many floor/promobot rounds the sequential part runs; the one running now (1-based). */
#define SEQ_MAX_ROUNDS 50
static int seq_rounds = 5, seq_round_no = 1;
static double seq_p99_ms[2][SEQ_MAX_ROUNDS]; /* [0] floor, [1] promobot, per round */

/* BENCH_SEQ_DUMP=prefix: every sample in send order (index, total, harness in, client, harness out; µs) to
 * prefix.<client>.<round>, to see where the slowest ones fall (start-up, a burst, evenly spread). */
static void dump_series(const char *tag, long n, const seq_result *r)
{
	const char *prefix = getenv("BENCH_SEQ_DUMP");
	char path[PATH_MAX];
	FILE *f;

	if (!prefix || !*prefix)
		return;
	snprintf(path, sizeof(path), "%s.%s.%d", prefix, tag, seq_round_no);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "BENCH_SEQ_DUMP: cannot write %s\n", path);
		return;
	}
	for (long i = 0; i < n; i++)
		fprintf(f, "%ld %lld %lld %lld %lld\n", i, (long long)r->lat_us[i], (long long)r->in_us[i],
			(long long)r->client_us[i], (long long)r->out_us[i]);
	fclose(f);
}

/*
 * n slash commands one at a time; each sample is send → ack seen by this thread, in µs.
 * reply_window > 0: before a send, at most that many commands may be unreplied (counted in
 * chat.postEphemeral calls). promobot acks faster than its workers reply, so without this
 * its job queue (256) fills and it answers "busy" in the ack instead of doing the work; the
 * wait is outside the timed span and counted in r->waits.
 */
static bool seq_drive(fake_slack *fake, const char *tag, long n, long reply_window, seq_result *r)
{
	char id[48];

	fake_slack_reserve(fake, (size_t)n);
	pthread_setname_np(pthread_self(), tag[0] == 'f' ? "drive-floor" : "drive-bot");

	for (long i = 0; i < n; i++) {
		size_t replied = (size_t)(i - reply_window + 1);
		int64_t t0;

		if (reply_window > 0 && i >= reply_window &&
		    fake_slack_call_count(fake, "chat.postEphemeral", false) < replied) {
			r->waits++;
			if (!fake_slack_wait_calls(fake, "chat.postEphemeral", replied, (int)(60000 * slow))) {
				fprintf(stderr, "%s: replies stalled at %ld\n", tag, i);
				return false;
			}
		}
		/* Number first: the fake's linear ack lookup rejects older ids at the first bytes. */
		snprintf(id, sizeof(id), "%ld-%s", i, tag);
		t0 = now_us();
		r->in_us[i] = t0; /* the send time until the stamps are read below */
		if (fake_slack_send_slash(fake, id, "U0ALICE", "C0PROMO", "/promote status neo4j") < 0) {
			fprintf(stderr, "%s: send failed at %ld\n", tag, i);
			return false;
		}
		if (!fake_slack_wait_ack(fake, id, (int)(ACK_WAIT_MS * slow), NULL)) {
			fprintf(stderr, "%s: no ack for %s within %ld ms\n", tag, id, ACK_WAIT_MS * slow);
			return false;
		}
		r->lat_us[i] = now_us() - t0;
	}
	for (long i = 0; i < n; i++) {
		fake_slack_ack a;

		snprintf(id, sizeof(id), "%ld-%s", i, tag);
		if (fake_slack_wait_ack(fake, id, 0, &a)) {
			r->busy += a.payload != NULL;
			r->client_us[i] = a.wire_us ? a.read_us - a.wire_us : 0;
			r->out_us[i] = a.read_us ? r->in_us[i] + r->lat_us[i] - a.read_us : 0;
			r->in_us[i] = a.wire_us ? a.wire_us - r->in_us[i] : 0;
			free(a.payload);
		}
	}
	dump_series(tag, n, r);
	qsort(r->lat_us, (size_t)n, sizeof(*r->lat_us), cmp_i64);
	qsort(r->client_us, (size_t)n, sizeof(*r->client_us), cmp_i64);
	qsort(r->in_us, (size_t)n, sizeof(*r->in_us), cmp_i64);
	qsort(r->out_us, (size_t)n, sizeof(*r->out_us), cmp_i64);
	return true;
}

static bool seq_floor(const char *floor_bin, const char *dir, long n, seq_result *r)
{
	fake_slack *fake = NULL;
	char log[512];
	pid_t pid = -1;
	bool ok = false;

	snprintf(log, sizeof(log), "%s/floor.log", dir);
	if (fake_slack_start(APP_TOKEN, BOT_TOKEN, &fake))
		return false;
	{
		char *argv[] = { (char *)floor_bin, (char *)fake_slack_api_url(fake), NULL };
		char *env[] = { "FLOOR_SLACK_APP=" APP_TOKEN, NULL };

		pid = spawn(argv, log, env);
	}
	if (pid < 0 || !fake_slack_wait_hellos(fake, 1, (int)(CONNECT_WAIT_MS * slow))) {
		fprintf(stderr, "floor_client did not connect (see %s)\n", log);
		goto out;
	}
	ok = seq_drive(fake, "floor", n, 0, r);
	r->rss_kb = peak_rss_kb(pid);
out:
	ok = stop_child(pid, "floor_client", log) && ok;
	fake_slack_free(fake);
	return ok;
}

static bool seq_bot(const char *bin, const char *dir, long n, int workers, long reply_window, seq_result *r)
{
	fake_slack *fake = NULL;
	char log[512];
	pid_t pid = -1;
	bool ok = false;

	snprintf(log, sizeof(log), "%s/bot.log", dir);
	if (fake_slack_start(APP_TOKEN, BOT_TOKEN, &fake))
		return false;
	pid = start_bot(bin, dir, fake, workers, 0);
	if (pid < 0 || !fake_slack_wait_hellos(fake, 1, (int)(CONNECT_WAIT_MS * slow))) {
		fprintf(stderr, "promobot did not connect (see %s)\n", log);
		goto out;
	}
	ok = seq_drive(fake, "promobot", n, reply_window, r);
	/* The workers were replying all along; the part ends when the last reply is in. */
	if (ok && !fake_slack_wait_calls(fake, "chat.postEphemeral", (size_t)n, (int)(60000 * slow)))
		fprintf(stderr, "promobot: timed out waiting for replies (%zu of %ld)\n",
			fake_slack_call_count(fake, "chat.postEphemeral", false), n);
	r->replies = fake_slack_call_count(fake, "chat.postEphemeral", true);
	ok = ok && r->replies == (size_t)n && r->busy == 0;
	r->rss_kb = peak_rss_kb(pid);
out:
	ok = stop_child(pid, "promobot", log) && ok;
	fake_slack_free(fake);
	return ok;
}

static void seq_row(const char *name, const seq_result *r, long n)
{
	printf("%-10s %9.3f %9.3f %9.3f %9.3f %9ld kB | %9.3f %9.3f %9.3f\n", name,
	       (double)pct(r->lat_us, n, 50) / 1000.0, (double)pct(r->lat_us, n, 95) / 1000.0,
	       (double)pct(r->lat_us, n, 99) / 1000.0, (double)r->lat_us[n - 1] / 1000.0, r->rss_kb,
	       (double)pct(r->client_us, n, 50) / 1000.0, (double)pct(r->client_us, n, 95) / 1000.0,
	       (double)pct(r->client_us, n, 99) / 1000.0);
}

/* One round: the floor first, then promobot, each against its own fake; one table; *ratio = the p99s' ratio. */
static int seq_round(const char *bin, const char *floor_bin, const char *dir, long n, int workers,
		     long reply_window, double *ratio)
{
	seq_result fl = { 0 }, pb = { 0 };
	char sub[512];
	int rc = 1;

	fl.lat_us = calloc((size_t)n, sizeof(int64_t));
	pb.lat_us = calloc((size_t)n, sizeof(int64_t));
	fl.client_us = calloc((size_t)n, sizeof(int64_t));
	pb.client_us = calloc((size_t)n, sizeof(int64_t));
	fl.in_us = calloc((size_t)n, sizeof(int64_t));
	pb.in_us = calloc((size_t)n, sizeof(int64_t));
	fl.out_us = calloc((size_t)n, sizeof(int64_t));
	pb.out_us = calloc((size_t)n, sizeof(int64_t));
	snprintf(sub, sizeof(sub), "%s/seq%d", dir, seq_round_no);
	if (!fl.lat_us || !pb.lat_us || !fl.client_us || !pb.client_us || !fl.in_us || !pb.in_us || !fl.out_us ||
	    !pb.out_us || !seq_floor(floor_bin, dir, n, &fl) || !seq_bot(bin, sub, n, workers, reply_window, &pb))
		goto out;
	printf("sequential, round %d of %d: %ld slash commands one at a time (send, wait for the ack, next); "
	       "promobot %d workers\n", seq_round_no, seq_rounds, n, workers);
	printf("%-10s %9s %9s %9s %9s %12s | %s\n", "", "ack latency (send → ack seen, bench thread)", "", "", "",
	       "", "of which in the client (envelope written → ack read)");
	printf("%-10s %9s %9s %9s %9s %12s | %9s %9s %9s\n", "client", "p50 ms", "p95 ms", "p99 ms", "max ms",
	       "peak RSS", "p50 ms", "p95 ms", "p99 ms");
	seq_row("floor", &fl, n);
	seq_row("promobot", &pb, n);
	printf("p99 of each part (ms): harness in = send called → envelope on the socket, client = envelope on the "
	       "socket → ack read, harness out = ack read → seen by the sender\n");
	printf("%-10s %9.3f %9.3f %9.3f\n%-10s %9.3f %9.3f %9.3f\n", "floor", (double)pct(fl.in_us, n, 99) / 1000.0,
	       (double)pct(fl.client_us, n, 99) / 1000.0, (double)pct(fl.out_us, n, 99) / 1000.0, "promobot",
	       (double)pct(pb.in_us, n, 99) / 1000.0, (double)pct(pb.client_us, n, 99) / 1000.0,
	       (double)pct(pb.out_us, n, 99) / 1000.0);
	*ratio = (double)pct(pb.lat_us, n, 99) / (double)(pct(fl.lat_us, n, 99) > 0 ? pct(fl.lat_us, n, 99) : 1);
	seq_p99_ms[0][seq_round_no - 1] = (double)pct(fl.lat_us, n, 99) / 1000.0;
	seq_p99_ms[1][seq_round_no - 1] = (double)pct(pb.lat_us, n, 99) / 1000.0;
	printf("promobot.p99 / floor.p99: %.2fx (goal <= 2x)\n", *ratio);
	printf("promobot replies:         %zu / %ld (answered busy %zu; sender waited for replies %ld times, "
	       "window %ld)\n", pb.replies, n, pb.busy, pb.waits, reply_window);
	printf("floor acks with payload:  %zu\n\n", fl.busy);
	rc = 0;
out:
	free(fl.lat_us);
	free(pb.lat_us);
	free(fl.client_us);
	free(pb.client_us);
	free(fl.in_us);
	free(pb.in_us);
	free(fl.out_us);
	free(pb.out_us);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * BENCH_SEQ_ROUNDS rounds (floor, promobot, floor, promobot …: a drift of the
 * machine's load reaches both alike), then every round's ratio and their
 * median. A p99 of 2,000 samples is the 20th worst: one stall of the VM or of
 * another process moves it, so one round alone says little.
 */
static int seq_compare(const char *bin, const char *floor_bin, const char *dir, long n, int workers,
		       long reply_window)
{
	double ratios[SEQ_MAX_ROUNDS], sorted[SEQ_MAX_ROUNDS];
	int rc = 0;

	for (seq_round_no = 1; seq_round_no <= seq_rounds && !rc; seq_round_no++)
		rc = seq_round(bin, floor_bin, dir, n, workers, reply_window, &ratios[seq_round_no - 1]);
	if (rc)
		return rc;
	memcpy(sorted, ratios, sizeof(double) * (size_t)seq_rounds);
	qsort(sorted, (size_t)seq_rounds, sizeof(double), cmp_double);
	printf("sequential, %d rounds: p99 floor / promobot (ms) and their ratio per round\n", seq_rounds);
	for (int i = 0; i < seq_rounds; i++)
		printf("  round %d: %.3f / %.3f = %.2fx\n", i + 1, seq_p99_ms[0][i], seq_p99_ms[1][i], ratios[i]);
	printf("promobot.p99 / floor.p99, median of %d rounds: %.2fx (goal <= 2x; best %.2fx, worst %.2fx)\n\n",
	       seq_rounds, seq_rounds % 2 ? sorted[seq_rounds / 2]
					   : (sorted[seq_rounds / 2 - 1] + sorted[seq_rounds / 2]) / 2.0,
	       sorted[0], sorted[seq_rounds - 1]);
	return 0;
}

/* N commands with up to `window` unanswered (the figures the bench always printed), over `replicas` bots. */
static int flight_run(const char *bin, const char *dir, long n, int workers, long window, int replicas)
{
	size_t busy = 0;
	fake_slack *fake = NULL;
	int64_t *lat, t0, t_acked, t_done;
	char log[512];
	size_t replies;
	long rss;
	pid_t pid[2] = { -1, -1 };
	int rc = 1;

	snprintf(log, sizeof(log), "%s/bot.log", dir);
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat || fake_slack_start(APP_TOKEN, BOT_TOKEN, &fake)) {
		fprintf(stderr, "setup failed\n");
		free(lat);
		return 1;
	}
	fake_slack_set_distribution(fake, FAKE_SLACK_ROUND_ROBIN);
	fake_slack_reserve(fake, (size_t)n);
	for (int r = 0; r < replicas; r++) {
		pid[r] = start_replica(bin, dir, fake, workers, 0, r);
		if (pid[r] < 0 || !fake_slack_wait_hellos(fake, r + 1, (int)(CONNECT_WAIT_MS * slow))) {
			fprintf(stderr, "promobot %d did not connect (see %s)\n", r, log);
			goto out;
		}
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
	rss = peak_rss_kb(pid[0]);
	printf("replicas:           %d (one SQLite store; envelopes round-robin: %zu / %zu acked per connection)\n",
	       replicas, fake_slack_acks_on(fake, 1), replicas > 1 ? fake_slack_acks_on(fake, 2) : 0);
	printf("commands:           %ld (workers %d, in flight <= %ld, answered busy %zu)\n", n, workers,
	       window, busy);
	printf("ack latency p50:    %lld ms\n", (long long)pct(lat, n, 50));
	printf("ack latency p99:    %lld ms\n", (long long)pct(lat, n, 99));
	printf("ack latency max:    %lld ms\n", (long long)lat[n - 1]);
	printf("all acked after:    %lld ms\n", (long long)(t_acked - t0));
	printf("replies delivered:  %zu / %ld in %lld ms\n", replies, n, (long long)(t_done - t0));
	printf("commands/s:         %.1f\n", t_done > t0 ? (double)replies * 1000.0 / (double)(t_done - t0) : 0.0);
	printf("bot peak RSS:       %ld kB (VmHWM, replica 0)\n", rss);
	rc = replies == (size_t)n ? 0 : 1;
out:
	for (int r = 0; r < replicas; r++)
		if (!stop_child(pid[r], "promobot", log))
			rc = 1;
	fake_slack_free(fake);
	free(lat);
	return rc;
}

int main(int argc, char **argv)
{
	const char *bin = getenv("PROMOBOT_BIN"), *mode = getenv("BENCH_MODE");
	long n = arg_long(argc > 1 ? argv[1] : NULL, 1000);
	long workers = arg_long(argc > 2 ? argv[2] : NULL, 4);
	/* In-flight cap below the bot's job queue (256): the bench measures throughput, not "busy". */
	long window = arg_long(argc > 3 ? argv[3] : NULL, 200);
	long seq_n = arg_long(getenv("BENCH_SEQ_N"), 2000);
	long slow_env = arg_long(getenv("BENCH_SLOW"), 1);
	char dir[PATH_MAX], sub[PATH_MAX + 16], floor_bin[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	long replicas = arg_long(getenv("BENCH_REPLICAS"), 1);
	const char *nice_env = getenv("BENCH_WORKER_NICE");
	const char *cpus_env = getenv("BENCH_WORKER_CPUS");
	long rounds = arg_long(getenv("BENCH_SEQ_ROUNDS"), 5);
	bool do_seq, do_flight, do_replicas;
	int rc = 0;

	mode = mode ? mode : "all";
	do_seq = !strcmp(mode, "all") || !strcmp(mode, "seq");
	do_flight = !strcmp(mode, "all") || !strcmp(mode, "flight");
	do_replicas = !strcmp(mode, "replicas");
	if (!bin || n < 0 || workers < 0 || workers > 64 || window < 0 || seq_n < 0 || slow_env < 0 || slow_env > 100 ||
	    replicas < 1 || replicas > 2 || rounds < 1 || rounds > SEQ_MAX_ROUNDS || !(do_seq || do_flight || do_replicas)) {
		fprintf(stderr, "usage: PROMOBOT_BIN=…/promobot [FLOOR_BIN=…/floor_client] [BENCH_MODE=all|seq|flight|replicas] "
			"[BENCH_SEQ_N=2000] [BENCH_SEQ_ROUNDS=5] [BENCH_REPLICAS=1|2] [BENCH_WORKER_NICE=0..19] [BENCH_WORKER_IDLE=1] [BENCH_WORKER_CPUS=0..64] slack_bench [N=1000] [workers=4] [window=200]\n");
		return 2;
	}
	slow = slow_env;
	seq_rounds = (int)rounds;
	worker_idle = getenv("BENCH_WORKER_IDLE") && !strcmp(getenv("BENCH_WORKER_IDLE"), "1");
	/* arg_long takes positive numbers only; 0 is a valid nice */
	worker_nice = !nice_env ? -1 : !strcmp(nice_env, "0") ? 0 : arg_long(nice_env, -1);
	if (nice_env && (worker_nice < 0 || worker_nice > 19)) {
		fprintf(stderr, "BENCH_WORKER_NICE must be 0..19\n");
		return 2;
	}
	if (worker_nice >= 0)
		printf("promobot worker_nice: %ld (config)\n", worker_nice);
	else
		printf("promobot worker_nice: its default\n");
	printf("promobot worker_idle: %s\n", worker_idle ? "true (config)" : "its default (false)");
	worker_cpus = !cpus_env ? -1 : !strcmp(cpus_env, "0") ? 0 : arg_long(cpus_env, -1);
	if (cpus_env && (worker_cpus < 0 || worker_cpus > 64)) {
		fprintf(stderr, "BENCH_WORKER_CPUS must be 0..64\n");
		return 2;
	}
	if (worker_cpus >= 0)
		printf("promobot worker_cpus: %ld (config%s)\n", worker_cpus, worker_cpus ? "" : ": no CPU lanes");
	else
		printf("promobot worker_cpus: its default (CPUs - 1, at least 1)\n");
	worker_unpinned = getenv("BENCH_WORKER_PIN") && !strcmp(getenv("BENCH_WORKER_PIN"), "0");
	printf("promobot worker_pin: %s\n", worker_unpinned ? "false (config)" : "its default (true)");
	if (do_seq && !find_floor(floor_bin, sizeof(floor_bin))) {
		fprintf(stderr, "cannot locate floor_client (set FLOOR_BIN)\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/pb-slack-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	if (do_seq)
		rc |= seq_compare(bin, floor_bin, dir, seq_n, (int)workers, window);
	snprintf(sub, sizeof(sub), "%s/flight", dir);
	if (do_flight)
		rc |= flight_run(bin, sub, n, (int)workers, window, (int)replicas);
	for (int r = 1; do_replicas && r <= 2; r++) {
		snprintf(sub, sizeof(sub), "%s/replicas%d", dir, r);
		rc |= flight_run(bin, sub, n, (int)workers, window, r);
	}
	if (rc == 0 && remove_tree(dir))
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}

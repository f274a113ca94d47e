/* monitor_bench.c — the real bot observing 1,000 external components against local fake targets: its CPU and bytes per sample. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_store.h"

#define TARGET_PORTS 8   /* per kind: components share them round-robin */
#define CPU_TARGET_PCT 5.0
#define BYTES_TARGET 40.0

/* ---- fake targets: tcp listeners (accept, close) and http listeners (200 on keep-alive) ---- */

typedef struct targets {
	int epfd;
	int tcp[TARGET_PORTS], http[TARGET_PORTS];
	int tcp_port[TARGET_PORTS], http_port[TARGET_PORTS];
	long requests, connects;
	volatile bool stop;
} targets;

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096)) {
		perror("listen");
		exit(1);
	}
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static bool is_in(const int *fds, int fd)
{
	for (int i = 0; i < TARGET_PORTS; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

static void epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Answers every request header block that arrived; closes at EOF. Requests are tiny GETs. */
static void serve_http(targets *t, int fd)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n <= 0) {
		close(fd);
		return;
	}
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, "\r\n\r\n")) != NULL; p += 4) {
		if (write(fd, reply, sizeof(reply) - 1) < 0)
			break;
		__atomic_add_fetch(&t->requests, 1, __ATOMIC_RELAXED);
	}
}

static void *targets_main(void *arg)
{
	targets *t = arg;
	struct epoll_event evs[256];

	while (!t->stop) {
		int n = epoll_wait(t->epfd, evs, 256, 200);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;

			if (is_in(t->tcp, fd)) {
				while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					close(c);
					__atomic_add_fetch(&t->connects, 1, __ATOMIC_RELAXED);
				}
			} else if (is_in(t->http, fd)) {
				while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
					epoll_add(t->epfd, c);
			} else {
				serve_http(t, fd);
			}
		}
	}
	return NULL;
}

/* ---- config and seeded storage ---- */

static void write_config(const char *dir, const targets *t, int ncomp, int interval, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "{\n \"storage\": {\"path\": \"%s/bench.db\"},\n \"chat\": {\"platform\": \"console\"},\n"
		" \"workers\": 4,\n"
		" \"monitoring\": {\"interval_s\": %d, \"deadline_ms\": 2000, \"timezone\": \"UTC\"},\n"
		" \"schedule\": {\"check_interval_s\": 1, \"probe_interval_s\": 10},\n"
		" \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\", \"deployer\"]}},\n"
		" \"policy\": {\"observation_days\": 30},\n \"components\": [\n", dir, interval);
	for (int i = 0; i < ncomp; i++) {
		int k = (i / 2) % TARGET_PORTS;

		fprintf(f, "  {\"id\": \"c%04d\", \"group\": \"Bench\", \"environments\": {\"staging\": {"
			"\"deployment\": \"external\", \"validation\": ", i);
		if (i % 2)
			fprintf(f, "{\"kind\": \"http\", \"url\": \"http://127.0.0.1:%d/health\", \"timeout_ms\": 2000}",
				t->http_port[k]);
		else
			fprintf(f, "{\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %d, \"timeout_ms\": 2000}",
				t->tcp_port[k]);
		fprintf(f, "}}}%s\n", i + 1 < ncomp ? "," : "");
	}
	fprintf(f, " ]\n}\n");
	fclose(f);
}

/* Every component with a promotion to staging in `observing` since now (what a deploy leaves). */
static void seed(const char *db, int ncomp)
{
	int64_t now = pb_clock_wall_ms(NULL) / 1000;
	pb_store *st = NULL;
	pb_err e;

	pb_err_init(&e);
	if (pb_store_open(db, &st, &e)) {
		fprintf(stderr, "%s\n", pb_err_text(&e));
		exit(1);
	}
	for (int i = 0; i < ncomp; i++) {
		pb_promotion p = { .from_stage = 0, .target_stage = 1, .created_at = now, .updated_at = now };

		snprintf(p.component, sizeof(p.component), "c%04d", i);
		snprintf(p.requester, sizeof(p.requester), "alice");
		if (pb_store_component_ensure(st, p.component, 0, now, &e) || pb_store_promotion_insert(st, &p, &e) ||
		    pb_store_promotion_set_state(st, p.id, PB_ST_REQUESTED, PB_ST_OBSERVING, now, &e)) {
			fprintf(stderr, "seed: %s\n", pb_err_text(&e));
			exit(1);
		}
	}
	pb_store_close(st);
}

/* Samples in storage and the main file's size after a full checkpoint (everything committed is in it). */
static void db_measure(const char *db, long long *samples, long long *bytes, long long *wal)
{
	char walpath[400];
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	struct stat sb;

	*samples = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(h, 10000);
		sqlite3_exec(h, "PRAGMA wal_checkpoint(FULL)", NULL, NULL, NULL);
		if (sqlite3_prepare_v2(h, "SELECT count(*) FROM samples", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW)
			*samples = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	*bytes = stat(db, &sb) == 0 ? (long long)sb.st_size : -1;
	snprintf(walpath, sizeof(walpath), "%s-wal", db);
	*wal = stat(walpath, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* utime + stime of pid, in clock ticks; -1 when gone. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, stt = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');  /* comm may hold spaces: fields count from after it */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return -1;
	return (long long)(ut + stt);
}

static void wait_s(int s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : NULL;
	int window = argc > 2 ? atoi(argv[2]) : 120, ncomp = argc > 3 ? atoi(argv[3]) : 1000;
	int interval = argc > 4 ? atoi(argv[4]) : 10, warm = 2 * interval + 5, in[2], status = 0;
	char dir[] = "/tmp/pb-monbench-XXXXXX", cfg[300], db[300], logp[300], cmd[400];
	long long t0, t1, s0, s1, b0, b1, w0, w1;
	struct rlimit rl = { 65536, 65536 };
	long hz = sysconf(_SC_CLK_TCK);
	int64_t m0, m1;
	pthread_t thr;
	targets t;
	pid_t pid;
	double cpu, per;

	if (!bin || window <= 0 || ncomp <= 0 || interval <= 0) {
		fprintf(stderr, "usage: monitor_bench PROMOBOT [WINDOW_S=120] [COMPONENTS=1000] [INTERVAL_S=10]\n");
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);  /* 500 kept-alive http probes + listeners; best effort */
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	memset(&t, 0, sizeof(t));
	t.epfd = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < TARGET_PORTS; i++) {
		t.tcp[i] = listen_any(&t.tcp_port[i]);
		t.http[i] = listen_any(&t.http_port[i]);
		epoll_add(t.epfd, t.tcp[i]);
		epoll_add(t.epfd, t.http[i]);
	}
	pthread_create(&thr, NULL, targets_main, &t);
	snprintf(cfg, sizeof(cfg), "%s/bench.json", dir);
	snprintf(db, sizeof(db), "%s/bench.db", dir);
	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	write_config(dir, &t, ncomp, interval, cfg);
	seed(db, ncomp);

	/* the console bot with a stdin that stays open (EOF would end it) and its output in a log */
	if (pipe2(in, O_CLOEXEC)) {
		perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(in[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--config", cfg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	printf("monitor bench: %d external components (half tcp, half http on %d+%d loopback ports), interval %d s, "
	       "warm-up %d s, window %d s\n", ncomp, TARGET_PORTS, TARGET_PORTS, interval, warm, window);
	fflush(stdout);
	wait_s(warm);
	db_measure(db, &s0, &b0, &w0);
	t0 = cpu_ticks(pid);
	m0 = pb_clock_mono_ms(NULL);
	wait_s(window);
	t1 = cpu_ticks(pid);
	m1 = pb_clock_mono_ms(NULL);
	db_measure(db, &s1, &b1, &w1);
	printf("  probes answered: %ld tcp connects, %ld http requests\n",
	       __atomic_load_n(&t.connects, __ATOMIC_RELAXED), __atomic_load_n(&t.requests, __ATOMIC_RELAXED));
	if (write(in[1], "/quit\n", 6) != 6)
		kill(pid, SIGTERM);
	close(in[1]);
	waitpid(pid, &status, 0);
	t.stop = true;
	pthread_join(thr, NULL);
	if (t0 < 0 || t1 < 0 || s0 < 0 || s1 <= s0) {
		fprintf(stderr, "monitor bench: the bot did not run or record samples (log: %s)\n", logp);
		return 1;
	}
	cpu = (double)(t1 - t0) / (double)hz / ((double)(m1 - m0) / 1000.0) * 100.0;
	per = (double)(b1 - b0) / (double)(s1 - s0);
	printf("  samples: %lld written in %.1f s (expected %.0f at one per component per %d s)\n", s1 - s0,
	       (double)(m1 - m0) / 1000.0, (double)ncomp * (double)(m1 - m0) / 1000.0 / interval, interval);
	printf("  bot CPU: %.2f %% of one core (%lld ticks at %ld Hz)   target <= %.0f %%: %s\n", cpu, t1 - t0, hz,
	       CPU_TARGET_PCT, cpu <= CPU_TARGET_PCT ? "met" : "MISSED");
	printf("  storage: %lld bytes after a full checkpoint (WAL file %lld bytes) for %lld samples = %.1f bytes/sample"
	       "   target <= %.0f: %s\n", b1 - b0, w1, s1 - s0, per, BYTES_TARGET, per <= BYTES_TARGET ? "met" : "MISSED");
	printf("  bot exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (!getenv("PB_BENCH_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);  /* our own mkdtemp path */
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		printf("  kept %s\n", dir);
	}
	return 0;
}

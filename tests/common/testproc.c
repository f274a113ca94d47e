/* testproc.c — fork/exec of the promobot binary with captured output, for end-to-end suites. */
#include "testproc.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TP_MAX_ARGS 64

/* PROMOBOT_WRAPPER words, then the binary, then args. Strings live in `store`. */
static void build_argv(char **argv, char *store, size_t size, char *const *args)
{
	const char *w = getenv("PROMOBOT_WRAPPER");
	int n = 0;

	store[0] = '\0';
	if (w && *w) {
		pb_strlcpy(store, w, size);
		for (char *save = NULL, *tok = strtok_r(store, " ", &save); tok && n < TP_MAX_ARGS / 2;
		     tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n++] = getenv("PROMOBOT_BIN");
	for (int i = 0; args[i] && n < TP_MAX_ARGS - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

static pid_t spawn(char *const *args, char *const *env, int *in_fd, int *out_fd)
{
	int in_pipe[2], out_pipe[2];
	char *argv[TP_MAX_ARGS];
	char wrapper[1024];
	pid_t pid;

	cr_assert_not_null(getenv("PROMOBOT_BIN"), "PROMOBOT_BIN must name the promobot binary");
	build_argv(argv, wrapper, sizeof(wrapper), args);
	cr_assert_eq(pipe(in_pipe), 0);
	cr_assert_eq(pipe(out_pipe), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		dup2(out_pipe[1], 2);
		close(in_pipe[1]);
		close(out_pipe[0]);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	signal(SIGPIPE, SIG_IGN);
	*in_fd = in_pipe[1];
	*out_fd = out_pipe[0];
	return pid;
}

pid_t tp_start_logged(char *const *args, char *const *env, const char *log_path)
{
	char *argv[TP_MAX_ARGS];
	char wrapper[1024];
	pid_t pid;

	cr_assert_not_null(getenv("PROMOBOT_BIN"), "PROMOBOT_BIN must name the promobot binary");
	build_argv(argv, wrapper, sizeof(wrapper), args);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* a failed assertion ends the test process: the bot must not outlive it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || null < 0)
			_exit(126);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int64_t tp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tp_pause(void)
{
	struct timespec step = { 0, 20 * 1000000L };

	nanosleep(&step, NULL);
}

char *tp_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, n > 0 ? (size_t)n + 1 : 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

int tp_listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)*port) };
	socklen_t al = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind port %d", *port);
	cr_assert_eq(listen(fd, 512), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

void tp_remove_dir(const char *dir)
{
	char cmd[600];

	if (getenv("PB_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0, "%s", cmd);
}

int tp_wait(pid_t pid, int timeout_ms)
{
	int64_t deadline = tp_now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 || tp_now_ms() > deadline)
			return -1;
		tp_pause();
	}
}

pid_t tp_start_interactive(char *const *args, char *const *env, int *in_fd, int *out_fd)
{
	return spawn(args, env, in_fd, out_fd);
}

pid_t tp_start(char *const *args, char *const *env, const char *input, int *fd)
{
	int in_fd;
	pid_t pid = spawn(args, env, &in_fd, fd);

	if (input && write(in_fd, input, strlen(input)) < 0)
		cr_log_warn("write to promobot stdin: %s", strerror(errno));
	close(in_fd);
	return pid;
}

void tp_drain(int fd, pb_buf *out)
{
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pb_buf_append(out, chunk, (size_t)n);
	}
}

int tp_finish(pid_t pid, int fd, pb_buf *out)
{
	int status = 0;

	pb_buf_reset(out);
	tp_drain(fd, out);
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "promobot died from a signal: %s", pb_buf_str(out));
	return WEXITSTATUS(status);
}

int tp_run(char *const *args, char *const *env, const char *input, pb_buf *out)
{
	int fd;
	pid_t pid = tp_start(args, env, input, &fd);

	return tp_finish(pid, fd, out);
}

bool tp_read_until(int fd, pb_buf *out, const char *needle, int timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!strstr(pb_buf_str(out), needle)) {
		struct pollfd p = { fd, POLLIN, 0 };
		char chunk[4096];
		ssize_t n;
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		pb_buf_append(out, chunk, (size_t)n);
	}
	return true;
}
